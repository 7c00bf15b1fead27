//! What a run is told: plain structs with the command line's defaults. `icd-train` parses
//! its flags into them (main.rs); tests and other programs build them directly.

use std::path::PathBuf;

use icd_core::{HeadKind, InputLayout, Objective};
use serde::{Deserialize, Serialize};

/// A fine-tuning run (`icd-train train`); written to `OUT/training_args.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Base model folder (config.json + model.safetensors/pytorch_model.bin + tokenizer.json/vocab.txt).
    pub base: PathBuf,
    /// Folder with train.jsonl, valid.jsonl and test.jsonl.
    pub data: PathBuf,
    /// Label space (TSV of billable codes).
    pub labels: PathBuf,
    /// ICD-10-CM code table, to validate the labels.
    pub table: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    pub head: HeadKind,
    /// Default: softmax for `cls`, sigmoid for `label_attention`.
    pub objective: Option<Objective>,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// Learning rate of the head (default: `lr`).
    pub head_lr: Option<f64>,
    pub max_length: usize,
    /// Tokens shared by consecutive chunks of a long note.
    pub chunk_overlap: usize,
    /// How notes become model input.
    #[serde(default)]
    pub input: InputLayout,
    pub label_attention_dim: usize,
    /// Sigmoid objective: this weight × the cross-entropy of the primary (first-listed) code
    /// among the note's documented codes is added, so it ranks first (0 = off).
    pub primary_weight: f64,
    pub warmup_ratio: f64,
    pub weight_decay: f64,
    /// Max gradient norm (0 = off).
    pub grad_clip: f64,
    pub grad_accum: usize,
    pub seed: u64,
    /// auto, cpu or cuda.
    pub device: String,
    /// Mixed precision on CUDA (libtorch autocast in bfloat16); ignored on CPU.
    pub bf16: bool,
    /// Stop after this many epochs without validation improvement (0 = never).
    pub early_stopping: usize,
    /// Freeze the embeddings and this many lower layers, caching their output (CPU profile).
    pub freeze_layers: usize,
    /// Keep only the base model's first N encoder layers (0 = all).
    pub encoder_layers: usize,
    /// Use only the first N training notes (0 = all).
    pub limit_train: usize,
    /// Use only the first N validation and N test notes (0 = all).
    pub limit_eval: usize,
    pub eval_batch_size: usize,
    /// CPU threads for libtorch (0 = libtorch's default).
    pub threads: i32,
    /// Warm start from a trained model: a checkpoint folder, or an int8 bundle (dequantized).
    /// It must have this run's head, shape and labels.
    #[serde(default)]
    pub init: Option<PathBuf>,
    /// Continue from `OUT/checkpoint-last`.
    pub resume: bool,
    /// Also checkpoint within an epoch every N minutes (0 = only at epoch ends).
    pub checkpoint_minutes: f64,
    /// Stop after this many optimizer steps in all, checkpointed for `resume` (0 = run to the end).
    pub max_steps: usize,
}

impl Default for TrainConfig {
    /// The original design's recipe (batch 16, lr 5e-5, 5 epochs, 512 tokens) on the
    /// set-up's base model and data; `out` must be set.
    fn default() -> Self {
        Self {
            base: "models/all-MiniLM-L6-v2".into(),
            data: "artifacts/data".into(),
            labels: "labels/default-codes.tsv".into(),
            table: "artifacts/icd10cm.table".into(),
            out: PathBuf::new(),
            head: HeadKind::Cls,
            objective: None,
            epochs: 5,
            batch_size: 16,
            lr: 5e-5,
            head_lr: None,
            max_length: 512,
            chunk_overlap: 0,
            input: InputLayout::default(),
            label_attention_dim: 256,
            primary_weight: 0.0,
            warmup_ratio: 0.1,
            weight_decay: 0.01,
            grad_clip: 1.0,
            grad_accum: 1,
            seed: 42,
            device: "auto".into(),
            bf16: false,
            early_stopping: 0,
            freeze_layers: 0,
            encoder_layers: 0,
            limit_train: 0,
            limit_eval: 0,
            eval_batch_size: 32,
            threads: 0,
            init: None,
            resume: false,
            checkpoint_minutes: 30.0,
            max_steps: 0,
        }
    }
}

impl TrainConfig {
    /// The objective this run trains: the given one, else the head's natural one.
    pub fn objective(&self) -> Objective {
        self.objective.unwrap_or(match self.head {
            HeadKind::Cls => Objective::Softmax,
            HeadKind::LabelAttention => Objective::Sigmoid,
        })
    }
}

/// Evaluating a checkpoint on a JSONL file (`icd-train eval`).
#[derive(Debug, Clone)]
pub struct EvalConfig {
    /// Checkpoint folder written by a training run.
    pub checkpoint: PathBuf,
    /// JSONL file to evaluate.
    pub data: PathBuf,
    pub device: String,
    pub batch_size: usize,
    /// Write the report as JSON here.
    pub json: Option<PathBuf>,
}

/// Training throughput on random weights (`icd-train bench`).
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// bert-base, minilm-l6 or tiny.
    pub shape: String,
    pub seq: usize,
    pub batch: usize,
    pub warmup_steps: usize,
    pub steps: usize,
    pub device: String,
    pub bf16: bool,
    pub threads: i32,
    pub head: HeadKind,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self { shape: "minilm-l6".into(), seq: 128, batch: 16, warmup_steps: 3, steps: 10, device: "auto".into(), bf16: false, threads: 0, head: HeadKind::Cls }
    }
}
