//! `icd-train`: fine-tune a BERT-family encoder on ICD-10-CM coded notes.

use anyhow::Result;
use clap::{Parser, Subcommand};
use icd_trainer::{bench, train};

#[derive(Parser)]
#[command(name = "icd-train", version, about = "Fine-tune a BERT-family encoder for ICD-10-CM coding (tch/libtorch, CUDA or CPU)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fine-tune on train.jsonl, pick the best epoch on valid.jsonl, report on test.jsonl
    Train(Box<train::TrainArgs>),
    /// Evaluate a checkpoint on a JSONL file
    Eval(train::EvalArgs),
    /// Training throughput with random weights and inputs (samples/s); prints numbers only
    Bench(bench::BenchArgs),
    /// Show the libtorch build and the devices it can use
    Devices,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Train(args) => train::run(&args),
        Command::Eval(args) => train::eval(&args).map(|_| ()),
        Command::Bench(args) => bench::run(&args),
        Command::Devices => {
            println!("cuda available: {}", tch::Cuda::is_available());
            println!("cuda devices: {}", tch::Cuda::device_count());
            println!("cpu threads: {}", tch::get_num_threads());
            Ok(())
        }
    }
}
