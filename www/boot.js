// Starts the app. trunk's pattern_script (web/Trunk.toml) puts the hashed file names on this
// script's tag; loading from a file rather than an inline script keeps the CSP strict.
const tag = document.querySelector("script[data-js][data-wasm]");
const { default: init } = await import(new URL(tag.dataset.js, document.baseURI).href);
await init({ module_or_path: new URL(tag.dataset.wasm, document.baseURI).href });
