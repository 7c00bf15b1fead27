//! `icd-train`: fine-tune a BERT-family encoder on ICD-10-CM coded notes.
//!
//! The flags below parse into the library's plain config structs (`icd_trainer::config`);
//! their defaults are the structs' own.
#![forbid(unsafe_code)]

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use icd_core::{HeadKind, InputLayout, Objective};
use icd_trainer::config::{BenchConfig, EvalConfig, TrainConfig};
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
    Train(Box<TrainArgs>),
    /// Evaluate a checkpoint on a JSONL file
    Eval(EvalArgs),
    /// Training throughput with random weights and inputs (samples/s); prints numbers only
    Bench(BenchArgs),
    /// Show the libtorch build and the devices it can use
    Devices,
}

fn t() -> TrainConfig {
    TrainConfig::default()
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// Base model folder (config.json + model.safetensors/pytorch_model.bin + tokenizer.json/vocab.txt)
    #[arg(long, default_value_os_t = t().base)]
    base: PathBuf,
    /// Folder with train.jsonl, valid.jsonl and test.jsonl
    #[arg(long, default_value_os_t = t().data)]
    data: PathBuf,
    /// Label space (TSV of billable codes)
    #[arg(long, default_value_os_t = t().labels)]
    labels: PathBuf,
    /// ICD-10-CM code table, to validate the labels
    #[arg(long, default_value_os_t = t().table)]
    table: PathBuf,
    /// Output folder
    #[arg(long)]
    out: PathBuf,
    /// `cls` or `label-attention`
    #[arg(long, default_value_t = t().head)]
    head: HeadKind,
    /// `softmax` or `sigmoid`; default: softmax for `cls`, sigmoid for `label-attention`
    #[arg(long)]
    objective: Option<Objective>,
    #[arg(long, default_value_t = t().epochs)]
    epochs: usize,
    #[arg(long, default_value_t = t().batch_size)]
    batch_size: usize,
    #[arg(long, default_value_t = t().lr)]
    lr: f64,
    /// Learning rate of the head (default: --lr)
    #[arg(long)]
    head_lr: Option<f64>,
    #[arg(long, default_value_t = t().max_length)]
    max_length: usize,
    /// Tokens shared by consecutive chunks of a long note
    #[arg(long, default_value_t = t().chunk_overlap)]
    chunk_overlap: usize,
    /// How notes become model input: `windows` (the whole note in windows), or
    /// `diagnostic-first` (a window of the chart's diagnostic sections, then the windows)
    #[arg(long, default_value_t = t().input)]
    input: InputLayout,
    #[arg(long, default_value_t = t().label_attention_dim)]
    label_attention_dim: usize,
    /// Sigmoid objective: add this weight × the cross-entropy of the primary (first-listed)
    /// code among the note's documented codes, so it ranks first (0 = off)
    #[arg(long, default_value_t = t().primary_weight)]
    primary_weight: f64,
    #[arg(long, default_value_t = t().warmup_ratio)]
    warmup_ratio: f64,
    #[arg(long, default_value_t = t().weight_decay)]
    weight_decay: f64,
    /// Max gradient norm (0 = off)
    #[arg(long, default_value_t = t().grad_clip)]
    grad_clip: f64,
    #[arg(long, default_value_t = t().grad_accum)]
    grad_accum: usize,
    #[arg(long, default_value_t = t().seed)]
    seed: u64,
    /// auto, cpu or cuda
    #[arg(long, default_value_t = t().device)]
    device: String,
    /// Mixed precision on CUDA (libtorch autocast in bfloat16); ignored on CPU
    #[arg(long)]
    bf16: bool,
    /// Stop after this many epochs without validation improvement (0 = never)
    #[arg(long, default_value_t = t().early_stopping)]
    early_stopping: usize,
    /// Freeze the embeddings and this many lower layers, caching their output (CPU profile)
    #[arg(long, default_value_t = t().freeze_layers)]
    freeze_layers: usize,
    /// Keep only the base model's first N encoder layers (0 = all): a smaller, faster model
    #[arg(long, default_value_t = t().encoder_layers)]
    encoder_layers: usize,
    /// Use only the first N training notes (0 = all)
    #[arg(long, default_value_t = t().limit_train)]
    limit_train: usize,
    /// Use only the first N validation and N test notes (0 = all)
    #[arg(long, default_value_t = t().limit_eval)]
    limit_eval: usize,
    #[arg(long, default_value_t = t().eval_batch_size)]
    eval_batch_size: usize,
    /// CPU threads for libtorch (0 = libtorch's default)
    #[arg(long, default_value_t = t().threads)]
    threads: i32,
    /// Start from a trained model instead of the base model's weights alone (a warm start):
    /// a checkpoint folder (model.safetensors), or an int8 bundle (manifest.json; its weights
    /// are dequantized). It must have this run's encoder shape and labels; a model with another
    /// head gives only its encoder, and this run's head starts fresh
    #[arg(long)]
    init: Option<PathBuf>,
    /// Continue from OUT/checkpoint-last
    #[arg(long)]
    resume: bool,
    /// Also checkpoint within an epoch every N minutes (0 = only at epoch ends)
    #[arg(long, default_value_t = t().checkpoint_minutes)]
    checkpoint_minutes: f64,
    /// Stop after this many optimizer steps in all, checkpointed for --resume (0 = run to the end)
    #[arg(long, default_value_t = t().max_steps)]
    max_steps: usize,
}

impl From<TrainArgs> for TrainConfig {
    fn from(a: TrainArgs) -> Self {
        Self {
            base: a.base,
            data: a.data,
            labels: a.labels,
            table: a.table,
            out: a.out,
            head: a.head,
            objective: a.objective,
            epochs: a.epochs,
            batch_size: a.batch_size,
            lr: a.lr,
            head_lr: a.head_lr,
            max_length: a.max_length,
            chunk_overlap: a.chunk_overlap,
            input: a.input,
            label_attention_dim: a.label_attention_dim,
            primary_weight: a.primary_weight,
            warmup_ratio: a.warmup_ratio,
            weight_decay: a.weight_decay,
            grad_clip: a.grad_clip,
            grad_accum: a.grad_accum,
            seed: a.seed,
            device: a.device,
            bf16: a.bf16,
            early_stopping: a.early_stopping,
            freeze_layers: a.freeze_layers,
            encoder_layers: a.encoder_layers,
            limit_train: a.limit_train,
            limit_eval: a.limit_eval,
            eval_batch_size: a.eval_batch_size,
            threads: a.threads,
            init: a.init,
            resume: a.resume,
            checkpoint_minutes: a.checkpoint_minutes,
            max_steps: a.max_steps,
        }
    }
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Checkpoint folder written by `icd-train train`
    #[arg(long)]
    checkpoint: PathBuf,
    /// JSONL file to evaluate
    #[arg(long)]
    data: PathBuf,
    #[arg(long, default_value = "auto")]
    device: String,
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Write the report as JSON here
    #[arg(long)]
    json: Option<PathBuf>,
}

fn b() -> BenchConfig {
    BenchConfig::default()
}

#[derive(Debug, Args)]
struct BenchArgs {
    /// bert-base, minilm-l6 or tiny
    #[arg(long, default_value_t = b().shape)]
    shape: String,
    #[arg(long, default_value_t = b().seq)]
    seq: usize,
    #[arg(long, default_value_t = b().batch)]
    batch: usize,
    #[arg(long, default_value_t = b().warmup_steps)]
    warmup_steps: usize,
    #[arg(long, default_value_t = b().steps)]
    steps: usize,
    #[arg(long, default_value_t = b().device)]
    device: String,
    #[arg(long)]
    bf16: bool,
    #[arg(long, default_value_t = b().threads)]
    threads: i32,
    #[arg(long, default_value_t = b().head)]
    head: HeadKind,
}

fn main() -> Result<()> {
    icd_console::init_logging("info");
    match Cli::parse().command {
        Command::Train(args) => train::run(&TrainConfig::from(*args)),
        Command::Eval(a) => {
            train::eval(&EvalConfig { checkpoint: a.checkpoint, data: a.data, device: a.device, batch_size: a.batch_size, json: a.json }).map(|_| ())
        }
        Command::Bench(a) => bench::run(&BenchConfig {
            shape: a.shape,
            seq: a.seq,
            batch: a.batch,
            warmup_steps: a.warmup_steps,
            steps: a.steps,
            device: a.device,
            bf16: a.bf16,
            threads: a.threads,
            head: a.head,
        }),
        Command::Devices => {
            println!("cuda available: {}", tch::Cuda::is_available());
            println!("cuda devices: {}", tch::Cuda::device_count());
            println!("cpu threads: {}", tch::get_num_threads());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags' defaults are the config's: parsing only `--out` gives `TrainConfig::default()`
    /// with that folder (compared through its JSON, training_args.json's form).
    #[test]
    fn flag_defaults_are_the_config_defaults() {
        let Command::Train(args) = Cli::parse_from(["icd-train", "train", "--out", "x"]).command else { panic!("train") };
        let got = serde_json::to_value(TrainConfig::from(*args)).unwrap();
        let want = serde_json::to_value(TrainConfig { out: "x".into(), ..TrainConfig::default() }).unwrap();
        assert_eq!(got, want);
        let Command::Train(args) = Cli::parse_from(["icd-train", "train", "--out", "x", "--head", "label-attention", "--input", "diagnostic-first"]).command
        else {
            panic!("train")
        };
        let c = TrainConfig::from(*args);
        assert_eq!((c.head, c.input, c.objective()), (HeadKind::LabelAttention, InputLayout::DiagnosticFirst, Objective::Sigmoid));
    }
}
