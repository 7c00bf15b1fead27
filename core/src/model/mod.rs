//! The ICD coding model: a BERT encoder and a `cls` or `label_attention` head, loaded from a
//! checkpoint's `config.json` and `model.safetensors` bytes (see `docs/checkpoint-format.md`),
//! or from a bundle's `model.gguf` (Q8_0 linear weights, see `docs/bundle-format.md`).
//!
//! ```text
//! text --NoteTokenizer::encode--> Encoded --chunks--> [Chunk] --IcdModel::forward--> Prediction
//!                                              crate::evidence::attention(..) --> [Span]
//! ```

mod bert;
mod heads;
mod linear;
mod ops;
mod weights;

use candle_core::{Device, Tensor};

pub use crate::schema::checkpoint::{HeadKind, IcdConfig, ModelConfig, Objective};
pub use bert::BertEncoder;
pub use heads::{ClsHead, LabelAttentionHead};
pub use linear::{Int8Kernel, Linear};
pub use ops::I8Matmul;

use crate::tokenize::{Chunk, Encoded, NoteTokenizer, TokenizeError};
use weights::Weights;

/// Consecutive runs of chunks of equal length, at most [`ENCODER_GROUP`] each, in order, so
/// no window is padded (a note's full windows go together, its short tail and gathered
/// diagnostic window alone).
pub fn encoder_groups(chunks: &[Chunk]) -> impl Iterator<Item = &[Chunk]> {
    chunks.chunk_by(|a, b| a.ids.len() == b.ids.len()).flat_map(|run| run.chunks(ENCODER_GROUP))
}

/// Windows per encoder pass: 8 windows of 512 tokens hold about 100 MB of attention scores
/// at a time (12 heads), while a single pass over all of a long note's windows grew with it.
pub const ENCODER_GROUP: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("config.json: {0}")]
    Config(String),
    #[error("model.safetensors: {0}")]
    Safetensors(String),
    #[error("model.gguf: {0}")]
    Gguf(String),
    #[error("{file} has no tensor {name}")]
    MissingTensor { file: &'static str, name: String },
    #[error("{file}: tensor {name} has shape {found:?}, expected {expected:?}")]
    Shape { file: &'static str, name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("bad model input: {0}")]
    Input(String),
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    #[error("tensor op failed: {0}")]
    Candle(#[from] candle_core::Error),
}

pub enum Head {
    Cls(ClsHead),
    LabelAttention(LabelAttentionHead),
}

pub struct IcdModel {
    config: ModelConfig,
    encoder: BertEncoder,
    head: Head,
    device: Device,
}

/// Per-label attention of the `label_attention` head.
///
/// Layout: `weights` is `[n_labels, n_tokens]` row-major. Token index `t` runs over the
/// chunks in order and, inside a chunk, over all its ids (`[CLS]`, real tokens, `[SEP]`):
/// `t = Σ_{j<i} chunks[j].ids.len() + p` for position `p` of chunk `i`. Each row sums to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Attention {
    pub n_labels: usize,
    pub n_tokens: usize,
    pub weights: Vec<f32>,
}

impl Attention {
    /// Weights of one label over the `n_tokens` positions.
    pub fn label(&self, label: usize) -> &[f32] {
        &self.weights[label * self.n_tokens..(label + 1) * self.n_tokens]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// `[L]`, label id order.
    pub logits: Vec<f32>,
    /// `[L]`: softmax (objective `softmax`) or sigmoid (`sigmoid`) of the logits.
    pub scores: Vec<f32>,
    /// Only for the `label_attention` head.
    pub attention: Option<Attention>,
}

impl IcdModel {
    pub fn load(config_json: &[u8], safetensors: &[u8], device: &Device) -> Result<Self, ModelError> {
        let config = ModelConfig::from_json(config_json)?;
        let w = Weights::from_safetensors(safetensors, device)?;
        Self::from_weights(config, &w, device)
    }

    /// From a bundle's `model.gguf` bytes (Q8_0 linear weights, f32 rest); `config_json` is a
    /// checkpoint-style config (the bundle module builds it from the manifest).
    pub fn load_gguf(config_json: &[u8], gguf: &[u8], device: &Device, kernel: Int8Kernel) -> Result<Self, ModelError> {
        let config = ModelConfig::from_json(config_json)?;
        let w = Weights::from_gguf(gguf, device, kernel)?;
        Self::from_weights(config, &w, device)
    }

    fn from_weights(config: ModelConfig, w: &Weights, device: &Device) -> Result<Self, ModelError> {
        let encoder = BertEncoder::load(w, &config)?;
        let (h, l) = (config.bert.hidden_size, config.n_labels());
        let head = match config.icd.head {
            HeadKind::Cls => Head::Cls(ClsHead::load(w, h, l)?),
            HeadKind::LabelAttention => {
                let dim = config.icd.label_attention_dim.expect("checked in ModelConfig::from_json");
                Head::LabelAttention(LabelAttentionHead::load(w, h, dim, l)?)
            }
        };
        Ok(Self { config, encoder, head, device: device.clone() })
    }

    /// The encoder alone (hidden states, e.g. for embeddings or tests).
    pub fn encoder(&self) -> &BertEncoder {
        &self.encoder
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Label id -> code.
    pub fn labels(&self) -> &[String] {
        &self.config.labels
    }

    /// Tokenizes, chunks (with the checkpoint's `max_length`/`chunk_overlap`) and runs one note.
    pub fn predict(&self, tokenizer: &NoteTokenizer, text: &str) -> Result<(Encoded, Vec<Chunk>, Prediction), ModelError> {
        let (enc, chunks) = self.chunks(tokenizer, text)?;
        let pred = self.forward(&chunks)?;
        Ok((enc, chunks, pred))
    }

    /// The note's input windows, as [`IcdModel::predict`] makes them.
    pub fn chunks(&self, tokenizer: &NoteTokenizer, text: &str) -> Result<(Encoded, Vec<Chunk>), ModelError> {
        let enc = tokenizer.encode(text)?;
        let icd = &self.config.icd;
        let chunks = tokenizer.input_chunks(text, &enc, icd.max_length, icd.chunk_overlap, icd.input)?;
        Ok((enc, chunks))
    }

    /// A `cls` head's input from some of a note's windows: each window's last-layer `[CLS]`
    /// state, `[H]` each, in order. The windows of a long note can be run in several places
    /// (the page's workers) and their states put together ([`IcdModel::classify_states`]).
    pub fn window_states(&self, chunks: &[Chunk]) -> Result<Vec<Vec<f32>>, ModelError> {
        if !matches!(self.head, Head::Cls(_)) {
            return Err(ModelError::Input("window states are a cls head's input; label attention reads every token".into()));
        }
        self.check_chunks(chunks)?;
        let mut out = Vec::with_capacity(chunks.len());
        for group in encoder_groups(chunks) {
            let (ids, mask) = self.batch(group)?;
            let first = self.encoder.forward_first(&ids, &mask)?; // [G, 1, H]
            out.extend(first.squeeze(1)?.to_vec2::<f32>()?);
        }
        Ok(out)
    }

    /// The scores a `cls` head gives from every window's state ([`IcdModel::window_states`],
    /// all of the note's windows): what [`IcdModel::forward`] gives for the note.
    pub fn classify_states(&self, states: &[Vec<f32>]) -> Result<Prediction, ModelError> {
        let Head::Cls(head) = &self.head else {
            return Err(ModelError::Input("window states are a cls head's input; label attention reads every token".into()));
        };
        let hidden = self.config.bert.hidden_size;
        if states.is_empty() || states.iter().any(|s| s.len() != hidden) {
            return Err(ModelError::Input(format!("{} window states of {:?} values; the model's are {hidden}", states.len(), states.first().map(Vec::len))));
        }
        let flat: Vec<f32> = states.iter().flatten().copied().collect();
        let first = Tensor::from_vec(flat, (states.len(), 1, hidden), &self.device)?; // [C, 1, H]
        let logits = head.forward(&first)?.to_vec1::<f32>()?;
        Ok(self.prediction(logits, None))
    }

    /// Scores from logits by the checkpoint's objective.
    fn prediction(&self, logits: Vec<f32>, attention: Option<Attention>) -> Prediction {
        let scores = match self.config.icd.objective {
            Objective::Softmax => softmax(&logits),
            Objective::Sigmoid => logits.iter().map(|&x| sigmoid(x)).collect(),
        };
        Prediction { logits, scores, attention }
    }

    fn check_chunks(&self, chunks: &[Chunk]) -> Result<(), ModelError> {
        if chunks.is_empty() {
            return Err(ModelError::Input("no chunks (an empty note is one [CLS][SEP] chunk)".into()));
        }
        let max_pos = self.config.bert.max_position_embeddings;
        let vocab = self.config.bert.vocab_size;
        for (i, c) in chunks.iter().enumerate() {
            if c.ids.len() < 2 || c.ids.len() > max_pos {
                return Err(ModelError::Input(format!("chunk {i} has {} ids, must be 2..={max_pos} ([CLS] .. [SEP])", c.ids.len())));
            }
            if let Some(&id) = c.ids.iter().find(|&&id| id as usize >= vocab) {
                return Err(ModelError::Input(format!("chunk {i} has token id {id}, vocab_size is {vocab}")));
            }
        }
        Ok(())
    }

    /// Runs the chunks of one note through the encoder, at most [`ENCODER_GROUP`] at a time and
    /// only chunks of one length together (see [`encoder_groups`]).
    pub fn forward(&self, chunks: &[Chunk]) -> Result<Prediction, ModelError> {
        self.check_chunks(chunks)?;
        // The encoder runs ENCODER_GROUP windows at a time, so its activations (the attention
        // scores above all, [G, heads, S, S]) stay bounded however long the note; windows are
        // independent, so the numbers are those of one batch. A group holds chunks of one length:
        // padding a note's short tail window to the full 512 doubled a 572-token note's time.
        let mut first = Vec::new(); // cls: [G, 1, H] per group
        let mut tokens = Vec::new(); // label attention: [len, H] per chunk
        for group in encoder_groups(chunks) {
            let (ids, mask) = self.batch(group)?;
            match &self.head {
                // The head reads [CLS] only: the last layer computes that row alone.
                Head::Cls(_) => first.push(self.encoder.forward_first(&ids, &mask)?),
                Head::LabelAttention(_) => {
                    let hidden = self.encoder.forward(&ids, &mask)?; // [G, S, H]
                    for (i, c) in group.iter().enumerate() {
                        tokens.push(hidden.get(i)?.narrow(0, 0, c.ids.len())?);
                    }
                }
            }
        }
        let (logits, attention) = match &self.head {
            Head::Cls(head) => (head.forward(&Tensor::cat(&first, 0)?)?, None), // [C, 1, H]
            Head::LabelAttention(head) => {
                let hs = Tensor::cat(&tokens, 0)?; // [T, H]
                let (logits, att) = head.forward(&hs)?;
                let (n_labels, n_tokens) = att.dims2()?;
                let weights = att.flatten_all()?.to_vec1::<f32>()?;
                (logits, Some(Attention { n_labels, n_tokens, weights }))
            }
        };
        let logits = logits.to_vec1::<f32>()?;
        Ok(self.prediction(logits, attention))
    }

    /// Token ids and attention mask of some windows, padded to the longest: `[G, S]` each.
    fn batch(&self, group: &[Chunk]) -> Result<(Tensor, Tensor), ModelError> {
        let (n, s) = (group.len(), group.iter().map(|c| c.ids.len()).max().expect("non-empty group"));
        let mut ids = vec![self.config.bert.pad_token_id; n * s];
        let mut mask = vec![0f32; n * s];
        for (i, c) in group.iter().enumerate() {
            ids[i * s..i * s + c.ids.len()].copy_from_slice(&c.ids);
            mask[i * s..i * s + c.ids.len()].fill(1.0);
        }
        Ok((Tensor::from_vec(ids, (n, s), &self.device)?, Tensor::from_vec(mask, (n, s), &self.device)?))
    }
}

/// A checkpoint's tensors under the contract's names (base-model names mapped, pooler and
/// pre-training heads dropped), as f32, sorted by name: what `icd-quantize` writes to GGUF.
pub fn checkpoint_tensors(safetensors: &[u8]) -> Result<Vec<(String, Tensor)>, ModelError> {
    Weights::from_safetensors(safetensors, &Device::Cpu)?.into_f32_tensors()
}

/// A bundle's `model.gguf` tensors, widened to f32, sorted by name (for tests and tools).
pub fn gguf_tensors(gguf: &[u8]) -> Result<Vec<(String, Tensor)>, ModelError> {
    Weights::from_gguf(gguf, &Device::Cpu, Int8Kernel::Dequantized)?.into_f32_tensors()
}

/// Runs `f` on a tensor's f32 values, in place where it is a contiguous CPU tensor (every
/// activation of the encoder is), else on a copy. Saves the copy `to_vec1` makes of every
/// layer input (4 % of a note's time natively).
pub(crate) fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    {
        let (storage, layout) = t.storage_and_layout();
        if let (candle_core::Storage::Cpu(cpu), Some((start, end))) = (&*storage, layout.contiguous_offsets()) {
            if let Ok(v) = cpu.as_slice::<f32>() {
                return Ok(f(&v[start..end]));
            }
        }
    }
    Ok(f(&t.flatten_all()?.to_vec1::<f32>()?))
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = x.iter().map(|&v| (v - max).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// The `top_n` words of the note with the most attention for `label`, heaviest first.
///
/// Largest |a - b| over all elements (tests of the kernels against candle's ops).
#[cfg(test)]
pub(crate) fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b).and_then(|d| d.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()).expect("same shapes")
}

#[cfg(test)]
mod group_tests {
    use super::*;

    fn chunk(len: usize) -> Chunk {
        Chunk::window(vec![1; len], 0)
    }

    #[test]
    fn groups_keep_order_and_never_mix_lengths() {
        // A gathered window, ten full windows, a short tail.
        let lens = [40, 512, 512, 512, 512, 512, 512, 512, 512, 512, 512, 64];
        let chunks: Vec<Chunk> = lens.iter().map(|&l| chunk(l)).collect();
        let groups: Vec<Vec<usize>> = encoder_groups(&chunks).map(|g| g.iter().map(|c| c.ids.len()).collect()).collect();
        assert_eq!(groups, vec![vec![40], vec![512; 8], vec![512; 2], vec![64]]);
        let flat: Vec<usize> = groups.concat();
        assert_eq!(flat, lens);
    }
}
