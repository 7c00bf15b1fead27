//! `icd-quantize`: checkpoint -> int8 bundle (docs/bundle-format.md).
//!
//! Writes `model.gguf` (encoder linear weights Q8_0, the rest f32), `tokenizer.json` and
//! `manifest.json` (labels with official descriptions and chapters from the code table,
//! sha256 and size of every file, source checkpoint, f32 vs int8 metrics). With `--data`,
//! the int8 model is checked against the f32 one on the test set and the bundle is refused
//! (nothing written, exit 1) when top-1 agreement < 99 % or accuracy drops > 0.5 points.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use icd_core::bundle::{self, BundleMetrics, QuantizeOptions, Source, MANIFEST_FILE};
use icd_core::dataset::{parse_jsonl, Record};
use icd_core::evaluate::{eval_report, eval_truth};
use icd_core::metrics::top_k;
use icd_core::{CodeTable, Coder, Int8Kernel, ModelConfig, Objective};

use rayon::prelude::*;
use tracing::{info, warn};

/// Gate: the int8 bundle must pick the same top code as f32 on this share of notes.
const MIN_AGREEMENT: f64 = 0.99;
/// Gate: the int8 accuracy may be at most this much (absolute, 0.005 = 0.5 points) lower.
const MAX_ACCURACY_DROP: f64 = 0.005;

#[derive(Parser)]
#[command(name = "icd-quantize", version, about = "Export a trained checkpoint as an int8 model bundle")]
struct Cli {
    /// Trainer output folder (config.json, model.safetensors, tokenizer.json)
    #[arg(long)]
    checkpoint: PathBuf,
    /// Bundle folder to write (created; existing bundle files are replaced)
    #[arg(long)]
    out: PathBuf,
    /// Test set (JSONL) for the f32 vs int8 check; without it the bundle has no metrics
    #[arg(long)]
    data: Option<PathBuf>,
    /// Use only the first N notes of --data
    #[arg(long)]
    limit: Option<usize>,
    /// The code table (descriptions and chapters of the labels)
    #[arg(long, env = "ICD_TABLE", default_value = "artifacts/icd10cm.table")]
    table: PathBuf,
    /// Also store the word embeddings as Q8_0 (a much smaller bundle; check the metrics)
    #[arg(long)]
    quantize_embeddings: bool,
    /// Write the bundle even when the f32 vs int8 gate fails (the metrics stay in the manifest)
    #[arg(long)]
    force: bool,
    /// Bundle name in the manifest (default: the checkpoint folder's name)
    #[arg(long)]
    name: Option<String>,
    /// The int8 kernel the gate checks: the integer GEMM (what the browser runs, and `icd`
    /// on x86-64 with AVX2) or the int8 weights widened to f32 (`icd` on other CPUs)
    #[arg(long, value_enum, default_value_t = GateKernel::Browser)]
    gate_kernel: GateKernel,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum GateKernel {
    /// `Int8Kernel::I8Gemm`: the web app, and `icd` on x86-64 with AVX2
    Browser,
    /// `Int8Kernel::Dequantized`: `icd` on CPUs without a vector integer kernel
    #[value(alias = "native")]
    Dequantized,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn main() -> Result<()> {
    icd_console::init_logging("info");
    let cli = Cli::parse();
    let ck = &cli.checkpoint;
    let config = read(&ck.join("config.json"))?;
    let weights = read(&ck.join("model.safetensors"))?;
    let tokenizer = read(&ck.join("tokenizer.json"))?;

    let table_bytes = std::fs::read(&cli.table)
        .with_context(|| format!("reading the code table {} (build it with scripts/setup.sh, or pass --table)", cli.table.display()))?;
    let table = CodeTable::from_bytes(&table_bytes).with_context(|| format!("loading {}", cli.table.display()))?;
    let model_config = ModelConfig::from_json(&config).with_context(|| format!("{}", ck.join("config.json").display()))?;
    let labels = bundle::labels_from_table(&model_config, &table).with_context(|| format!("{}", ck.display()))?;

    let name = cli.name.clone().unwrap_or_else(|| ck.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into()));
    let t = Instant::now();
    let opts = QuantizeOptions { embeddings: cli.quantize_embeddings };
    let mut built = bundle::build(&name, &config, &weights, &tokenizer, Some(labels), opts).with_context(|| format!("quantizing {}", ck.display()))?;
    info!(q8_0 = built.q8_0.len(), f32 = built.f32.len(), "quantized in {:.1} s", t.elapsed().as_secs_f64());
    built.manifest.source =
        Some(Source { checkpoint: ck.display().to_string(), config_sha256: bundle::sha256_hex(&config), weights_sha256: bundle::sha256_hex(&weights) });

    let mut gate_failures: Vec<String> = Vec::new();
    if let Some(data) = &cli.data {
        let text = std::fs::read_to_string(data).with_context(|| format!("reading {}", data.display()))?;
        let mut records = parse_jsonl(&text, &data.display().to_string())?;
        if let Some(n) = cli.limit {
            records.truncate(n);
        }
        let f32 = Coder::from_checkpoint(&config, &weights, &tokenizer)?;
        // By default the gate checks the browser's kernel (integer GEMM, activations quantized
        // too); the dequantized kernel widens the int8 weights to f32 and stays closer to f32.
        let kernel = match cli.gate_kernel {
            GateKernel::Browser => Int8Kernel::I8Gemm,
            GateKernel::Dequantized => Int8Kernel::Dequantized,
        };
        info!(?kernel, "int8 kernel checked by the gate");
        let int8 = Coder::from_bundle_with(&built.manifest_json(), &built.files, kernel)?;
        let metrics = evaluate(&f32, &int8, &records, &data.display().to_string())?;
        print_metrics(&metrics);
        gate_failures = gate(&metrics);
        built.manifest.metrics = Some(metrics);
    } else {
        warn!("no --data: the bundle is written without the f32 vs int8 check");
    }

    let gguf_bytes = built.files[&built.manifest.weights.file].len() as u64;
    let f32_bytes = built.manifest.weights.f32_bytes;
    println!(
        "size: f32 model.safetensors {:.1} MB, int8 model.gguf {:.1} MB ({:.2}x smaller)",
        f32_bytes as f64 / 1e6,
        gguf_bytes as f64 / 1e6,
        f32_bytes as f64 / gguf_bytes as f64
    );
    if !gate_failures.is_empty() && cli.force {
        warn!("int8 gate failed, writing anyway (--force): {}", gate_failures.join("; "));
    } else if !gate_failures.is_empty() {
        bail!("int8 bundle refused, nothing written to {}: {}", cli.out.display(), gate_failures.join("; "));
    }

    std::fs::create_dir_all(&cli.out).with_context(|| format!("creating {}", cli.out.display()))?;
    for (file, bytes) in &built.files {
        let p = cli.out.join(file);
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))?;
    }
    // The manifest last: a bundle with a manifest is complete.
    let p = cli.out.join(MANIFEST_FILE);
    std::fs::write(&p, built.manifest_json()).with_context(|| format!("writing {}", p.display()))?;
    println!("wrote {} ({} labels)", cli.out.display(), built.manifest.labels.len());
    Ok(())
}

/// The int8 gate's verdict: one message per failed condition, empty when the bundle passes.
fn gate(metrics: &BundleMetrics) -> Vec<String> {
    let mut failures = Vec::new();
    let drop = metrics.f32.multiclass.accuracy - metrics.int8.multiclass.accuracy;
    if metrics.top1_agreement < MIN_AGREEMENT {
        failures.push(format!("top-1 agreement {:.2} % is below {:.0} %", metrics.top1_agreement * 100.0, MIN_AGREEMENT * 100.0));
    }
    if drop > MAX_ACCURACY_DROP {
        failures.push(format!(
            "accuracy drops {:.2} points (f32 {:.2} %, int8 {:.2} %), more than {:.1}",
            drop * 100.0,
            metrics.f32.multiclass.accuracy * 100.0,
            metrics.int8.multiclass.accuracy * 100.0,
            MAX_ACCURACY_DROP * 100.0
        ));
    }
    failures
}

/// Scores every note with both models (in parallel) and compares.
fn evaluate(f32: &Coder, int8: &Coder, records: &[Record], test_set: &str) -> Result<BundleMetrics> {
    let labels = int8.labels();
    let truth = eval_truth(labels, records);
    for (i, code) in truth.skipped.iter().take(10) {
        warn!("{test_set}: note {:?}: primary code {code} is not a label of this model; left out", records[*i].id);
    }
    if !truth.skipped.is_empty() {
        warn!("{test_set}: {} of {} notes left out (primary code not a label)", truth.skipped.len(), records.len());
    }
    if truth.used.is_empty() {
        bail!("{test_set}: no note has a primary code among the model's {} labels", labels.len());
    }
    let bar = icd_console::bar(truth.used.len() as u64, "f32 vs int8");
    let rows: Vec<(Vec<f32>, Vec<f32>)> = truth
        .used
        .par_iter()
        .map(|&i| {
            let text = &records[i].text;
            let a = f32.scores(text).with_context(|| format!("note {:?} (f32)", records[i].id))?;
            let b = int8.scores(text).with_context(|| format!("note {:?} (int8)", records[i].id))?;
            bar.inc(1);
            Ok((a, b))
        })
        .collect::<Result<_>>()?;
    bar.finish_and_clear();
    let (sa, sb): (Vec<Vec<f32>>, Vec<Vec<f32>>) = rows.into_iter().unzip();
    let agree = sa.iter().zip(&sb).filter(|(a, b)| top_k(a, 1) == top_k(b, 1)).count();
    let icd = &int8.model().config().icd;
    let threshold = (icd.objective == Objective::Sigmoid).then_some(icd.threshold);
    let n_labels = labels.len();
    Ok(BundleMetrics {
        test_set: test_set.to_string(),
        n: truth.used.len(),
        f32: eval_report(n_labels, &truth, &sa, threshold),
        int8: eval_report(n_labels, &truth, &sb, threshold),
        top1_agreement: agree as f64 / truth.used.len() as f64,
    })
}

fn print_metrics(m: &BundleMetrics) {
    println!("test set {} ({} notes)", m.test_set, m.n);
    println!("{:<22} {:>9} {:>9}", "", "f32", "int8");
    let row = |name: &str, a: f64, b: f64| println!("{name:<22} {:>8.2}% {:>8.2}%", a * 100.0, b * 100.0);
    row("accuracy (primary)", m.f32.multiclass.accuracy, m.int8.multiclass.accuracy);
    row("top-5 accuracy", m.f32.multiclass.top5_accuracy, m.int8.multiclass.top5_accuracy);
    row("macro F1", m.f32.multiclass.macro_f1, m.int8.multiclass.macro_f1);
    if let (Some(a), Some(b)) = (&m.f32.multilabel, &m.int8.multilabel) {
        row("micro F1 (all codes)", a.micro_f1, b.micro_f1);
        row("P@5", a.precision_at_5, b.precision_at_5);
    }
    println!("top-1 agreement        {:>8.2}%", m.top1_agreement * 100.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use icd_core::metrics::MulticlassReport;
    use icd_core::EvalReport;

    fn metrics(f32_acc: f64, int8_acc: f64, agreement: f64) -> BundleMetrics {
        let report = |accuracy| EvalReport {
            multiclass: MulticlassReport {
                n: 100,
                accuracy,
                top5_accuracy: accuracy,
                macro_precision: 0.0,
                macro_recall: 0.0,
                macro_f1: 0.0,
                weighted_precision: 0.0,
                weighted_recall: 0.0,
                weighted_f1: 0.0,
                per_label: Vec::new(),
            },
            multilabel: None,
        };
        BundleMetrics { test_set: "t".into(), n: 100, f32: report(f32_acc), int8: report(int8_acc), top1_agreement: agreement }
    }

    #[test]
    fn the_gate_passes_close_models() {
        assert!(gate(&metrics(0.90, 0.90, 1.0)).is_empty());
        // Just inside the limits: 99 % agreement and a 0.4-point drop pass; int8 may be better.
        assert!(gate(&metrics(0.900, 0.896, 0.99)).is_empty());
        assert!(gate(&metrics(0.80, 0.85, 0.995)).is_empty());
    }

    #[test]
    fn the_gate_refuses_disagreement_and_accuracy_drops() {
        let f = gate(&metrics(0.90, 0.90, 0.985));
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("top-1 agreement 98.50 %"), "{f:?}");
        let f = gate(&metrics(0.90, 0.89, 0.995));
        assert_eq!(f.len(), 1);
        assert!(f[0].contains("accuracy drops 1.00 points"), "{f:?}");
        assert_eq!(gate(&metrics(0.90, 0.80, 0.5)).len(), 2);
    }
}
