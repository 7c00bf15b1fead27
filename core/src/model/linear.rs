//! Linear layers behind one type, so the encoder and the heads do not care whether a weight
//! came from an f32 checkpoint or an int8 (GGUF Q8_0) bundle.
//!
//! ## Int8 kernels
//!
//! A bundle stores every linear weight as Q8_0 (blocks of 32 int8 values with one f16
//! scale). How such a layer multiplies is the [`Int8Kernel`]:
//!
//! - [`Int8Kernel::I8Gemm`] (the default in wasm32, and natively on x86-64 with AVX2): our
//!   integer kernel (`icd_kernels::int8`): 11-bit weights (one scale per output row, from the Q8_0
//!   blocks), 12-bit activations per row, i32 accumulation with wasm `i32x4.dot_i16x8_s` or
//!   x86 `vpmaddwd` (AVX-512BW or AVX2). The browser and a server run the same integer
//!   arithmetic, so they give the same codes. In wasm it is 1.5x faster than the f32 path (wasm
//!   SIMD has no FMA and only 4 lanes); natively it is about as fast as candle's f32 gemm on
//!   one thread and faster on two (BENCHMARKS.md). `icd-quantize` gates on it.
//! - [`Int8Kernel::Dequantized`] (the default on other CPUs): the Q8_0 blocks are widened to
//!   f32 once, at load, and the layer runs candle's f32 matmul. The bundle stays int8 on disk;
//!   in memory the model is as large as the f32 one. Closest to the f32 checkpoint.
//! - [`Int8Kernel::CandleQMatMul`]: candle's own quantized matmul (int8 weights in memory).
//!   Kept for comparison (`icd-bench predict`).

use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{Result, Tensor};
use candle_nn::Module;

use super::ops::I8Matmul;

/// How Q8_0 linear weights are multiplied (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int8Kernel {
    /// Widen to f32 at load; f32 matmul at run time.
    Dequantized,
    /// candle's `QMatMul` (quantizes activations, int8 weights stay in memory).
    CandleQMatMul,
    /// Integer multiply-adds with i32 accumulation (see `icd_kernels::int8`).
    I8Gemm,
    /// 8-bit weights × 7-bit activations (`icd_kernels::relaxed`): the arithmetic of wasm
    /// relaxed SIMD's `i32x4.relaxed_dot_i8x16_i7x16_add_s`, the default of the worker built
    /// with it; natively a plain loop with the same sums, for the gate and the parity tests.
    Relaxed,
}

impl Default for Int8Kernel {
    /// The integer GEMM wherever it has a vector kernel (wasm32 SIMD128, x86-64 AVX2): the
    /// browser's arithmetic, and the faster one there (BENCHMARKS.md). Elsewhere candle's f32
    /// gemm on the widened weights.
    fn default() -> Self {
        if icd_kernels::RELAXED_SIMD {
            return Self::Relaxed;
        }
        #[cfg(target_arch = "x86_64")]
        let vector = std::arch::is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let vector = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));
        if vector {
            Self::I8Gemm
        } else {
            Self::Dequantized
        }
    }
}

#[derive(Debug, Clone)]
pub enum Linear {
    /// f32 weight `[out, in]` (PyTorch layout), optional bias `[out]`.
    F32(candle_nn::Linear),
    /// Q8_0 weight `[out, in]` from a GGUF bundle, f32 bias `[out]`.
    Q8(Q8Linear),
}

#[derive(Debug, Clone)]
pub struct Q8Linear {
    kernel: Q8Kernel,
    bias: Option<Tensor>,
}

#[derive(Debug, Clone)]
enum Q8Kernel {
    /// `[out, in]` f32, widened from the Q8_0 blocks at load (the blocks are dropped, so the
    /// model holds one copy of each weight).
    Dequantized(Tensor),
    CandleQMatMul(QMatMul),
    I8Gemm(I8Matmul),
}

impl Linear {
    pub fn f32(weight: Tensor, bias: Option<Tensor>) -> Self {
        Self::F32(candle_nn::Linear::new(weight, bias))
    }

    /// A Q8_0 (or any GGUF-typed) weight `[out, in]` run with `kernel`.
    pub fn q8(weight: Arc<QTensor>, bias: Option<Tensor>, kernel: Int8Kernel) -> Result<Self> {
        match kernel {
            // candle's kernel keeps the blocks as they are.
            Int8Kernel::CandleQMatMul => Ok(Self::Q8(Q8Linear { kernel: Q8Kernel::CandleQMatMul(QMatMul::from_arc(weight)?), bias })),
            _ => Self::from_int8_values(weight.dequantize(&weight.device())?, bias, kernel),
        }
    }

    /// A weight `[out, in]` whose values are Q8_0 values already widened to f32 (as
    /// [`super::weights::Weights::linear_concat`] builds them), run with `kernel`.
    pub fn from_int8_values(weight: Tensor, bias: Option<Tensor>, kernel: Int8Kernel) -> Result<Self> {
        match kernel {
            Int8Kernel::Dequantized => Ok(Self::Q8(Q8Linear { kernel: Q8Kernel::Dequantized(weight), bias })),
            // Re-quantizing Q8_0 values gives the same blocks back (each block's largest value
            // is ±127 times its scale).
            Int8Kernel::CandleQMatMul => {
                let q = QTensor::quantize(&weight, candle_core::quantized::GgmlDType::Q8_0)?;
                Self::q8(Arc::new(q), bias, kernel)
            }
            Int8Kernel::I8Gemm | Int8Kernel::Relaxed => {
                let m = if kernel == Int8Kernel::Relaxed { I8Matmul::pack_relaxed(&weight)? } else { I8Matmul::pack(&weight)? };
                let m = match &bias {
                    Some(b) => m.with_bias(b)?,
                    None => m,
                };
                Ok(Self::Q8(Q8Linear { kernel: Q8Kernel::I8Gemm(m), bias: None }))
            }
        }
    }

    /// `x` `[.., in]` -> `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::F32(l) => l.forward(x),
            Self::Q8(l) => l.forward(x),
        }
    }

    /// GELU(`forward(x)`); the integer kernel applies it in place on its output.
    pub fn forward_gelu(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Q8(Q8Linear { kernel: Q8Kernel::I8Gemm(m), .. }) => m.forward_gelu(x),
            _ => super::ops::gelu(&self.forward(x)?),
        }
    }
}

impl Q8Linear {
    /// `x` `[.., in]` -> `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = match &self.kernel {
            // Same code path as an f32 layer: candle_nn::Linear broadcasts the weight.
            Q8Kernel::Dequantized(w) => candle_nn::Linear::new(w.clone(), None).forward(x)?,
            Q8Kernel::CandleQMatMul(m) => m.forward(x)?,
            Q8Kernel::I8Gemm(m) => m.forward(x)?,
        };
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}
