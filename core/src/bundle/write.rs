//! The writing side of a bundle: a checkpoint's f32 safetensors -> GGUF (Q8_0 linear
//! weights), and a whole bundle in memory (manifest + files) for `icd-quantize` to write out.

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};

use super::{BundleError, BundleLabel, FileEntry, Manifest, WeightsInfo, FORMAT, FORMAT_VERSION, MODEL_FILE, TOKENIZER_FILE};
use crate::model::{checkpoint_tensors, ModelConfig, ModelError};
use crate::table::CodeTable;

/// Q8_0 packs 32 weights per block: only linear layers whose input size is a multiple of it
/// are quantized (every BERT size is; an odd head stays f32).
pub const Q8_BLOCK: usize = 32;

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

/// A checkpoint's labels with their official descriptions and chapters from the code table,
/// in label-id order (what [`build`] takes); the first code not in the table is an error.
pub fn labels_from_table(config: &ModelConfig, table: &CodeTable) -> Result<Vec<BundleLabel>, BundleError> {
    config
        .labels
        .iter()
        .map(|code| match table.get(code) {
            Some(c) => Ok(BundleLabel { code: code.clone(), description: c.description.clone(), chapter: c.chapter }),
            None => Err(BundleError::UnknownLabel { code: code.clone(), release: table.release.clone() }),
        })
        .collect()
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
    let config = ModelConfig::from_json(config_json)?;
    let (architecture, icd, config_labels) = Manifest::parts_from_config(&config);
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
