//! The int8 model bundle the browser and `icd predict` load (see `docs/bundle-format.md`).
//!
//! A bundle is `manifest.json`, `model.gguf` (Q8_0 linear weights, f32 rest) and
//! `tokenizer.json`. Callers read the files (core does no I/O) and hand the bytes over:
//! [`verify`] checks every listed file's byte count and sha256 before anything is parsed,
//! [`crate::Coder::from_bundle`] verifies and loads. [`quantize_gguf`] is the writing side,
//! used by `icd-quantize` (and the test fixtures).

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::metrics::{MulticlassReport, MultilabelReport};
use crate::model::{checkpoint_tensors, ModelConfig, ModelError};
use crate::tokenize::TokenizeError;

/// `manifest.json` → `format`.
pub const FORMAT: &str = "icd10-coder-bundle";
/// `manifest.json` → `format_version` this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// File names inside a bundle.
pub const MANIFEST_FILE: &str = "manifest.json";
pub const MODEL_FILE: &str = "model.gguf";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Q8_0 packs 32 weights per block: only linear layers whose input size is a multiple of it
/// are quantized (every BERT size is; an odd head stays f32).
pub const Q8_BLOCK: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("manifest.json: {0}")]
    Manifest(String),
    #[error("manifest.json: format {found:?} version {version}; this build reads {FORMAT:?} version {FORMAT_VERSION}")]
    Format { found: String, version: u32 },
    #[error("bundle file {file} is missing (manifest.json lists it)")]
    MissingFile { file: String },
    #[error("manifest.json does not list {file}, so it cannot be verified")]
    Unlisted { file: String },
    #[error("bundle file {file} has {found} bytes, manifest.json says {expected} (truncated, or from another bundle)")]
    Size { file: String, expected: u64, found: u64 },
    #[error("bundle file {file} has sha256 {found}, manifest.json says {expected} (corrupt, or from another bundle)")]
    Hash { file: String, expected: String, found: String },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    #[error("quantizing {tensor}: {message}")]
    Quantize { tensor: String, message: String },
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// Usually the checkpoint folder's name.
    pub name: String,
    pub architecture: Architecture,
    pub icd: IcdSettings,
    pub weights: WeightsInfo,
    /// Label id order.
    pub labels: Vec<BundleLabel>,
    /// Every other file of the bundle (not manifest.json itself).
    pub files: BTreeMap<String, FileEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BundleMetrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// The Hugging Face `BertConfig` fields of the checkpoint's config.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: u32,
}

fn default_model_type() -> String {
    "bert".into()
}
fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

/// The checkpoint's `icd` object: one definition, [`crate::model::IcdConfig`], for the
/// checkpoint's `config.json` and the bundle manifest.
pub use crate::model::IcdConfig as IcdSettings;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsInfo {
    /// The GGUF file, `model.gguf`.
    pub file: String,
    /// Type of the linear layers' weights: `q8_0`.
    pub linear: String,
    /// Type of the word embeddings: `f32` (default) or `q8_0`.
    #[serde(default = "default_f32")]
    pub embeddings: String,
    /// Type of everything else (biases, layer norms, position embeddings): `f32`.
    pub other: String,
    /// Size of the same tensors as f32 safetensors (the checkpoint's model.safetensors).
    #[serde(default)]
    pub f32_bytes: u64,
}

fn default_f32() -> String {
    "f32".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleLabel {
    pub code: String,
    /// The official ICD-10-CM description.
    pub description: String,
    /// ICD-10-CM chapter number (1-22); 0 when unknown.
    pub chapter: u8,
}

impl BundleLabel {
    /// A label known only by its code (a checkpoint's `id2label` carries no descriptions).
    pub fn code_only(code: &str) -> Self {
        Self { code: code.to_string(), description: String::new(), chapter: 0 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Lower-case hex.
    pub sha256: String,
    pub bytes: u64,
}

impl FileEntry {
    pub fn of(bytes: &[u8]) -> Self {
        Self { sha256: sha256_hex(bytes), bytes: bytes.len() as u64 }
    }
}

/// f32 vs int8 on a test set, written by `icd-quantize`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleMetrics {
    pub test_set: String,
    pub n: usize,
    pub f32: EvalReport,
    pub int8: EvalReport,
    /// Share of notes whose top code is the same with f32 and int8 weights.
    pub top1_agreement: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// On the primary (first) code of each note.
    pub multiclass: MulticlassReport,
    /// All codes, at the checkpoint's threshold; sigmoid models only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multilabel: Option<MultilabelReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The checkpoint folder as given to `icd-quantize`.
    pub checkpoint: String,
    pub config_sha256: String,
    pub weights_sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl Manifest {
    /// Parses `manifest.json` and checks the format and version.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| BundleError::Manifest(e.to_string()))?;
        if m.format != FORMAT || m.format_version != FORMAT_VERSION {
            return Err(BundleError::Format { found: m.format, version: m.format_version });
        }
        if m.labels.is_empty() {
            return Err(BundleError::Manifest("labels: empty".into()));
        }
        Ok(m)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serializes")
    }

    /// The architecture, `icd` object and labels of a checkpoint's `config.json`
    /// (checked with [`ModelConfig::from_json`] first). Labels get empty descriptions and
    /// chapter 0: `icd-quantize` fills them from the code table.
    pub fn parts_from_config(config_json: &[u8]) -> Result<(Architecture, IcdSettings, Vec<BundleLabel>), BundleError> {
        let config = ModelConfig::from_json(config_json)?;
        #[derive(Deserialize)]
        struct Parts {
            #[serde(flatten)]
            architecture: Architecture,
            icd: IcdSettings,
        }
        let p: Parts = serde_json::from_slice(config_json).map_err(|e| ModelError::Config(e.to_string()))?;
        let labels = config.labels.iter().map(|code| BundleLabel::code_only(code)).collect();
        Ok((p.architecture, p.icd, labels))
    }

    /// A checkpoint-style `config.json` (docs/checkpoint-format.md) for the model loader.
    pub fn config_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(&self.architecture).expect("serializes");
        let id2label: serde_json::Map<String, serde_json::Value> =
            self.labels.iter().enumerate().map(|(i, l)| (i.to_string(), serde_json::Value::String(l.code.clone()))).collect();
        v["id2label"] = serde_json::Value::Object(id2label);
        v["icd"] = serde_json::to_value(&self.icd).expect("serializes");
        serde_json::to_vec(&v).expect("serializes")
    }
}

/// Checks the byte count and sha256 of every file `manifest.files` lists against `files`
/// (name -> bytes). Files not listed are ignored here; [`crate::Coder::from_bundle`] only
/// uses listed ones.
pub fn verify(manifest: &Manifest, files: &HashMap<String, Vec<u8>>) -> Result<(), BundleError> {
    for (name, entry) in &manifest.files {
        let bytes = files.get(name).ok_or_else(|| BundleError::MissingFile { file: name.clone() })?;
        if bytes.len() as u64 != entry.bytes {
            return Err(BundleError::Size { file: name.clone(), expected: entry.bytes, found: bytes.len() as u64 });
        }
        let found = sha256_hex(bytes);
        if !found.eq_ignore_ascii_case(&entry.sha256) {
            return Err(BundleError::Hash { file: name.clone(), expected: entry.sha256.clone(), found });
        }
    }
    Ok(())
}

/// What [`quantize_gguf`] quantizes.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuantizeOptions {
    /// Also store the word embeddings as Q8_0 (about 4x smaller bundle for MiniLM, whose
    /// embeddings are half its weights). Off by default: the format's baseline is f32.
    pub embeddings: bool,
}

/// The result of [`quantize_gguf`].
pub struct QuantizedGguf {
    pub bytes: Vec<u8>,
    /// Names of the tensors stored as Q8_0.
    pub q8_0: Vec<String>,
    /// Names of the tensors stored as f32.
    pub f32: Vec<String>,
}

/// Whether a tensor is stored as Q8_0: the encoder's linear weights (`[out, in]`, 97 % of the
/// non-embedding weights). The heads stay f32: they are at most `L x H` (about 1 % of the
/// bytes for 300 labels) and their rounding lands straight on the logits (on the test
/// checkpoints, Q8_0 heads doubled the int8-vs-f32 logit difference).
pub fn is_linear_weight(name: &str, dims: &[usize]) -> bool {
    dims.len() == 2 && name.starts_with("bert.encoder.") && name.ends_with(".weight") && dims[1].is_multiple_of(Q8_BLOCK)
}

/// A checkpoint's `model.safetensors` (f32) -> `model.gguf` bytes: linear weights Q8_0,
/// the rest f32, tensor names as in the checkpoint contract (base-model names mapped).
pub fn quantize_gguf(safetensors: &[u8], opts: QuantizeOptions) -> Result<QuantizedGguf, BundleError> {
    let tensors = checkpoint_tensors(safetensors)?;
    let mut q = Vec::with_capacity(tensors.len());
    let (mut q8_names, mut f32_names) = (Vec::new(), Vec::new());
    for (name, t) in &tensors {
        let emb = opts.embeddings && name == "bert.embeddings.word_embeddings.weight" && t.dims().get(1).is_some_and(|d| d.is_multiple_of(Q8_BLOCK));
        let dtype = if is_linear_weight(name, t.dims()) || emb {
            q8_names.push(name.clone());
            GgmlDType::Q8_0
        } else {
            f32_names.push(name.clone());
            GgmlDType::F32
        };
        let qt = QTensor::quantize(t, dtype).map_err(|e| BundleError::Quantize { tensor: name.clone(), message: e.to_string() })?;
        q.push((name.as_str(), qt));
    }
    let arch = gguf_file::Value::String("bert".into());
    let version = gguf_file::Value::U32(FORMAT_VERSION);
    let metadata = [("general.architecture", &arch), ("icd10coder.bundle_format_version", &version)];
    let refs: Vec<(&str, &QTensor)> = q.iter().map(|(n, t)| (*n, t)).collect();
    let mut out = Cursor::new(Vec::new());
    gguf_file::write(&mut out, &metadata, &refs).map_err(|e| ModelError::Gguf(e.to_string()))?;
    Ok(QuantizedGguf { bytes: out.into_inner(), q8_0: q8_names, f32: f32_names })
}

/// A bundle in memory: the manifest and every file it lists.
pub struct BuiltBundle {
    pub manifest: Manifest,
    /// File name -> bytes (`model.gguf`, `tokenizer.json`).
    pub files: HashMap<String, Vec<u8>>,
    /// Which tensors were stored as Q8_0 / f32.
    pub q8_0: Vec<String>,
    pub f32: Vec<String>,
}

impl BuiltBundle {
    pub fn manifest_json(&self) -> Vec<u8> {
        let mut s = self.manifest.to_json_pretty();
        s.push('\n');
        s.into_bytes()
    }
}

/// A checkpoint's bytes -> a bundle in memory (no metrics, no source: `icd-quantize` adds
/// them). `labels` (descriptions and chapters from the code table) must match the config's
/// codes in order; `None` leaves descriptions empty. The tokenizer is re-saved with padding
/// and truncation off.
pub fn build(
    name: &str,
    config_json: &[u8],
    safetensors: &[u8],
    tokenizer_json: &[u8],
    labels: Option<Vec<BundleLabel>>,
    opts: QuantizeOptions,
) -> Result<BuiltBundle, BundleError> {
    let (architecture, icd, config_labels) = Manifest::parts_from_config(config_json)?;
    let labels = match labels {
        None => config_labels,
        Some(l) => {
            let a: Vec<&str> = l.iter().map(|l| l.code.as_str()).collect();
            let b: Vec<&str> = config_labels.iter().map(|l| l.code.as_str()).collect();
            if a != b {
                return Err(BundleError::Manifest(format!("labels {a:?} differ from config.json id2label {b:?}")));
            }
            l
        }
    };
    let tokenizer = crate::tokenize::NoteTokenizer::from_tokenizer_json(tokenizer_json)?.to_tokenizer_json()?.into_bytes();
    let gguf = quantize_gguf(safetensors, opts)?;
    let mut files = HashMap::new();
    let mut entries = BTreeMap::new();
    entries.insert(MODEL_FILE.to_string(), FileEntry::of(&gguf.bytes));
    entries.insert(TOKENIZER_FILE.to_string(), FileEntry::of(&tokenizer));
    files.insert(MODEL_FILE.to_string(), gguf.bytes);
    files.insert(TOKENIZER_FILE.to_string(), tokenizer);
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        name: name.into(),
        architecture,
        icd,
        weights: WeightsInfo {
            file: MODEL_FILE.into(),
            linear: "q8_0".into(),
            embeddings: if opts.embeddings { "q8_0" } else { "f32" }.into(),
            other: "f32".into(),
            f32_bytes: safetensors.len() as u64,
        },
        labels,
        files: entries,
        metrics: None,
        source: None,
    };
    Ok(BuiltBundle { manifest, files, q8_0: gguf.q8_0, f32: gguf.f32 })
}

/// Gold labels of a test set in a model's label space (see [`eval_truth`]).
#[derive(Debug, Clone, Default)]
pub struct EvalTruth {
    /// Indices (into the records) of the notes that are scored: those whose primary code is a label.
    pub used: Vec<usize>,
    /// Per used note: the primary code's label id.
    pub primary: Vec<usize>,
    /// Per used note: every code's label id that is in the label space.
    pub all: Vec<Vec<usize>>,
    /// Notes left out: (record index, primary code).
    pub skipped: Vec<(usize, String)>,
}

/// Maps records onto label ids. A note whose primary code is not a label cannot be scored
/// for accuracy and is listed in `skipped` (callers report it); secondary codes outside the
/// label space are dropped from `all`.
pub fn eval_truth(labels: &[BundleLabel], records: &[crate::dataset::Record]) -> EvalTruth {
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.code.as_str(), i)).collect();
    let mut t = EvalTruth::default();
    for (i, r) in records.iter().enumerate() {
        let ids: Vec<usize> = r.codes.iter().filter_map(|c| index.get(c.as_str()).copied()).collect();
        match r.codes.first().and_then(|c| index.get(c.as_str())) {
            Some(&p) => {
                t.used.push(i);
                t.primary.push(p);
                t.all.push(ids);
            }
            None => t.skipped.push((i, r.codes.first().cloned().unwrap_or_default())),
        }
    }
    t
}

/// Metrics of `scores` (one row per used note, label-id order): multiclass on the primary
/// code; multilabel too when `threshold` is given (sigmoid models).
pub fn eval_report(n_labels: usize, truth: &EvalTruth, scores: &[Vec<f32>], threshold: Option<f32>) -> EvalReport {
    EvalReport {
        multiclass: crate::metrics::multiclass(n_labels, &truth.primary, scores),
        multilabel: threshold.map(|t| crate::metrics::multilabel(n_labels, &truth.all, scores, t)),
    }
}
