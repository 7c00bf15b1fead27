//! `manifest.json` of an int8 model bundle (docs/bundle-format.md): written by
//! `icd-quantize`, read by `icd`, `icd serve` and the browser's worker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::checkpoint::{checkpoint_config_json, BertConfig, IcdConfig, ModelConfig};
use super::report::EvalReport;

/// `manifest.json` → `format`.
pub const FORMAT: &str = "icd10-coder-bundle";
/// `manifest.json` → `format_version` this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// File names inside a bundle.
pub const MANIFEST_FILE: &str = "manifest.json";
pub const MODEL_FILE: &str = "model.gguf";
pub const TOKENIZER_FILE: &str = "tokenizer.json";

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest.json: {0}")]
    Invalid(String),
    #[error("manifest.json: format {found:?} version {version}; this build reads {FORMAT:?} version {FORMAT_VERSION}")]
    Format { found: String, version: u32 },
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// Usually the checkpoint folder's name.
    pub name: String,
    /// The checkpoint's BERT fields.
    pub architecture: BertConfig,
    pub icd: IcdConfig,
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
pub struct Source {
    /// The checkpoint folder as given to `icd-quantize`.
    pub checkpoint: String,
    pub config_sha256: String,
    pub weights_sha256: String,
}

/// Lower-case hex sha256, as `files` lists it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

impl Manifest {
    /// Parses `manifest.json` and checks the format and version.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| ManifestError::Invalid(e.to_string()))?;
        if m.format != FORMAT || m.format_version != FORMAT_VERSION {
            return Err(ManifestError::Format { found: m.format, version: m.format_version });
        }
        if m.labels.is_empty() {
            return Err(ManifestError::Invalid("labels: empty".into()));
        }
        Ok(m)
    }

    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serializes")
    }

    /// The architecture, `icd` object and labels of a checked checkpoint `config.json`. Labels
    /// get empty descriptions and chapter 0: `icd-quantize` fills them from the code table.
    pub fn parts_from_config(config: &ModelConfig) -> (BertConfig, IcdConfig, Vec<BundleLabel>) {
        (config.bert.clone(), config.icd.clone(), config.labels.iter().map(|code| BundleLabel::code_only(code)).collect())
    }

    /// A checkpoint-style `config.json` (docs/checkpoint-format.md) for the model loader.
    pub fn config_json(&self) -> Vec<u8> {
        let codes: Vec<String> = self.labels.iter().map(|l| l.code.clone()).collect();
        serde_json::to_vec(&checkpoint_config_json(&self.architecture, &codes, &self.icd)).expect("serializes")
    }
}
