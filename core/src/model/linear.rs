//! Linear layers behind one type, so a quantized (int8/GGUF) bundle can add a variant
//! without touching the encoder or the heads.

use candle_core::{Result, Tensor};
use candle_nn::Module;

#[derive(Debug, Clone)]
pub enum Linear {
    /// f32 weight `[out, in]` (PyTorch layout), optional bias `[out]`.
    F32(candle_nn::Linear),
    // Later: `Q8 { .. }` loaded from a GGUF/int8 bundle.
}

impl Linear {
    pub fn f32(weight: Tensor, bias: Option<Tensor>) -> Self {
        Self::F32(candle_nn::Linear::new(weight, bias))
    }

    /// `x` `[.., in]` -> `[.., out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::F32(l) => l.forward(x),
        }
    }
}
