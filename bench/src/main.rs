//! `icd-bench`: prints timings; numbers go to BENCHMARKS.md with the command and machine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use icd_core::bundle::Manifest;
use icd_core::{CodeTable, Coder, Int8Kernel, SearchIndex};

#[derive(Parser)]
#[command(name = "icd-bench", about = "Benchmarks (print numbers; no assertions)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Code-table load, search-index build and query latency
    Codes {
        #[arg(long, default_value = "artifacts/icd10cm.table")]
        table: std::path::PathBuf,
        #[arg(long, default_value_t = 20)]
        repeats: usize,
    },
    /// ms per note at 128/256/512 tokens: f32 checkpoint vs int8 bundle, 1 and 2 threads
    Predict {
        /// Bundle folder
        #[arg(long)]
        bundle: PathBuf,
        /// f32 checkpoint to compare with (default: the manifest's source checkpoint, if present)
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        threads: Vec<usize>,
        #[arg(long, value_delimiter = ',', default_value = "128,256,512")]
        tokens: Vec<usize>,
        #[arg(long, default_value_t = 10)]
        repeats: usize,
        /// Internal: run the measurements in this process (the thread count is fixed per process)
        #[arg(long, hide = true)]
        worker: bool,
    },
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Predict { bundle, checkpoint, threads, tokens, repeats, worker } => {
            if worker {
                return predict_worker(&bundle, checkpoint.as_deref(), &tokens, repeats);
            }
            // candle's CPU kernels size their pool once per process: one child per thread count.
            let exe = std::env::current_exe()?;
            println!("ms/note (median of {repeats}), one note = one chunk, scores only (no evidence)");
            for t in threads {
                println!("-- {t} thread(s)");
                let mut cmd = std::process::Command::new(&exe);
                cmd.args(["predict", "--worker", "--repeats", &repeats.to_string(), "--bundle"]).arg(&bundle);
                cmd.arg("--tokens").arg(tokens.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(","));
                if let Some(c) = &checkpoint {
                    cmd.arg("--checkpoint").arg(c);
                }
                let status = cmd.env("RAYON_NUM_THREADS", t.to_string()).status()?;
                if !status.success() {
                    bail!("benchmark worker with {t} thread(s) failed");
                }
            }
            Ok(())
        }
        Command::Codes { table, repeats } => {
            let bytes = std::fs::read(&table).with_context(|| format!("reading {} (run scripts/setup.sh)", table.display()))?;
            let mut load = Vec::new();
            let mut build = Vec::new();
            let mut t = None;
            let mut idx = None;
            for _ in 0..repeats.max(1) {
                let s = Instant::now();
                let tb = CodeTable::from_bytes(&bytes)?;
                load.push(s.elapsed().as_secs_f64() * 1e3);
                let s = Instant::now();
                let ix = SearchIndex::build(&tb);
                build.push(s.elapsed().as_secs_f64() * 1e3);
                t = Some(tb);
                idx = Some(ix);
            }
            let (t, idx) = (t.unwrap(), idx.unwrap());
            println!("table: {} bytes, {} codes", bytes.len(), t.len());
            println!("load (median of {repeats}): {:.1} ms", median_ms(load));
            println!("index build (median): {:.1} ms", median_ms(build));
            for q in ["asthma", "type 2 diabetes with hyperglycemia", "fracture femur", "J45.9"] {
                let mut times = Vec::new();
                for _ in 0..repeats.max(1) {
                    let s = Instant::now();
                    std::hint::black_box(idx.search(&t, q, 25));
                    times.push(s.elapsed().as_secs_f64() * 1e3);
                }
                println!("search {q:?} (median): {:.2} ms", median_ms(times));
            }
            Ok(())
        }
    }
}

fn read(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).with_context(|| format!("reading {}", p.display()))
}

/// A clinical text cut to exactly `n` tokens (so the chunk is `n + 2` ids with [CLS]/[SEP]).
fn note_of(coder: &Coder, n: usize) -> Result<String> {
    let para = "The patient is a 67-year-old man with chronic obstructive pulmonary disease, \
        essential hypertension and type 2 diabetes mellitus who presents with three days of \
        worsening dyspnea, productive cough and wheezing. He denies fever or chest pain. ";
    let long = para.repeat(1 + n / 20);
    let enc = coder.tokenizer().encode(&long)?;
    if enc.len() < n {
        bail!("note too short");
    }
    Ok(long[..enc.offsets[n - 1].1].to_string())
}

fn predict_worker(bundle: &Path, checkpoint: Option<&Path>, tokens: &[usize], repeats: usize) -> Result<()> {
    let manifest_json = read(&bundle.join("manifest.json"))?;
    let manifest = Manifest::from_json(&manifest_json)?;
    let files: HashMap<String, Vec<u8>> = manifest.files.keys().map(|n| Ok((n.clone(), read(&bundle.join(n))?))).collect::<Result<_>>()?;
    let mut coders: Vec<(&str, Coder)> = vec![
        ("int8 (dequantized at load)", Coder::from_bundle_with(&manifest_json, &files, Int8Kernel::Dequantized)?),
        ("int8 (candle QMatMul)", Coder::from_bundle_with(&manifest_json, &files, Int8Kernel::CandleQMatMul)?),
        ("int8 (our i8 gemm)", Coder::from_bundle_with(&manifest_json, &files, Int8Kernel::I8Gemm)?),
    ];
    let ck = checkpoint.map(Path::to_path_buf).or_else(|| manifest.source.as_ref().map(|s| PathBuf::from(&s.checkpoint)));
    match ck {
        Some(ck) if ck.join("model.safetensors").exists() => {
            let f32 = Coder::from_checkpoint(&read(&ck.join("config.json"))?, &read(&ck.join("model.safetensors"))?, &read(&ck.join("tokenizer.json"))?)?;
            coders.insert(0, ("f32 checkpoint", f32));
        }
        _ => println!("(no f32 checkpoint found: pass --checkpoint to compare)"),
    }
    let max = coders[0].1.model().config().icd.max_length;
    for &n in tokens {
        let n = n.min(max) - 2;
        let text = note_of(&coders[0].1, n)?;
        let mut line = format!("{:>4} tokens:", n + 2);
        for (name, c) in &coders {
            c.scores(&text)?; // warm-up
            let mut times = Vec::with_capacity(repeats);
            for _ in 0..repeats.max(1) {
                let s = Instant::now();
                std::hint::black_box(c.scores(&text)?);
                times.push(s.elapsed().as_secs_f64() * 1e3);
            }
            line += &format!("  {name} {:.1}", median_ms(times));
        }
        println!("{line}");
    }
    Ok(())
}
