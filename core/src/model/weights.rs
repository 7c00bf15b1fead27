//! Named tensors of a checkpoint (f32 safetensors) or a bundle (GGUF: Q8_0 linear weights,
//! f32 rest), with the base-model name mapping of the contract.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};

use super::linear::{Int8Kernel, Linear};
use super::ops::LayerNorm;
use super::ModelError;
use crate::schema::weights::canonical_name;

pub(crate) struct Weights {
    /// f32 tensors (every tensor of a checkpoint; the non-quantized ones of a bundle).
    tensors: HashMap<String, Tensor>,
    /// Quantized tensors of a bundle (Q8_0 linear weights), kept as blocks until a
    /// [`Linear`] decides how to run them.
    quantized: HashMap<String, Arc<QTensor>>,
    kernel: Int8Kernel,
    /// The file the tensors came from, for errors.
    file: &'static str,
}

impl Weights {
    pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<Self, ModelError> {
        let raw = candle_core::safetensors::load_buffer(bytes, device).map_err(|e| ModelError::Safetensors(e.to_string()))?;
        let mut tensors = HashMap::with_capacity(raw.len());
        for (name, t) in raw {
            let Some(name) = canonical_name(&name) else {
                continue;
            };
            // Checkpoints are f32 by contract; f16/bf16 base models are widened on load.
            let t = if t.dtype() == DType::F32 { t } else { t.to_dtype(DType::F32)? };
            tensors.insert(name, t);
        }
        Ok(Self { tensors, quantized: HashMap::new(), kernel: Int8Kernel::default(), file: "model.safetensors" })
    }

    /// A bundle's `model.gguf` (bytes: core does no I/O). f32 tensors are read as tensors;
    /// quantized ones (Q8_0) stay blocks for [`Weights::linear`], or are widened to f32 when
    /// asked for with [`Weights::get`]. Names are the contract's (the quantizer writes them so).
    pub fn from_gguf(bytes: &[u8], device: &Device, kernel: Int8Kernel) -> Result<Self, ModelError> {
        let gguf_err = |e: candle_core::Error| ModelError::Gguf(e.to_string());
        let mut reader = Cursor::new(bytes);
        let content = gguf_file::Content::read(&mut reader).map_err(gguf_err)?;
        let mut tensors = HashMap::new();
        let mut quantized = HashMap::new();
        // Sorted so a bad file fails on the same tensor every time.
        let mut names: Vec<&String> = content.tensor_infos.keys().collect();
        names.sort();
        for name in names {
            let q = content.tensor(&mut reader, name, device).map_err(|e| ModelError::Gguf(format!("tensor {name}: {e}")))?;
            match q.dtype() {
                GgmlDType::F32 | GgmlDType::F16 | GgmlDType::BF16 => {
                    let t = q.dequantize(device).map_err(|e| ModelError::Gguf(format!("tensor {name}: {e}")))?;
                    tensors.insert(name.clone(), t);
                }
                _ => {
                    quantized.insert(name.clone(), Arc::new(q));
                }
            }
        }
        Ok(Self { tensors, quantized, kernel, file: "model.gguf" })
    }

    /// Every tensor as f32, sorted by name (quantized ones widened): what the quantizer
    /// writes, and what tests compare.
    pub fn into_f32_tensors(self) -> Result<Vec<(String, Tensor)>, ModelError> {
        let mut out: Vec<(String, Tensor)> = self.tensors.into_iter().collect();
        for (name, q) in self.quantized {
            let t = q.dequantize(&q.device())?;
            out.push((name, t));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    fn check_shape(&self, name: &str, found: &[usize], shape: &[usize]) -> Result<(), ModelError> {
        if found != shape {
            return Err(ModelError::Shape { file: self.file, name: name.to_string(), expected: shape.to_vec(), found: found.to_vec() });
        }
        Ok(())
    }

    /// The tensor `name` (canonical form) as f32, checked against `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor, ModelError> {
        if let Some(t) = self.tensors.get(name) {
            self.check_shape(name, t.dims(), shape)?;
            return Ok(t.clone());
        }
        if let Some(q) = self.quantized.get(name) {
            self.check_shape(name, q.shape().dims(), shape)?;
            return Ok(q.dequantize(&q.device())?);
        }
        Err(ModelError::MissingTensor { file: self.file, name: name.to_string() })
    }

    fn linear_weight(&self, prefix: &str, in_dim: usize, out_dim: usize, bias: Option<Tensor>) -> Result<Linear, ModelError> {
        let name = format!("{prefix}.weight");
        if let Some(q) = self.quantized.get(&name) {
            self.check_shape(&name, q.shape().dims(), &[out_dim, in_dim])?;
            return Ok(Linear::q8(q.clone(), bias, self.kernel)?);
        }
        let w = self.get(&name, &[out_dim, in_dim])?;
        Ok(Linear::f32(w, bias))
    }

    /// `{prefix}.weight` `[out, in]` and `{prefix}.bias` `[out]`.
    pub fn linear(&self, prefix: &str, in_dim: usize, out_dim: usize) -> Result<Linear, ModelError> {
        let b = self.get(&format!("{prefix}.bias"), &[out_dim])?;
        self.linear_weight(prefix, in_dim, out_dim, Some(b))
    }

    /// One linear layer from several with the same input, their outputs concatenated
    /// (`prefixes[0]`'s first): `[out * prefixes.len(), in]`. Used for q, k and v, which
    /// then cost one pass over the input instead of three.
    pub fn linear_concat(&self, prefixes: &[&str], in_dim: usize, out_dim: usize) -> Result<Linear, ModelError> {
        let mut ws = Vec::with_capacity(prefixes.len());
        let mut bs = Vec::with_capacity(prefixes.len());
        let mut any_quantized = false;
        for p in prefixes {
            let name = format!("{p}.weight");
            any_quantized |= self.quantized.contains_key(&name);
            ws.push(self.get(&name, &[out_dim, in_dim])?);
            bs.push(self.get(&format!("{p}.bias"), &[out_dim])?);
        }
        let (w, b) = (Tensor::cat(&ws, 0)?, Tensor::cat(&bs, 0)?);
        if any_quantized {
            // The rows are the Q8_0 values widened; stacking them keeps every 32-block, so
            // the kernel sees the same numbers as it would per layer.
            Ok(Linear::from_int8_values(w, Some(b), self.kernel)?)
        } else {
            Ok(Linear::f32(w, Some(b)))
        }
    }

    pub fn linear_no_bias(&self, prefix: &str, in_dim: usize, out_dim: usize) -> Result<Linear, ModelError> {
        self.linear_weight(prefix, in_dim, out_dim, None)
    }

    pub fn layer_norm(&self, prefix: &str, dim: usize, eps: f64) -> Result<LayerNorm, ModelError> {
        let w = self.get(&format!("{prefix}.weight"), &[dim])?;
        let b = self.get(&format!("{prefix}.bias"), &[dim])?;
        Ok(LayerNorm::new(&w, &b, eps)?)
    }
}
