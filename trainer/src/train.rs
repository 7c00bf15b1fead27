//! The training loop: AdamW with linear warm-up and decay, gradient clipping and
//! accumulation, per-epoch validation, early stopping, a checkpoint every epoch and
//! every `--checkpoint-minutes` within one (weights, optimizer moments and the batch
//! cursor, so `--resume` continues where the run stopped).
//!
//! `--freeze-layers K` freezes the embeddings and the first K layers and caches their
//! output once, so each epoch only runs the upper layers and the head: the CPU profile.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use icd_core::metrics;
use icd_core::{CodeTable, InputLayout, LabelSpace};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::base::{self, BaseModel};
use crate::checkpoint;
use crate::data::{self, Example};
use crate::dropout;
use crate::model::{Batch, HeadKind, IcdModel, IcdSettings, Objective};
use crate::optim::AdamW;

/// Per-note label scores `[n][L]` and each note's gold label ids.
pub type ScoresAndGold = (Vec<Vec<f32>>, Vec<Vec<usize>>);

#[derive(Debug, Clone, Serialize, Deserialize, clap::Args)]
pub struct TrainArgs {
    /// Base model folder (config.json + model.safetensors/pytorch_model.bin + tokenizer.json/vocab.txt)
    #[arg(long, default_value = "models/all-MiniLM-L6-v2")]
    pub base: PathBuf,
    /// Folder with train.jsonl, valid.jsonl and test.jsonl
    #[arg(long, default_value = "artifacts/data")]
    pub data: PathBuf,
    /// Label space (TSV of billable codes)
    #[arg(long, default_value = "labels/default-codes.tsv")]
    pub labels: PathBuf,
    /// ICD-10-CM code table, to validate the labels
    #[arg(long, default_value = "artifacts/icd10cm.table")]
    pub table: PathBuf,
    /// Output folder
    #[arg(long)]
    pub out: PathBuf,
    /// `cls` or `label-attention`
    #[arg(long, default_value = "cls")]
    pub head: HeadKind,
    /// `softmax` or `sigmoid`; default: softmax for `cls`, sigmoid for `label-attention`
    #[arg(long)]
    pub objective: Option<Objective>,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    /// Learning rate of the head (default: --lr)
    #[arg(long)]
    pub head_lr: Option<f64>,
    #[arg(long, default_value_t = 512)]
    pub max_length: usize,
    /// Tokens shared by consecutive chunks of a long note
    #[arg(long, default_value_t = 0)]
    pub chunk_overlap: usize,
    /// How notes become model input: `windows` (the whole note in windows), or
    /// `diagnostic-first` (a window of the chart's diagnostic sections, then the windows)
    #[arg(long, default_value = "windows")]
    #[serde(default)]
    pub input: InputLayout,
    #[arg(long, default_value_t = 256)]
    pub label_attention_dim: usize,
    /// Sigmoid objective: add this weight × the cross-entropy of the primary (first-listed)
    /// code among the note's documented codes, so it ranks first (0 = off)
    #[arg(long, default_value_t = 0.0)]
    pub primary_weight: f64,
    #[arg(long, default_value_t = 0.1)]
    pub warmup_ratio: f64,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Max gradient norm (0 = off)
    #[arg(long, default_value_t = 1.0)]
    pub grad_clip: f64,
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// auto, cpu or cuda
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Mixed precision on CUDA (libtorch autocast in bfloat16); ignored on CPU
    #[arg(long)]
    pub bf16: bool,
    /// Stop after this many epochs without validation improvement (0 = never)
    #[arg(long, default_value_t = 0)]
    pub early_stopping: usize,
    /// Freeze the embeddings and this many lower layers, caching their output (CPU profile)
    #[arg(long, default_value_t = 0)]
    pub freeze_layers: usize,
    /// Keep only the base model's first N encoder layers (0 = all): a smaller, faster model
    #[arg(long, default_value_t = 0)]
    pub encoder_layers: usize,
    /// Use only the first N training notes (0 = all)
    #[arg(long, default_value_t = 0)]
    pub limit_train: usize,
    /// Use only the first N validation and N test notes (0 = all)
    #[arg(long, default_value_t = 0)]
    pub limit_eval: usize,
    #[arg(long, default_value_t = 32)]
    pub eval_batch_size: usize,
    /// CPU threads for libtorch (0 = libtorch's default)
    #[arg(long, default_value_t = 0)]
    pub threads: i32,
    /// Start from a trained model instead of the base model's weights alone (a warm start):
    /// a checkpoint folder (model.safetensors), or an int8 bundle (manifest.json; its weights
    /// are dequantized). It must have this run's head, shape and labels
    #[arg(long)]
    #[serde(default)]
    pub init: Option<PathBuf>,
    /// Continue from OUT/checkpoint-last
    #[arg(long)]
    pub resume: bool,
    /// Also checkpoint within an epoch every N minutes (0 = only at epoch ends)
    #[arg(long, default_value_t = 30.0)]
    pub checkpoint_minutes: f64,
    /// Stop after this many optimizer steps in all, checkpointed for --resume (0 = run to the end)
    #[arg(long, default_value_t = 0)]
    pub max_steps: usize,
}

#[derive(Debug, Clone, clap::Args)]
pub struct EvalArgs {
    /// Checkpoint folder written by `icd-train train`
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// JSONL file to evaluate
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long, default_value = "auto")]
    pub device: String,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Write the report as JSON here
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Evaluates a checkpoint on a JSONL file, with the checkpoint's own threshold.
pub fn eval(a: &EvalArgs) -> Result<EvalReport> {
    let device = base::device(&a.device)?;
    let (tr, tok) = checkpoint::load(&a.checkpoint, device)?;
    let set = data::load_split(&a.data, &tr.labels, &tok, &tr.model.settings)?;
    let report = tr.evaluate(&set, None, a.batch_size, Some(tr.model.settings.threshold))?;
    let p = &report.multiclass;
    println!(
        "{} notes: accuracy {:.2} %, top-5 {:.2} %, macro F1 {:.2} %, weighted F1 {:.2} %{}",
        p.n,
        100.0 * p.accuracy,
        100.0 * p.top5_accuracy,
        100.0 * p.macro_f1,
        100.0 * p.weighted_f1,
        report.multilabel.as_ref().map(|m| format!(", micro-F1 {:.2} %", 100.0 * m.micro_f1)).unwrap_or_default()
    );
    if let Some(path) = &a.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(report)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f64,
    pub seconds: f64,
    pub samples_per_s: f64,
    pub valid: EvalReport,
}

pub use icd_core::EvalReport;

#[derive(Debug, Serialize, Deserialize)]
struct ResumeState {
    epochs_done: usize,
    step: usize,
    /// Best validation key so far (none before the first epoch ends).
    best: Option<f64>,
    best_epoch: usize,
    bad_epochs: usize,
    log: Vec<EpochLog>,
    /// Within epoch `epochs_done + 1`: batches done and the running totals.
    #[serde(default)]
    partial: Option<PartialEpoch>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PartialEpoch {
    batches_done: usize,
    loss_sum: f64,
    loss_n: usize,
    seen: usize,
    seconds: f64,
}

/// Output of the frozen lower layers for each example: [chunks, T_note, H] (f16 on CPU).
pub struct FrozenCache {
    layers: usize,
    hidden: Vec<Tensor>,
}

pub struct Trainer {
    pub model: IcdModel,
    pub vs: nn::VarStore,
    pub device: Device,
    pub labels: LabelSpace,
    pub pad_id: u32,
    pub autocast: bool,
}

pub fn run(args: &TrainArgs) -> Result<()> {
    let t0 = Instant::now();
    if args.threads > 0 {
        tch::set_num_threads(args.threads);
    }
    tch::manual_seed(args.seed as i64);
    let device = base::device(&args.device)?;
    let table_bytes = std::fs::read(&args.table).with_context(|| format!("reading {} (run scripts/setup.sh)", args.table.display()))?;
    let table = CodeTable::from_bytes(&table_bytes)?;
    let label_text = std::fs::read_to_string(&args.labels).with_context(|| format!("reading {}", args.labels.display()))?;
    let labels = LabelSpace::parse_tsv(&label_text, &table, &args.labels.display().to_string())?;
    let mut base = BaseModel::load(&args.base)?;
    if args.encoder_layers > 0 {
        if args.encoder_layers > base.config.num_hidden_layers {
            bail!("--encoder-layers {}: the base model has only {} layers", args.encoder_layers, base.config.num_hidden_layers);
        }
        base.config.num_hidden_layers = args.encoder_layers;
    }
    if args.max_length > base.config.max_position_embeddings {
        bail!("--max-length {} exceeds the base model's max_position_embeddings {}", args.max_length, base.config.max_position_embeddings);
    }
    let settings = IcdSettings {
        head: args.head,
        objective: args.objective.unwrap_or(match args.head {
            HeadKind::Cls => Objective::Softmax,
            HeadKind::LabelAttention => Objective::Sigmoid,
        }),
        max_length: args.max_length,
        chunk_overlap: args.chunk_overlap,
        label_attention_dim: (args.head == HeadKind::LabelAttention).then_some(args.label_attention_dim),
        threshold: 0.5,
        base_model: Some(base.name.clone()),
        input: args.input,
    };
    if args.primary_weight != 0.0 && (settings.objective != Objective::Sigmoid || args.primary_weight.is_nan() || args.primary_weight <= 0.0) {
        bail!("--primary-weight {} needs the sigmoid objective and a positive weight (softmax already trains on the primary code)", args.primary_weight);
    }

    let tok = &base.tokenizer;
    let load = |name: &str| data::load_split(&args.data.join(name), &labels, tok, &settings);
    let mut train = load("train.jsonl")?;
    if args.limit_train > 0 {
        train.truncate(args.limit_train);
    }
    let mut valid = load("valid.jsonl")?;
    let mut test = load("test.jsonl")?;
    if args.limit_eval > 0 {
        valid.truncate(args.limit_eval);
        test.truncate(args.limit_eval);
    }
    tracing::info!(train = train.len(), valid = valid.len(), test = test.len(), labels = labels.len(), ?device, "data loaded");

    let vs = nn::VarStore::new(device);
    let model = IcdModel::new(&vs.root(), &base.config, &settings, labels.len() as i64);
    let copied = base.copy_into(&vs.variables())?;
    tracing::info!(tensors = copied, base = %base.dir.display(), "base weights loaded");
    let mut tr = Trainer { model, vs, device, labels, pad_id: tok.pad_id(), autocast: args.bf16 && device.is_cuda() };
    if let (Some(init), false) = (&args.init, args.resume) {
        let n = checkpoint::init_from(&mut tr.vs, init, &tr.labels)?;
        tracing::info!(tensors = n, init = %init.display(), "warm start");
    }

    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let last = args.out.join("checkpoint-last");
    let mut state = ResumeState { epochs_done: 0, step: 0, best: None, best_epoch: 0, bad_epochs: 0, log: Vec::new(), partial: None };
    if args.resume {
        let s = std::fs::read(last.join("state.json")).with_context(|| format!("--resume: no checkpoint in {}", last.display()))?;
        state = serde_json::from_slice(&s).context("--resume: state.json is corrupt")?;
        checkpoint::load_weights(&mut tr.vs, &last.join("model.safetensors"))?;
    }

    let frozen = args.freeze_layers.min(tr.model.bert.num_layers());
    let cache = if frozen > 0 {
        freeze(&tr.vs, frozen);
        let pb = progress(train.len() + valid.len() + test.len(), "caching frozen layers");
        let c = [&train, &valid, &test].map(|set| tr.build_cache(set, frozen, args.eval_batch_size, &pb));
        pb.finish_and_clear();
        let tokens: usize = [&train, &valid, &test].iter().flat_map(|s| s.iter()).map(Example::tokens).sum();
        let secs = t0.elapsed().as_secs_f64();
        tracing::info!(layers = frozen, seconds = secs, tokens, tokens_per_s = tokens as f64 / secs, "frozen layers cached");
        Some(c)
    } else {
        None
    };
    let cache_of = |i: usize| cache.as_ref().map(|c| &c[i]);

    let mut opt = AdamW::new(&tr.vs, args.weight_decay);
    if args.resume {
        let path = last.join("optimizer.safetensors");
        if path.exists() {
            opt.load(&path, state.step as u64)?;
            let batches = state.partial.as_ref().map_or(0, |p| p.batches_done);
            tracing::info!(epochs_done = state.epochs_done, batches, step = state.step, "resumed");
        } else {
            // Checkpoints from before the optimizer state was saved.
            tracing::warn!(epochs_done = state.epochs_done, "resumed without optimizer state: the moments restart");
        }
    }
    let head_lr = args.head_lr.unwrap_or(args.lr);
    let steps_per_epoch = train.len().div_ceil(args.batch_size * args.grad_accum.max(1));
    let total_steps = (steps_per_epoch * args.epochs).max(1);
    let warmup = ((total_steps as f64) * args.warmup_ratio).round() as usize;
    let schedule = |step: usize| -> f64 {
        if step < warmup {
            (step + 1) as f64 / warmup as f64
        } else {
            ((total_steps - step) as f64 / (total_steps - warmup).max(1) as f64).max(0.0)
        }
    };
    std::fs::write(args.out.join("training_args.json"), serde_json::to_string_pretty(args)?)?;

    let mut step = state.step;
    let every = std::time::Duration::from_secs_f64(args.checkpoint_minutes.max(0.0) * 60.0);
    let mut last_save = Instant::now();
    for epoch in state.epochs_done + 1..=args.epochs {
        let batches = data::bucketed_batches(&train, args.batch_size, args.seed.wrapping_add(epoch as u64));
        let mut part = state.partial.take().unwrap_or_default();
        let (te, before) = (Instant::now(), part.seconds);
        let epoch_secs = || before + te.elapsed().as_secs_f64();
        let pb = progress(train.len(), &format!("epoch {epoch}/{}", args.epochs));
        pb.set_position(part.seen as u64);
        let accum = args.grad_accum.max(1);
        opt.zero_grad();
        for (bi, idx) in batches.iter().enumerate().skip(part.batches_done) {
            // Masks depend on (seed, batch), so a resumed run draws what the first one would have.
            dropout::begin_step(args.seed, ((epoch - 1) * batches.len() + bi) as u64);
            let loss = tr.autocast_scope(|| {
                let (hidden, batch) = tr.hidden(&train, idx, cache_of(0), true);
                let (logits, _) = tr.model.head_forward(&hidden, &batch, true);
                let targets = tr.targets(&train, idx);
                let loss = tr.model.loss(&logits, &targets);
                if args.primary_weight > 0.0 && tr.model.settings.objective == Objective::Sigmoid {
                    let primary: Vec<i64> = idx.iter().map(|&i| train[i].labels[0] as i64).collect();
                    let primary = Tensor::from_slice(&primary).to(tr.device);
                    loss + IcdModel::primary_loss(&logits, &targets, &primary) * args.primary_weight
                } else {
                    loss
                }
            });
            let loss_value = loss.double_value(&[]);
            if !loss_value.is_finite() {
                bail!("epoch {epoch}, batch {bi}: loss is {loss_value}; lower --lr or check the data");
            }
            (loss / accum as f64).backward();
            part.loss_sum += loss_value;
            part.loss_n += 1;
            part.seen += idx.len();
            if (bi + 1) % accum == 0 || bi + 1 == batches.len() {
                let f = schedule(step.min(total_steps - 1));
                opt.step([args.lr * f, head_lr * f], args.grad_clip);
                step += 1;
                part.batches_done = bi + 1;
                let stop = args.max_steps > 0 && step >= args.max_steps;
                if (stop || (!every.is_zero() && last_save.elapsed() >= every)) && bi + 1 < batches.len() {
                    part.seconds = epoch_secs();
                    state.step = step;
                    state.partial = Some(part.clone());
                    save_last(&last, &tr, tok, &opt, &state)?;
                    state.partial = None;
                    last_save = Instant::now();
                    // Through tracing, not the progress bar: the bar is hidden when stderr is a log file.
                    tracing::info!(epoch, batch = bi + 1, of = batches.len(), "checkpoint inside the epoch");
                    if stop {
                        pb.finish_and_clear();
                        println!("stopped after {step} steps (--max-steps); --resume continues from {}", last.display());
                        return Ok(());
                    }
                }
            }
            pb.set_position(part.seen as u64);
            pb.set_message(format!("loss {:.4} · {:.1} samples/s", part.loss_sum / part.loss_n as f64, (part.seen as f64) / epoch_secs()));
        }
        let (loss_sum, loss_n, seen) = (part.loss_sum, part.loss_n, part.seen);
        pb.finish_and_clear();
        let train_secs = epoch_secs();
        let valid_report = tr.evaluate(&valid, cache_of(1), args.eval_batch_size, None)?;
        let entry =
            EpochLog { epoch, train_loss: loss_sum / loss_n.max(1) as f64, seconds: train_secs, samples_per_s: seen as f64 / train_secs, valid: valid_report };
        println!(
            "epoch {epoch}: loss {:.4}, valid accuracy {:.2} %, macro-F1 {:.2} %{}, {:.0} s ({:.1} samples/s)",
            entry.train_loss,
            100.0 * entry.valid.multiclass.accuracy,
            100.0 * entry.valid.multiclass.macro_f1,
            entry.valid.multilabel.as_ref().map(|m| format!(", micro-F1 {:.2} %", 100.0 * m.micro_f1)).unwrap_or_default(),
            train_secs,
            entry.samples_per_s
        );
        let improved = state.best.is_none_or(|b| entry.valid.key() > b);
        if improved {
            state.best = Some(entry.valid.key());
            state.best_epoch = epoch;
            state.bad_epochs = 0;
            checkpoint::save(&args.out.join("best"), &tr, tok)?;
        } else {
            state.bad_epochs += 1;
        }
        state.log.push(entry);
        state.epochs_done = epoch;
        state.step = step;
        save_last(&last, &tr, tok, &opt, &state)?;
        last_save = Instant::now();
        checkpoint::write_log_csv(&args.out.join("log.csv"), &state.log)?;
        if args.max_steps > 0 && step >= args.max_steps && epoch < args.epochs {
            println!("stopped after {step} steps (--max-steps); --resume continues from {}", last.display());
            return Ok(());
        }
        if args.early_stopping > 0 && state.bad_epochs >= args.early_stopping {
            println!("early stopping: no validation improvement for {} epochs", state.bad_epochs);
            break;
        }
    }

    // Final model = best validation epoch; threshold tuned on validation for sigmoid.
    checkpoint::load_weights(&mut tr.vs, &args.out.join("best").join("model.safetensors"))?;
    if tr.model.settings.objective == Objective::Sigmoid {
        let (scores, truth) = tr.predict(&valid, cache_of(1), args.eval_batch_size)?;
        tr.model.settings.threshold = metrics::tune_threshold(tr.labels.len(), &truth, &scores);
    }
    let test_report = tr.evaluate(&test, cache_of(2), args.eval_batch_size, Some(tr.model.settings.threshold))?;
    checkpoint::save(&args.out, &tr, tok)?;
    let summary = checkpoint::Metrics {
        best_epoch: state.best_epoch,
        threshold: tr.model.settings.threshold,
        test: test_report.clone(),
        epochs: state.log.clone(),
        train_seconds: t0.elapsed().as_secs_f64(),
        device: format!("{device:?}"),
    };
    std::fs::write(args.out.join("metrics.json"), serde_json::to_string_pretty(&summary)?)?;
    print_summary(&summary, &tr.labels);
    Ok(())
}

/// checkpoint-last: weights, optimizer moments and the resume state, renamed in together.
fn save_last(dir: &std::path::Path, tr: &Trainer, tok: &icd_core::tokenize::NoteTokenizer, opt: &AdamW, state: &ResumeState) -> Result<()> {
    checkpoint::save_with(dir, tr, tok, |tmp| {
        opt.save(&tmp.join("optimizer.safetensors"))?;
        std::fs::write(tmp.join("state.json"), serde_json::to_string_pretty(state)?)?;
        Ok(())
    })
}

impl Trainer {
    fn autocast_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        if self.autocast {
            crate::amp::bf16(f)
        } else {
            f()
        }
    }

    /// Encoder states for the examples `idx`: [N, T, H] plus the padded batch.
    fn hidden(&self, set: &[Example], idx: &[usize], cache: Option<&FrozenCache>, train: bool) -> (Tensor, Batch) {
        let notes: Vec<&[Vec<u32>]> = idx.iter().map(|&i| set[i].chunks.as_slice()).collect();
        let batch = Batch::new(&notes, self.pad_id, self.device);
        let hidden = match cache {
            None => self.model.encode(&batch, train),
            Some(c) => {
                let t = batch.ids.size()[1];
                let parts: Vec<Tensor> = idx
                    .iter()
                    .map(|&i| {
                        let h = &c.hidden[i]; // [c, t_note, H]
                        h.constant_pad_nd([0, 0, 0, t - h.size()[1]])
                    })
                    .collect();
                let h = Tensor::cat(&parts, 0).to_kind(Kind::Float).to(self.device);
                self.model.bert.forward_from(&h, &batch.mask, c.layers, train)
            }
        };
        (hidden, batch)
    }

    /// [B] primary label ids (softmax) or [B, L] multi-hot (sigmoid).
    fn targets(&self, set: &[Example], idx: &[usize]) -> Tensor {
        match self.model.settings.objective {
            Objective::Softmax => {
                let t: Vec<i64> = idx.iter().map(|&i| set[i].labels[0] as i64).collect();
                Tensor::from_slice(&t).to(self.device)
            }
            Objective::Sigmoid => {
                let l = self.labels.len();
                let mut m = vec![0f32; idx.len() * l];
                for (r, &i) in idx.iter().enumerate() {
                    for &lab in &set[i].labels {
                        m[r * l + lab] = 1.0;
                    }
                }
                Tensor::from_slice(&m).view([idx.len() as i64, l as i64]).to(self.device)
            }
        }
    }

    fn build_cache(&self, set: &[Example], layers: usize, batch_size: usize, pb: &ProgressBar) -> FrozenCache {
        let mut hidden: Vec<Option<Tensor>> = (0..set.len()).map(|_| None).collect();
        tch::no_grad(|| {
            for idx in data::eval_batches(set, batch_size) {
                let notes: Vec<&[Vec<u32>]> = idx.iter().map(|&i| set[i].chunks.as_slice()).collect();
                let batch = Batch::new(&notes, self.pad_id, self.device);
                let h = self.model.bert.forward_upto(&batch.ids, &batch.mask, layers, false).to_kind(Kind::Half).to(Device::Cpu);
                let mut row = 0;
                for &i in &idx {
                    let c = set[i].chunks.len() as i64;
                    let t = set[i].chunks.iter().map(Vec::len).max().unwrap_or(2) as i64;
                    hidden[i] = Some(h.narrow(0, row, c).narrow(1, 0, t).copy());
                    row += c;
                }
                pb.inc(idx.len() as u64);
            }
        });
        FrozenCache { layers, hidden: hidden.into_iter().map(|h| h.expect("every example cached")).collect() }
    }

    /// Scores [n][L] in example order, and the gold labels.
    pub fn predict(&self, set: &[Example], cache: Option<&FrozenCache>, batch_size: usize) -> Result<ScoresAndGold> {
        let mut scores: Vec<Vec<f32>> = vec![Vec::new(); set.len()];
        tch::no_grad(|| -> Result<()> {
            for idx in data::eval_batches(set, batch_size) {
                let s = self.autocast_scope(|| {
                    let (hidden, batch) = self.hidden(set, &idx, cache, false);
                    let (logits, _) = self.model.head_forward(&hidden, &batch, false);
                    self.model.scores(&logits).to_kind(Kind::Float).to(Device::Cpu)
                });
                let rows: Vec<Vec<f32>> = Vec::<Vec<f32>>::try_from(s)?;
                for (r, &i) in idx.iter().enumerate() {
                    scores[i] = rows[r].clone();
                }
            }
            Ok(())
        })?;
        Ok((scores, set.iter().map(|e| e.labels.clone()).collect()))
    }

    pub fn evaluate(&self, set: &[Example], cache: Option<&FrozenCache>, batch_size: usize, threshold: Option<f32>) -> Result<EvalReport> {
        let (scores, truth) = self.predict(set, cache, batch_size)?;
        let l = self.labels.len();
        let primary: Vec<usize> = truth.iter().map(|t| t[0]).collect();
        let multilabel = (self.model.settings.objective == Objective::Sigmoid).then(|| {
            let t = threshold.unwrap_or_else(|| metrics::tune_threshold(l, &truth, &scores));
            metrics::multilabel(l, &truth, &scores, t)
        });
        Ok(EvalReport { multiclass: metrics::multiclass(l, &primary, &scores), multilabel })
    }
}

/// Stops gradients for the embeddings and layers below `layers`.
fn freeze(vs: &nn::VarStore, layers: usize) {
    for (name, t) in vs.variables() {
        let frozen = name.starts_with("bert.embeddings.")
            || name.strip_prefix("bert.encoder.layer.").and_then(|r| r.split('.').next()).and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| n < layers);
        if frozen {
            let _ = t.set_requires_grad(false);
        }
    }
}

fn progress(len: usize, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len as u64);
    pb.set_style(ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}").expect("valid template").progress_chars("=> "));
    pb.set_prefix(msg.to_string());
    pb
}

fn print_summary(m: &checkpoint::Metrics, labels: &LabelSpace) {
    let p = &m.test.multiclass;
    println!("\ntest set ({} notes), best epoch {}:", p.n, m.best_epoch);
    println!("  accuracy            {:6.2} %", 100.0 * p.accuracy);
    println!("  top-5 accuracy      {:6.2} %", 100.0 * p.top5_accuracy);
    println!("  macro  P / R / F1   {:6.2} / {:6.2} / {:6.2} %", 100.0 * p.macro_precision, 100.0 * p.macro_recall, 100.0 * p.macro_f1);
    println!("  weighted P / R / F1 {:6.2} / {:6.2} / {:6.2} %", 100.0 * p.weighted_precision, 100.0 * p.weighted_recall, 100.0 * p.weighted_f1);
    if let Some(ml) = &m.test.multilabel {
        println!(
            "  multi-label: micro-F1 {:.2} %, macro-F1 {:.2} %, P@5 {:.2} % (threshold {:.2})",
            100.0 * ml.micro_f1,
            100.0 * ml.macro_f1,
            100.0 * ml.precision_at_5,
            ml.threshold
        );
    }
    let mut worst: Vec<_> = p.per_label.iter().filter(|s| s.support > 0).collect();
    worst.sort_by(|a, b| a.f1.total_cmp(&b.f1));
    println!("  worst codes (F1, support):");
    for s in worst.iter().take(5) {
        let l = labels.get(s.label).expect("label id");
        println!("    {:<8} {:5.1} % ({:>3})  {}", l.code, 100.0 * s.f1, s.support, l.description);
    }
    println!("  total time {:.0} s on {}", m.train_seconds, m.device);
}
