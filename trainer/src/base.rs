//! Loading a base model folder in either Hugging Face layout:
//! - `config.json` + `model.safetensors` + `tokenizer.json` (all-MiniLM-L6-v2), or
//! - `config.json` + `pytorch_model.bin` + `vocab.txt` (Bio_ClinicalBERT).
//!
//! Weight names are mapped onto ours (`bert.` prefix, `LayerNorm.weight/bias`);
//! pre-training heads and the pooler are ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use icd_core::tokenize::NoteTokenizer;
use tch::{Device, Kind, Tensor};

use crate::bert::BertConfig;
use icd_core::schema::weights::encoder_name;

#[derive(Debug, thiserror::Error)]
pub enum BaseError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: not a usable BERT config: {message}")]
    Config { path: PathBuf, message: String },
    #[error("{dir}: no weights (expected model.safetensors or pytorch_model.bin)")]
    NoWeights { dir: PathBuf },
    #[error("{dir}: no tokenizer (expected tokenizer.json or vocab.txt)")]
    NoTokenizer { dir: PathBuf },
    #[error("{path}: cannot read weights: {message}")]
    Weights { path: PathBuf, message: String },
    #[error("{path}: tokenizer: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error("base model {dir}: weight {name} is missing (is this a BERT model?)")]
    Missing { dir: PathBuf, name: String },
    #[error("base model {dir}: weight {name} has shape {found:?}, the model expects {expected:?} (config.json does not match the weights)")]
    Shape { dir: PathBuf, name: String, found: Vec<i64>, expected: Vec<i64> },
}

pub struct BaseModel {
    pub dir: PathBuf,
    pub name: String,
    pub config: BertConfig,
    pub tokenizer: NoteTokenizer,
    /// Canonical name (`bert.…`) -> tensor (CPU, f32).
    pub weights: HashMap<String, Tensor>,
}

fn read(path: &Path) -> Result<Vec<u8>, BaseError> {
    std::fs::read(path).map_err(|e| BaseError::Io { path: path.into(), message: e.to_string() })
}

impl BaseModel {
    pub fn load(dir: &Path) -> Result<Self, BaseError> {
        let cfg_path = dir.join("config.json");
        let config: BertConfig = serde_json::from_slice(&read(&cfg_path)?).map_err(|e| BaseError::Config { path: cfg_path.clone(), message: e.to_string() })?;
        config.check().map_err(|message| BaseError::Config { path: cfg_path.clone(), message })?;
        let tokenizer = load_tokenizer(dir)?;
        let raw = load_weights(dir)?;
        let mut weights = HashMap::new();
        for (name, t) in raw {
            if let Some(n) = encoder_name(&name) {
                weights.insert(n, t.to_kind(Kind::Float));
            }
        }
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "base".into());
        Ok(Self { dir: dir.into(), name, config, tokenizer, weights })
    }

    /// Copies the encoder weights into `vars` (our names). Every `bert.` variable must be found.
    pub fn copy_into(&self, vars: &HashMap<String, Tensor>) -> Result<usize, BaseError> {
        let mut n = 0;
        tch::no_grad(|| {
            for (name, var) in vars {
                if !name.starts_with("bert.") {
                    continue;
                }
                let src = self.weights.get(name).ok_or_else(|| BaseError::Missing { dir: self.dir.clone(), name: name.clone() })?;
                if src.size() != var.size() {
                    return Err(BaseError::Shape { dir: self.dir.clone(), name: name.clone(), found: src.size(), expected: var.size() });
                }
                var.shallow_clone().copy_(&src.to_device(var.device()));
                n += 1;
            }
            Ok(n)
        })
    }
}

fn load_weights(dir: &Path) -> Result<Vec<(String, Tensor)>, BaseError> {
    let st = dir.join("model.safetensors");
    if st.exists() {
        return Tensor::read_safetensors(&st).map_err(|e| BaseError::Weights { path: st, message: e.to_string() });
    }
    let bin = dir.join("pytorch_model.bin");
    if bin.exists() {
        // PyTorch's zip+pickle format, read with candle's reader.
        let tensors = candle_core::pickle::read_all(&bin).map_err(|e| BaseError::Weights { path: bin.clone(), message: e.to_string() })?;
        let mut out = Vec::with_capacity(tensors.len());
        for (name, t) in tensors {
            let dims: Vec<i64> = t.dims().iter().map(|&d| d as i64).collect();
            let data: Vec<f32> = t
                .to_dtype(candle_core::DType::F32)
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.to_vec1())
                .map_err(|e| BaseError::Weights { path: bin.clone(), message: format!("{name}: {e}") })?;
            out.push((name, Tensor::from_slice(&data).view(dims.as_slice())));
        }
        return Ok(out);
    }
    Err(BaseError::NoWeights { dir: dir.into() })
}

fn load_tokenizer(dir: &Path) -> Result<NoteTokenizer, BaseError> {
    let tj = dir.join("tokenizer.json");
    if tj.exists() {
        return NoteTokenizer::from_tokenizer_json(&read(&tj)?).map_err(|e| BaseError::Tokenizer { path: tj, message: e.to_string() });
    }
    let vt = dir.join("vocab.txt");
    if vt.exists() {
        let vocab = String::from_utf8(read(&vt)?).map_err(|e| BaseError::Tokenizer { path: vt.clone(), message: e.to_string() })?;
        let lowercase = lowercase_setting(dir, &vocab);
        return NoteTokenizer::from_vocab_txt(&vocab, lowercase).map_err(|e| BaseError::Tokenizer { path: vt, message: e.to_string() });
    }
    Err(BaseError::NoTokenizer { dir: dir.into() })
}

/// `do_lower_case` from tokenizer_config.json when present; otherwise an uncased vocabulary
/// (no token with an upper-case letter) means lower-casing.
fn lowercase_setting(dir: &Path, vocab: &str) -> bool {
    if let Ok(bytes) = std::fs::read(dir.join("tokenizer_config.json")) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            if let Some(b) = v.get("do_lower_case").and_then(|b| b.as_bool()) {
                return b;
            }
        }
    }
    !vocab.lines().any(|t| !t.starts_with('[') && t.chars().any(char::is_uppercase))
}

/// The best device for `choice` (`auto`, `cpu`, `cuda`).
pub fn device(choice: &str) -> anyhow::Result<Device> {
    match choice {
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => anyhow::bail!("--device cuda: CUDA is not available to this libtorch (no GPU, or libtorch_cuda not linked)"),
        "auto" => Ok(Device::cuda_if_available()),
        other => anyhow::bail!("--device {other:?}: use auto, cpu or cuda"),
    }
}
