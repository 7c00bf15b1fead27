//! Builds a model bundle from a checkpoint folder, for trying the web app before the real
//! bundle exists (the real one comes from `icd-quantize`, docs/bundle-format.md):
//!
//! ```sh
//! cargo run -p icd-web --example test_bundle -- artifacts/test-checkpoints/cls /tmp/test-bundle
//! cd web && ICD_BUNDLE_DIR=/tmp/test-bundle trunk build --release --dist /tmp/site-with-model
//! ICD_DIST=/tmp/site-with-model scripts/e2e.sh
//! ```
//! Descriptions and chapters come from `artifacts/icd10cm.table`.

use std::path::PathBuf;

use icd_core::bundle::{self, QuantizeOptions};
use icd_core::{CodeTable, ModelConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [checkpoint, out] = args.as_slice() else {
        return Err("usage: test_bundle CHECKPOINT_DIR OUT_DIR".into());
    };
    let (checkpoint, out) = (PathBuf::from(checkpoint), PathBuf::from(out));
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let table = CodeTable::from_bytes(&std::fs::read(root.join("artifacts/icd10cm.table"))?)?;
    let config = std::fs::read(checkpoint.join("config.json"))?;
    let labels = bundle::labels_from_table(&ModelConfig::from_json(&config)?, &table)?;
    let name = checkpoint.file_name().map_or("test".into(), |n| format!("test-{}", n.to_string_lossy()));
    let built = bundle::build(
        &name,
        &config,
        &std::fs::read(checkpoint.join("model.safetensors"))?,
        &std::fs::read(checkpoint.join("tokenizer.json"))?,
        Some(labels),
        QuantizeOptions::default(),
    )?;
    std::fs::create_dir_all(&out)?;
    for (name, bytes) in &built.files {
        std::fs::write(out.join(name), bytes)?;
    }
    std::fs::write(out.join("manifest.json"), built.manifest_json())?;
    println!("wrote {} ({} labels)", out.display(), built.manifest.labels.len());
    Ok(())
}
