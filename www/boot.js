// Starts the app. trunk's pattern_script (web/Trunk.toml) puts the hashed file names on this
// script's tag; loading from a file rather than an inline script keeps the CSP strict.
// The static header paints first (after one frame), then the app's wasm is fetched: on a slow
// connection the 1.2 MB download no longer competes with the first paint (build-site.sh drops
// trunk's preload of it for the same reason).
await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
const tag = document.querySelector("script[data-js][data-wasm]");
const { default: init } = await import(new URL(tag.dataset.js, document.baseURI).href);
await init({ module_or_path: new URL(tag.dataset.wasm, document.baseURI).href });
