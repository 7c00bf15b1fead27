//! BERT encoder (post-layer-norm, exact erf GELU, no pooler), weights under `bert.`.

use candle_core::{DType, Tensor};

use super::linear::Linear;
use super::ops::LayerNorm;
use super::weights::Weights;
use super::ModelError;
use crate::schema::checkpoint::ModelConfig;

struct Embeddings {
    word: Tensor,        // [V, H]
    position: Tensor,    // [P, H]
    token_type0: Tensor, // [H]: every token has type 0
    layer_norm: LayerNorm,
}

impl Embeddings {
    fn load(w: &Weights, c: &ModelConfig) -> Result<Self, ModelError> {
        let h = c.bert.hidden_size;
        let token_type = w.get("bert.embeddings.token_type_embeddings.weight", &[c.bert.type_vocab_size, h])?;
        Ok(Self {
            word: w.get("bert.embeddings.word_embeddings.weight", &[c.bert.vocab_size, h])?,
            position: w.get("bert.embeddings.position_embeddings.weight", &[c.bert.max_position_embeddings, h])?,
            token_type0: token_type.get(0)?,
            layer_norm: w.layer_norm("bert.embeddings.LayerNorm", h, c.bert.layer_norm_eps)?,
        })
    }

    /// `ids` `[B, S]` u32 -> `[B, S, H]`.
    fn forward(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let (b, s) = ids.dims2()?;
        let h = self.word.dim(1)?;
        let x = self.word.index_select(&ids.flatten_all()?, 0)?.reshape((b, s, h))?;
        let pos = self.position.narrow(0, 0, s)?; // [S, H]
        let x = x.broadcast_add(&pos)?.broadcast_add(&self.token_type0)?;
        self.layer_norm.forward(&x)
    }
}

struct Layer {
    /// q, k and v in one: `[3H, H]`.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    out_norm: LayerNorm,
    n_heads: usize,
}

impl Layer {
    fn load(w: &Weights, c: &ModelConfig, i: usize) -> Result<Self, ModelError> {
        let (h, m, eps) = (c.bert.hidden_size, c.bert.intermediate_size, c.bert.layer_norm_eps);
        let p = format!("bert.encoder.layer.{i}");
        Ok(Self {
            qkv: w.linear_concat(&[&format!("{p}.attention.self.query"), &format!("{p}.attention.self.key"), &format!("{p}.attention.self.value")], h, h)?,
            attn_out: w.linear(&format!("{p}.attention.output.dense"), h, h)?,
            attn_norm: w.layer_norm(&format!("{p}.attention.output.LayerNorm"), h, eps)?,
            intermediate: w.linear(&format!("{p}.intermediate.dense"), h, m)?,
            output: w.linear(&format!("{p}.output.dense"), m, h)?,
            out_norm: w.layer_norm(&format!("{p}.output.LayerNorm"), h, eps)?,
            n_heads: c.bert.num_attention_heads,
        })
    }

    /// `x` `[B, S, H]`, `mask_bias` `[B, S]` (0 on tokens, very negative on padding) ->
    /// `[B, R, H]`: the first `R = rows` positions (S for all). Every op after attention
    /// works row by row, so each row is the same as with all rows.
    fn forward(&self, x: &Tensor, mask_bias: &Tensor, rows: usize) -> candle_core::Result<Tensor> {
        let qkv = self.qkv.forward(x)?; // [B, S, 3H]: keys and values of every position
        let ctx = super::ops::attention_rows(&qkv, mask_bias, self.n_heads, rows)?; // [B, R, H]
        let x = if rows == x.dim(1)? { x.clone() } else { x.narrow(1, 0, rows)?.contiguous()? };
        let x = &x;
        let x = self.attn_norm.forward_residual(&self.attn_out.forward(&ctx)?, Some(x))?;
        let inter = self.intermediate.forward_gelu(&x)?; // [B, S, M]
        self.out_norm.forward_residual(&self.output.forward(&inter)?, Some(&x))
    }
}

pub struct BertEncoder {
    embeddings: Embeddings,
    layers: Vec<Layer>,
}

impl BertEncoder {
    pub(crate) fn load(w: &Weights, c: &ModelConfig) -> Result<Self, ModelError> {
        let embeddings = Embeddings::load(w, c)?;
        let layers = (0..c.bert.num_hidden_layers).map(|i| Layer::load(w, c, i)).collect::<Result<_, _>>()?;
        Ok(Self { embeddings, layers })
    }

    /// `ids` `[B, S]` u32, `mask` `[B, S]` f32 (1 = token, 0 = padding) -> hidden `[B, S, H]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_rows(ids, mask, ids.dim(1)?)
    }

    /// [`BertEncoder::forward`]'s first position only, `[B, 1, H]` (the same numbers): what
    /// the `cls` head reads. The last layer then runs its attention for one query and its
    /// dense layers for one row: about a sixth less work with six layers.
    pub fn forward_first(&self, ids: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_rows(ids, mask, 1)
    }

    fn forward_rows(&self, ids: &Tensor, mask: &Tensor, rows: usize) -> candle_core::Result<Tensor> {
        // (mask - 1) * big: 0 on tokens; finite (not -inf) so a row never becomes NaN.
        let mask_bias = ((mask.to_dtype(DType::F32)? - 1.0)? * f64::from(f32::MAX))?; // [B, S]
        let mut x = self.embeddings.forward(ids)?;
        let s = x.dim(1)?;
        for (i, layer) in self.layers.iter().enumerate() {
            let last = i + 1 == self.layers.len();
            x = layer.forward(&x, &mask_bias, if last { rows } else { s })?;
        }
        Ok(x)
    }
}
