//! `icd-quantize`: checkpoint -> int8 bundle. The bundle format lands with issue #4;
//! until then this command refuses to run rather than write something half-made.

use anyhow::{bail, Result};
use clap::Parser;

#[derive(Parser)]
#[command(name = "icd-quantize", version, about = "Export a trained checkpoint as an int8 model bundle")]
struct Cli {
    /// Trainer output folder (config.json, model.safetensors, tokenizer.json, labels.tsv)
    #[arg(long)]
    checkpoint: std::path::PathBuf,
    /// Bundle folder to write
    #[arg(long)]
    out: std::path::PathBuf,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    bail!("icd-quantize: bundle export is not implemented yet (issue #4); nothing written for {} -> {}", cli.checkpoint.display(), cli.out.display())
}
