//! BERT encoder in tch, with Hugging Face's parameter names (under `bert.`),
//! so checkpoints load both ways (see docs/checkpoint-format.md).

use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

pub use icd_core::BertConfig;

use crate::dropout::{self, dropout};

#[derive(Debug)]
struct Embeddings {
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    layer_norm: nn::LayerNorm,
    dropout: f64,
}

impl Embeddings {
    fn new(p: &nn::Path, c: &BertConfig) -> Self {
        let ln = nn::LayerNormConfig { eps: c.layer_norm_eps, ..Default::default() };
        Self {
            word: nn::embedding(p / "word_embeddings", c.vocab_size as i64, c.hidden_size as i64, Default::default()),
            position: nn::embedding(p / "position_embeddings", c.max_position_embeddings as i64, c.hidden_size as i64, Default::default()),
            token_type: nn::embedding(p / "token_type_embeddings", c.type_vocab_size as i64, c.hidden_size as i64, Default::default()),
            layer_norm: nn::layer_norm(p / "LayerNorm", vec![c.hidden_size as i64], ln),
            dropout: c.hidden_dropout_prob,
        }
    }

    /// ids: [B, T] -> [B, T, H]
    fn forward_t(&self, ids: &Tensor, train: bool) -> Tensor {
        let t = ids.size()[1];
        let pos = Tensor::arange(t, (Kind::Int64, ids.device())).unsqueeze(0); // [1, T]
        let types = ids.zeros_like();
        let x = self.word.forward(ids) + self.position.forward(&pos) + self.token_type.forward(&types);
        dropout(&self.layer_norm.forward(&x), self.dropout, train)
    }
}

#[derive(Debug)]
struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_ln: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    out_ln: nn::LayerNorm,
    heads: i64,
    hidden_dropout: f64,
    attn_dropout: f64,
}

impl Layer {
    fn new(p: &nn::Path, c: &BertConfig) -> Self {
        let ln = nn::LayerNormConfig { eps: c.layer_norm_eps, ..Default::default() };
        let a = p / "attention";
        let s = &a / "self";
        let o = &a / "output";
        let h = c.hidden_size as i64;
        Self {
            query: nn::linear(&s / "query", h, h, Default::default()),
            key: nn::linear(&s / "key", h, h, Default::default()),
            value: nn::linear(&s / "value", h, h, Default::default()),
            attn_out: nn::linear(&o / "dense", h, h, Default::default()),
            attn_ln: nn::layer_norm(&o / "LayerNorm", vec![h], ln),
            intermediate: nn::linear(p / "intermediate" / "dense", h, c.intermediate_size as i64, Default::default()),
            output: nn::linear(p / "output" / "dense", c.intermediate_size as i64, h, Default::default()),
            out_ln: nn::layer_norm(p / "output" / "LayerNorm", vec![h], ln),
            heads: c.num_attention_heads as i64,
            hidden_dropout: c.hidden_dropout_prob,
            attn_dropout: c.attention_probs_dropout_prob,
        }
    }

    /// x: [B, T, H]; mask: [B, 1, 1, T] bool (true = attend) -> [B, T, H]
    fn forward_t(&self, x: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let (b, t, h) = x.size3().unwrap();
        let hd = h / self.heads;
        let split = |y: Tensor| y.view([b, t, self.heads, hd]).transpose(1, 2); // [B, nh, T, hd]
        let q = split(self.query.forward(x));
        let k = split(self.key.forward(x));
        let v = split(self.value.forward(x));
        let ctx = if train && self.attn_dropout > 0.0 && x.device() == Device::Cpu {
            attention_with_dropout(&q, &k, &v, mask, self.attn_dropout)
        } else {
            // libtorch picks a fused kernel (flash / memory-efficient) where it can.
            let p = if train { self.attn_dropout } else { 0.0 };
            Tensor::scaled_dot_product_attention(&q, &k, &v, Some(mask), p, false, None::<f64>, false)
        };
        let ctx = ctx.transpose(1, 2).contiguous().view([b, t, h]);
        let a = self.attn_ln.forward(&(dropout(&self.attn_out.forward(&ctx), self.hidden_dropout, train) + x));
        let i = self.intermediate.forward(&a).gelu("none");
        self.out_ln.forward(&(dropout(&self.output.forward(&i), self.hidden_dropout, train) + a))
    }
}

/// Training attention on CPU, where libtorch's SDPA falls back to its math path and
/// libtorch's serial dropout: the same math with our mask, and the 1 / (1 - p)
/// scale applied to the [B, nh, T, hd] context instead of the [B, nh, T, T] weights.
/// q, k, v: [B, nh, T, hd]; mask: [B, 1, 1, T] bool (true = attend) -> [B, nh, T, hd]
fn attention_with_dropout(q: &Tensor, k: &Tensor, v: &Tensor, mask: &Tensor, p: f64) -> Tensor {
    let (b, nh, t, hd) = q.size4().unwrap();
    // Padding as an additive bias that the score GEMM starts from (beta = 1), so the
    // [B, nh, T, T] scores are written once: [B, 1, 1, T] -> [B*nh, 1, T].
    let bias = Tensor::zeros([b, 1, 1, t], (Kind::Float, Device::Cpu)).masked_fill(&mask.logical_not(), f64::from(f32::MIN));
    let bias = bias.expand([b, nh, 1, t], false).reshape([b * nh, 1, t]);
    let q3 = q.reshape([b * nh, t, hd]);
    let kt = k.reshape([b * nh, t, hd]).transpose(1, 2); // [B*nh, hd, T]
    let scores = bias.baddbmm(&q3, &kt, 1.0, 1.0 / (hd as f64).sqrt()).view([b, nh, t, t]);
    let probs = scores.softmax(-1, Kind::Float);
    let kept = probs.masked_fill(&dropout::drop_mask(&probs.size(), p), 0.0);
    kept.matmul(v) * (1.0 / (1.0 - p))
}

/// The encoder: embeddings and `num_hidden_layers` transformer layers, no pooler.
#[derive(Debug)]
pub struct Bert {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    pub config: BertConfig,
}

impl Bert {
    /// `p` is the `bert` path: variables are named `bert.embeddings...`, `bert.encoder.layer.N...`.
    pub fn new(p: &nn::Path, config: &BertConfig) -> Self {
        let enc = p / "encoder" / "layer";
        let layers = (0..config.num_hidden_layers).map(|i| Layer::new(&(&enc / i), config)).collect();
        Self { embeddings: Embeddings::new(&(p / "embeddings"), config), layers, config: config.clone() }
    }

    /// [B, T] ids + [B, T] mask (1 = token) -> hidden states after layer `upto` (exclusive)
    /// starting from the embeddings.
    pub fn forward_upto(&self, ids: &Tensor, mask: &Tensor, upto: usize, train: bool) -> Tensor {
        let attn_mask = attention_mask(mask);
        let mut h = self.embeddings.forward_t(ids, train);
        for layer in &self.layers[..upto.min(self.layers.len())] {
            h = layer.forward_t(&h, &attn_mask, train);
        }
        h
    }

    /// Continues from the output of layer `from - 1`: [B, T, H] -> [B, T, H].
    pub fn forward_from(&self, hidden: &Tensor, mask: &Tensor, from: usize, train: bool) -> Tensor {
        let attn_mask = attention_mask(mask);
        let mut h = hidden.shallow_clone();
        for layer in &self.layers[from.min(self.layers.len())..] {
            h = layer.forward_t(&h, &attn_mask, train);
        }
        h
    }

    /// [B, T] ids + [B, T] mask -> [B, T, H]
    pub fn forward_t(&self, ids: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        self.forward_upto(ids, mask, self.layers.len(), train)
    }

    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }
}

/// [B, T] (1 = token) -> [B, 1, 1, T] bool for scaled_dot_product_attention.
fn attention_mask(mask: &Tensor) -> Tensor {
    mask.to_kind(Kind::Bool).unsqueeze(1).unsqueeze(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With nothing dropped, the training path is libtorch's attention, padding included.
    #[test]
    fn training_attention_matches_sdpa_when_nothing_is_dropped() {
        tch::manual_seed(11);
        let (b, nh, t, hd) = (3, 2, 7, 4);
        let opts = (Kind::Float, Device::Cpu);
        let (q, k, v) = (Tensor::randn([b, nh, t, hd], opts), Tensor::randn([b, nh, t, hd], opts), Tensor::randn([b, nh, t, hd], opts));
        let tokens = Tensor::from_slice(&[1i64, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]).view([b, t]);
        let mask = attention_mask(&tokens);
        let want = Tensor::scaled_dot_product_attention(&q, &k, &v, Some(&mask), 0.0, false, None::<f64>, false);
        // p below 2^-17 rounds to a zero drop threshold.
        let got = attention_with_dropout(&q, &k, &v, &mask, 1e-9);
        let d = (&got - &want).abs().max().double_value(&[]);
        assert!(d < 1e-5, "max difference {d}");
        // And with p = 0.5 about half the weights are dropped: the result moves.
        let dropped = attention_with_dropout(&q, &k, &v, &mask, 0.5);
        assert!((&dropped - &want).abs().max().double_value(&[]) > 1e-2);
    }
}
