// Starts the code table worker (web/src/bin/codes.rs), as worker_loader.js starts the model
// worker: trunk builds it as `codes.js` + `codes_bg.wasm` (wasm-bindgen no-modules target).
importScripts("./codes.js");
wasm_bindgen({ module_or_path: "./codes_bg.wasm" });
