// Starts the model worker (web/src/bin/worker.rs). trunk builds it as `worker.js` +
// `worker_bg.wasm` (wasm-bindgen no-modules target, names not hashed); this file replaces trunk's
// generated loader shim, which uses wasm-bindgen's deprecated init call.
importScripts("./worker.js");
wasm_bindgen({ module_or_path: "./worker_bg.wasm" });
