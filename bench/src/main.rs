//! `icd-bench`: prints timings; numbers go to BENCHMARKS.md with the command and machine.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use icd_core::{CodeTable, SearchIndex};

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
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    match Cli::parse().command {
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
