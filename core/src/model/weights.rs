//! Named f32 tensors of a checkpoint, with the base-model name mapping of the contract.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::linear::Linear;
use super::ModelError;

pub(crate) struct Weights {
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    pub fn from_safetensors(bytes: &[u8], device: &Device) -> Result<Self, ModelError> {
        let raw = candle_core::safetensors::load_buffer(bytes, device)
            .map_err(|e| ModelError::Safetensors(e.to_string()))?;
        let mut tensors = HashMap::with_capacity(raw.len());
        for (name, t) in raw {
            let Some(name) = canonical_name(&name) else { continue };
            // Checkpoints are f32 by contract; f16/bf16 base models are widened on load.
            let t = if t.dtype() == DType::F32 { t } else { t.to_dtype(DType::F32)? };
            tensors.insert(name, t);
        }
        Ok(Self { tensors })
    }

    /// The tensor `name` (canonical form), checked against `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor, ModelError> {
        let t = self.tensors.get(name).ok_or_else(|| ModelError::MissingTensor { name: name.to_string() })?;
        if t.dims() != shape {
            return Err(ModelError::Shape { name: name.to_string(), expected: shape.to_vec(), found: t.dims().to_vec() });
        }
        Ok(t.clone())
    }

    /// `{prefix}.weight` `[out, in]` and `{prefix}.bias` `[out]`.
    pub fn linear(&self, prefix: &str, in_dim: usize, out_dim: usize) -> Result<Linear, ModelError> {
        let w = self.get(&format!("{prefix}.weight"), &[out_dim, in_dim])?;
        let b = self.get(&format!("{prefix}.bias"), &[out_dim])?;
        Ok(Linear::f32(w, Some(b)))
    }

    pub fn linear_no_bias(&self, prefix: &str, in_dim: usize, out_dim: usize) -> Result<Linear, ModelError> {
        let w = self.get(&format!("{prefix}.weight"), &[out_dim, in_dim])?;
        Ok(Linear::f32(w, None))
    }

    pub fn layer_norm(&self, prefix: &str, dim: usize, eps: f64) -> Result<candle_nn::LayerNorm, ModelError> {
        let w = self.get(&format!("{prefix}.weight"), &[dim])?;
        let b = self.get(&format!("{prefix}.bias"), &[dim])?;
        Ok(candle_nn::LayerNorm::new(w, b, eps))
    }
}

/// Maps a stored name onto the contract's names; `None` for tensors no head uses
/// (pooler, pre-training heads). sentence-transformers' MiniLM lacks the `bert.` prefix;
/// old BERT checkpoints name LayerNorm parameters `gamma`/`beta`.
fn canonical_name(name: &str) -> Option<String> {
    let name = if name.starts_with("embeddings.") || name.starts_with("encoder.") || name.starts_with("pooler.") {
        format!("bert.{name}")
    } else {
        name.to_string()
    };
    if name.starts_with("bert.pooler.") || name.starts_with("cls.") {
        return None;
    }
    let name = match name.strip_suffix(".gamma") {
        Some(p) if p.ends_with("LayerNorm") => format!("{p}.weight"),
        _ => match name.strip_suffix(".beta") {
            Some(p) if p.ends_with("LayerNorm") => format!("{p}.bias"),
            _ => name,
        },
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::canonical_name;

    #[test]
    fn maps_base_model_names() {
        assert_eq!(canonical_name("embeddings.word_embeddings.weight").unwrap(), "bert.embeddings.word_embeddings.weight");
        assert_eq!(
            canonical_name("bert.encoder.layer.0.output.LayerNorm.gamma").unwrap(),
            "bert.encoder.layer.0.output.LayerNorm.weight"
        );
        assert_eq!(canonical_name("bert.embeddings.LayerNorm.beta").unwrap(), "bert.embeddings.LayerNorm.bias");
        assert_eq!(canonical_name("classifier.weight").unwrap(), "classifier.weight");
        assert!(canonical_name("pooler.dense.weight").is_none());
        assert!(canonical_name("cls.predictions.bias").is_none());
    }
}
