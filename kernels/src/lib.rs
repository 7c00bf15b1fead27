//! `icd-kernels`: the model's numeric kernels, on plain `f32` / `i16` slices.
//!
//! std only (rayon splits the work natively; wasm32 runs one thread): no tensors, no model,
//! no I/O. `icd-core`'s model wraps them for candle tensors (`core/src/model/ops.rs`). All
//! of the workspace's `unsafe` for speed lives here, each block with its safety argument,
//! and every function whose caller must uphold an invariant (a CPU feature, a pointer's
//! extent) is an `unsafe fn` that says so.
//!
//! Rooms:
//! - [`int8`]: `y = x · Wᵀ` with integer multiply-adds (the row layout: SSE2, AVX2,
//!   AVX-512BW, wasm SIMD128), the browser's and the server's int8 GEMM.
//! - `panels`: the same weights in panels of 16 (AVX-512) or 4 (SIMD128) outputs, the
//!   faster layout where the CPU has those; `int8` picks it at pack time.
//! - `relaxed`: the i8 × u7 arithmetic of wasm relaxed SIMD (`relaxed_dot_i8x16_i7x16`),
//!   chosen with [`I8Matmul::pack_relaxed`]; a plain loop with the same sums elsewhere.
//! - [`attention`]: fused multi-head self-attention, one tile of query rows at a time.
//! - [`fastmath`]: branch-free `exp`, `erf`, GELU and vectorizable reductions.
//! - [`layer_norm`]: layer norm with the residual add fused in.
//!
//! Tests: the same unit tests run natively (`cargo test -p icd-kernels`) and in wasm32 under
//! Node (scripts/test.sh), where the panel kernel is the one the browser runs. A test of a
//! form this CPU lacks (AVX-512 on a machine without it) prints `SKIPPED <what>: <why>`
//! (shown by `--show-output`) instead of passing silently.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(clippy::missing_safety_doc)]

pub mod attention;
mod error;
pub mod fastmath;
pub mod int8;
pub mod layer_norm;
#[cfg(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128")))]
mod panels;
mod relaxed;

pub use attention::attention_rows;
pub use error::KernelError;
pub use int8::I8Matmul;
pub use layer_norm::LayerNorm;

/// Whether this build runs the i8 × u7 kernel with wasm relaxed SIMD (the `relaxed-simd`
/// feature on wasm32): the worker built with it defaults to that arithmetic.
pub const RELAXED_SIMD: bool = cfg!(all(target_arch = "wasm32", feature = "relaxed-simd"));

/// A test that could not run its case on this CPU says so (visible with `--show-output`;
/// scripts/test.sh shows it).
#[cfg(test)]
pub(crate) fn skipped(what: &str, why: &str) {
    println!("SKIPPED {what}: {why}");
}
