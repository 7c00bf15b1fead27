// Starts the model worker (web/src/bin/worker.rs). trunk builds it twice, as `worker.js` +
// `worker_bg.wasm` (SIMD128) and `worker-relaxed.js` + `worker-relaxed_bg.wasm` (the int8
// kernel on relaxed SIMD's i32x4.relaxed_dot_i8x16_i7x16_add_s; wasm-bindgen no-modules
// target, names not hashed). This file replaces trunk's generated loader shim, which uses
// wasm-bindgen's deprecated init call.
//
// The relaxed build is loaded where relaxed_check.js says the engine runs relaxed SIMD's
// dot product correctly; elsewhere, or with `?kernel=simd128` on this script's URL (the page
// passes its own `?kernel=`), the SIMD128 build.
importScripts("./relaxed_check.js");
const asked = new URL(self.location.href).searchParams.get("kernel");
const relaxed = asked !== "simd128" && relaxedDotWorks();
const name = relaxed ? "worker-relaxed" : "worker";
importScripts(`./${name}.js`);
wasm_bindgen({ module_or_path: `./${name}_bg.wasm` });
