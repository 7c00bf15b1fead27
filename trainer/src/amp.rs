//! Mixed precision on CUDA: libtorch autocast in bfloat16.
//!
//! tch can switch autocast on, but libtorch's default CUDA autocast dtype is float16,
//! which overflows without loss scaling. `amp.cpp` (built by build.rs against the same
//! libtorch headers tch uses) sets bfloat16 instead: same range as f32, no scaler.

use std::os::raw::c_int;

extern "C" {
    fn icd_autocast_cuda_bf16() -> c_int;
    fn icd_autocast_cuda_is_bf16() -> c_int;
}

/// Runs `f` under CUDA autocast in bfloat16 (the dtype setting is per thread).
pub fn bf16<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: plain C functions without arguments; they catch every C++ exception.
    let ok = unsafe { icd_autocast_cuda_bf16() };
    assert_eq!(ok, 1, "libtorch refused the bfloat16 autocast dtype");
    tch::autocast(true, f)
}

/// Whether this thread's CUDA autocast dtype is bfloat16.
pub fn cuda_dtype_is_bf16() -> bool {
    // SAFETY: as above.
    unsafe { icd_autocast_cuda_is_bf16() == 1 }
}

#[cfg(test)]
mod tests {
    #[test]
    fn autocast_dtype_becomes_bfloat16() {
        // A fresh thread starts with libtorch's default (float16).
        std::thread::spawn(|| {
            assert!(!super::cuda_dtype_is_bf16(), "libtorch's default is float16");
            let inside = super::bf16(super::cuda_dtype_is_bf16);
            assert!(inside, "bfloat16 inside the scope");
        })
        .join()
        .unwrap();
    }
}
