//! The model worker built with the `relaxed-simd` feature: `src/bin/worker.rs` as it is, with
//! icd-kernels' int8 kernel on `i32x4.relaxed_dot_i8x16_i7x16_add_s`. trunk builds it as
//! `worker-relaxed.js` + `worker-relaxed_bg.wasm`; `worker_loader.js` starts it only where the
//! browser validates relaxed SIMD.
#![forbid(unsafe_code)]

#[path = "worker.rs"]
mod worker;

fn main() {
    worker::main()
}
