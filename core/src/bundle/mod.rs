//! The int8 model bundle the browser and `icd predict` load (see `docs/bundle-format.md`).
//!
//! A bundle is `manifest.json` ([`crate::schema::manifest`]), `model.gguf` (Q8_0 linear
//! weights, f32 rest) and `tokenizer.json`. Callers read the files (core does no I/O) and hand
//! the bytes over: [`verify`] checks every listed file's byte count and sha256 before anything
//! is parsed, [`crate::Coder::from_bundle`] verifies and loads. [`write`] is the writing side
//! (GGUF, a whole bundle in memory), used by `icd-quantize` and the test fixtures.

pub mod write;

use std::collections::HashMap;

use crate::model::ModelError;
pub use crate::schema::manifest::{sha256_hex, BundleLabel, BundleMetrics, FileEntry, Manifest, ManifestError, Source, WeightsInfo};
pub use crate::schema::manifest::{FORMAT, FORMAT_VERSION, MANIFEST_FILE, MODEL_FILE, TOKENIZER_FILE};
use crate::tokenize::TokenizeError;
pub use write::{build, is_linear_weight, labels_from_table, quantize_gguf, BuiltBundle, QuantizeOptions, QuantizedGguf, Q8_BLOCK};

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
    #[error("config.json: label {code:?} is not an ICD-10-CM code in {release}")]
    UnknownLabel { code: String, release: String },
}

impl From<ManifestError> for BundleError {
    fn from(e: ManifestError) -> Self {
        match e {
            ManifestError::Invalid(m) => BundleError::Manifest(m),
            ManifestError::Format { found, version } => BundleError::Format { found, version },
        }
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
