//! Classification heads on top of the encoder's hidden states.

use candle_core::{Tensor, D};

use super::linear::Linear;
use super::weights::Weights;
use super::ModelError;

/// `cls`: mean of the chunks' `[CLS]` states, then one linear layer.
pub struct ClsHead {
    classifier: Linear, // [L, H]
}

impl ClsHead {
    pub(crate) fn load(w: &Weights, hidden: usize, n_labels: usize) -> Result<Self, ModelError> {
        Ok(Self { classifier: w.linear("classifier", hidden, n_labels)? })
    }

    /// `hidden` `[C, S, H]` -> logits `[L]`.
    pub fn forward(&self, hidden: &Tensor) -> candle_core::Result<Tensor> {
        let cls = hidden.narrow(1, 0, 1)?.squeeze(1)?; // [C, H]
        let v = cls.mean_keepdim(0)?; // [1, H]
        self.classifier.forward(&v)?.squeeze(0)
    }
}

/// `label_attention` (LAAT, as in PLM-ICD): one attention distribution over the note's
/// tokens per label.
pub struct LabelAttentionHead {
    first: Linear,      // [A, H], no bias
    second: Linear,     // [L, A], no bias
    out_weight: Tensor, // [L, H]
    out_bias: Tensor,   // [L]
}

impl LabelAttentionHead {
    pub(crate) fn load(w: &Weights, hidden: usize, dim: usize, n_labels: usize) -> Result<Self, ModelError> {
        Ok(Self {
            first: w.linear_no_bias("label_attention.first", hidden, dim)?,
            second: w.linear_no_bias("label_attention.second", dim, n_labels)?,
            out_weight: w.get("label_attention.output.weight", &[n_labels, hidden])?,
            out_bias: w.get("label_attention.output.bias", &[n_labels])?,
        })
    }

    /// `hs` `[T, H]` (every non-padding token of every chunk) -> (logits `[L]`, att `[L, T]`).
    pub fn forward(&self, hs: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let z = self.first.forward(hs)?.tanh()?; // [T, A]
        let s = self.second.forward(&z)?.t()?.contiguous()?; // [L, T]
        let att = candle_nn::ops::softmax_last_dim(&s)?; // [L, T], rows sum to 1
        let v = att.matmul(hs)?; // [L, H]
        let logits = ((v * &self.out_weight)?.sum(D::Minus1)? + &self.out_bias)?; // [L]
        Ok((logits, att))
    }
}
