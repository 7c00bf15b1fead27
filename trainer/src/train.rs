//! The training loop: AdamW with linear warm-up and decay, gradient clipping and
//! accumulation, per-epoch validation, early stopping, a checkpoint every epoch and
//! every `checkpoint_minutes` within one (weights, optimizer moments and the batch
//! cursor, so `resume` continues where the run stopped).
//!
//! `freeze_layers = K` freezes the embeddings and the first K layers and caches their
//! output once, so each epoch only runs the upper layers and the head: the CPU profile.
//!
//! A run is [`Run::prepare`], then [`Run::epoch`] for each epoch left, then [`Run::finish`];
//! [`run`] does all three.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use icd_core::metrics;
use icd_core::tokenize::NoteTokenizer;
use icd_core::{CodeTable, LabelSpace};
use tch::nn;
use tch::Tensor;

use crate::base::{self, BaseModel};
use crate::checkpoint;
use crate::config::{EvalConfig, TrainConfig};
use crate::data::{self, Example};
use crate::dropout;
use crate::model::{IcdModel, IcdSettings, Objective};
use crate::optim::AdamW;
use crate::state::{EpochLog, EvalReport, FrozenCache, ResumeState, Trainer};

/// Evaluates a checkpoint on a JSONL file, with the checkpoint's own threshold.
pub fn eval(c: &EvalConfig) -> Result<EvalReport> {
    let device = base::device(&c.device)?;
    let (tr, tok) = checkpoint::load(&c.checkpoint, device)?;
    let set = data::load_split(&c.data, &tr.labels, &tok, &tr.model.settings)?;
    let report = tr.evaluate(&set, None, c.batch_size, Some(tr.model.settings.threshold))?;
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
    if let Some(path) = &c.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(report)
}

/// Trains, keeps the best validation epoch, and writes the checkpoint and its reports to
/// `config.out`.
pub fn run(config: &TrainConfig) -> Result<()> {
    let mut run = Run::prepare(config)?;
    for epoch in run.epochs_left() {
        match run.epoch(epoch)? {
            EpochEnd::Continue => {}
            EpochEnd::EarlyStop => break,
            EpochEnd::StepLimit => return Ok(()),
        }
    }
    run.finish()
}

/// How an epoch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochEnd {
    Continue,
    /// No validation improvement for `early_stopping` epochs: go to [`Run::finish`].
    EarlyStop,
    /// `max_steps` reached: checkpointed for `resume`; the run stops without finishing.
    StepLimit,
}

/// A run in progress: the data, the model, the optimizer and where the loop is.
pub struct Run<'a> {
    config: &'a TrainConfig,
    t0: Instant,
    tr: Trainer,
    tok: NoteTokenizer,
    train: Vec<Example>,
    valid: Vec<Example>,
    test: Vec<Example>,
    /// Frozen-layer outputs of train, valid and test (`freeze_layers > 0`).
    cache: Option<[FrozenCache; 3]>,
    opt: AdamW,
    state: ResumeState,
    schedule: Schedule,
    last_save: Instant,
}

/// Linear warm-up, then linear decay to zero.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    warmup: usize,
    total: usize,
}

impl Schedule {
    /// The learning-rate factor at optimizer step `step`.
    fn factor(&self, step: usize) -> f64 {
        let step = step.min(self.total - 1);
        if step < self.warmup {
            (step + 1) as f64 / self.warmup as f64
        } else {
            ((self.total - step) as f64 / (self.total - self.warmup).max(1) as f64).max(0.0)
        }
    }
}

impl<'a> Run<'a> {
    /// Loads the labels, base model and data; builds the model (warm-started or resumed),
    /// the frozen-layer cache and the optimizer; writes `training_args.json`.
    pub fn prepare(config: &'a TrainConfig) -> Result<Self> {
        let t0 = Instant::now();
        if config.out.as_os_str().is_empty() {
            bail!("no output folder (--out)");
        }
        if config.threads > 0 {
            tch::set_num_threads(config.threads);
        }
        tch::manual_seed(config.seed as i64);
        let device = base::device(&config.device)?;
        let table_bytes = std::fs::read(&config.table).with_context(|| format!("reading {} (run scripts/setup.sh)", config.table.display()))?;
        let table = CodeTable::from_bytes(&table_bytes)?;
        let label_text = std::fs::read_to_string(&config.labels).with_context(|| format!("reading {}", config.labels.display()))?;
        let labels = LabelSpace::parse_tsv(&label_text, &table, &config.labels.display().to_string())?;
        let mut base = BaseModel::load(&config.base)?;
        if config.encoder_layers > 0 {
            if config.encoder_layers > base.config.num_hidden_layers {
                bail!("--encoder-layers {}: the base model has only {} layers", config.encoder_layers, base.config.num_hidden_layers);
            }
            base.config.num_hidden_layers = config.encoder_layers;
        }
        if config.max_length > base.config.max_position_embeddings {
            bail!("--max-length {} exceeds the base model's max_position_embeddings {}", config.max_length, base.config.max_position_embeddings);
        }
        let settings = IcdSettings {
            head: config.head,
            objective: config.objective(),
            max_length: config.max_length,
            chunk_overlap: config.chunk_overlap,
            label_attention_dim: (config.head == crate::model::HeadKind::LabelAttention).then_some(config.label_attention_dim),
            threshold: 0.5,
            base_model: Some(base.name.clone()),
            input: config.input,
        };
        let pw = config.primary_weight;
        if pw != 0.0 && (settings.objective != Objective::Sigmoid || pw.is_nan() || pw <= 0.0) {
            bail!("--primary-weight {pw} needs the sigmoid objective and a positive weight (softmax already trains on the primary code)");
        }

        let load = |name: &str| data::load_split(&config.data.join(name), &labels, &base.tokenizer, &settings);
        let mut train = load("train.jsonl")?;
        if config.limit_train > 0 {
            train.truncate(config.limit_train);
        }
        let mut valid = load("valid.jsonl")?;
        let mut test = load("test.jsonl")?;
        if config.limit_eval > 0 {
            valid.truncate(config.limit_eval);
            test.truncate(config.limit_eval);
        }
        tracing::info!(train = train.len(), valid = valid.len(), test = test.len(), labels = labels.len(), ?device, "data loaded");

        let vs = nn::VarStore::new(device);
        let model = IcdModel::new(&vs.root(), &base.config, &settings, labels.len() as i64);
        let copied = base.copy_into(&vs.variables())?;
        tracing::info!(tensors = copied, base = %base.dir.display(), "base weights loaded");
        let tok = base.tokenizer;
        let mut tr = Trainer { model, vs, device, labels, pad_id: tok.pad_id(), autocast: config.bf16 && device.is_cuda() };
        if let (Some(init), false) = (&config.init, config.resume) {
            let n = checkpoint::init_from(&mut tr.vs, init, &tr.labels)?;
            tracing::info!(tensors = n, init = %init.display(), "warm start");
        }

        std::fs::create_dir_all(&config.out).with_context(|| format!("creating {}", config.out.display()))?;
        let last = last_dir(config);
        let mut state = ResumeState::default();
        if config.resume {
            let s = std::fs::read(last.join("state.json")).with_context(|| format!("--resume: no checkpoint in {}", last.display()))?;
            state = serde_json::from_slice(&s).context("--resume: state.json is corrupt")?;
            checkpoint::load_weights(&mut tr.vs, &last.join("model.safetensors"))?;
        }

        let frozen = config.freeze_layers.min(tr.model.bert.num_layers());
        let cache = if frozen > 0 {
            crate::state::freeze(&tr.vs, frozen);
            let pb = icd_console::bar((train.len() + valid.len() + test.len()) as u64, "caching frozen layers");
            let c = [&train, &valid, &test].map(|set| tr.build_cache(set, frozen, config.eval_batch_size, &pb));
            pb.finish_and_clear();
            let tokens: usize = [&train, &valid, &test].iter().flat_map(|s| s.iter()).map(Example::tokens).sum();
            let secs = t0.elapsed().as_secs_f64();
            tracing::info!(layers = frozen, seconds = secs, tokens, tokens_per_s = tokens as f64 / secs, "frozen layers cached");
            Some(c)
        } else {
            None
        };

        let mut opt = AdamW::new(&tr.vs, config.weight_decay);
        if config.resume {
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
        let steps_per_epoch = train.len().div_ceil(config.batch_size * config.grad_accum.max(1));
        let total = (steps_per_epoch * config.epochs).max(1);
        let schedule = Schedule { warmup: ((total as f64) * config.warmup_ratio).round() as usize, total };
        std::fs::write(config.out.join("training_args.json"), serde_json::to_string_pretty(config)?)?;
        Ok(Self { config, t0, tr, tok, train, valid, test, cache, opt, state, schedule, last_save: Instant::now() })
    }

    /// The epochs still to run (all of them, or those after a resumed checkpoint's).
    pub fn epochs_left(&self) -> std::ops::RangeInclusive<usize> {
        self.state.epochs_done + 1..=self.config.epochs
    }

    fn cache(&self, i: usize) -> Option<&FrozenCache> {
        self.cache.as_ref().map(|c| &c[i])
    }

    /// Trains one epoch (from a resumed checkpoint's batch cursor, if any), validates,
    /// keeps `best/` when it improved and saves `checkpoint-last`.
    pub fn epoch(&mut self, epoch: usize) -> Result<EpochEnd> {
        let config = self.config;
        let batches = data::bucketed_batches(&self.train, config.batch_size, config.seed.wrapping_add(epoch as u64));
        let mut part = self.state.partial.take().unwrap_or_default();
        let (te, before) = (Instant::now(), part.seconds);
        let epoch_secs = || before + te.elapsed().as_secs_f64();
        let pb = icd_console::bar(self.train.len() as u64, &format!("epoch {epoch}/{}", config.epochs));
        pb.set_position(part.seen as u64);
        let accum = config.grad_accum.max(1);
        let head_lr = config.head_lr.unwrap_or(config.lr);
        let every = Duration::from_secs_f64(config.checkpoint_minutes.max(0.0) * 60.0);
        let mut step = self.state.step;
        self.opt.zero_grad();
        for (bi, idx) in batches.iter().enumerate().skip(part.batches_done) {
            // Masks depend on (seed, batch), so a resumed run draws what the first one would have.
            dropout::begin_step(config.seed, ((epoch - 1) * batches.len() + bi) as u64);
            let loss = self.batch_loss(idx);
            let loss_value = loss.double_value(&[]);
            if !loss_value.is_finite() {
                bail!("epoch {epoch}, batch {bi}: loss is {loss_value}; lower --lr or check the data");
            }
            (loss / accum as f64).backward();
            part.loss_sum += loss_value;
            part.loss_n += 1;
            part.seen += idx.len();
            if (bi + 1) % accum == 0 || bi + 1 == batches.len() {
                let f = self.schedule.factor(step);
                self.opt.step([config.lr * f, head_lr * f], config.grad_clip);
                step += 1;
                part.batches_done = bi + 1;
                let stop = config.max_steps > 0 && step >= config.max_steps;
                if (stop || (!every.is_zero() && self.last_save.elapsed() >= every)) && bi + 1 < batches.len() {
                    part.seconds = epoch_secs();
                    self.state.step = step;
                    self.state.partial = Some(part.clone());
                    self.save_last()?;
                    self.state.partial = None;
                    // Through tracing, not the progress bar: the bar is hidden when stderr is a log file.
                    tracing::info!(epoch, batch = bi + 1, of = batches.len(), "checkpoint inside the epoch");
                    if stop {
                        pb.finish_and_clear();
                        println!("stopped after {step} steps (--max-steps); --resume continues from {}", last_dir(config).display());
                        return Ok(EpochEnd::StepLimit);
                    }
                }
            }
            pb.set_position(part.seen as u64);
            pb.set_message(format!("loss {:.4} · {:.1} samples/s", part.loss_sum / part.loss_n as f64, (part.seen as f64) / epoch_secs()));
        }
        pb.finish_and_clear();
        let seconds = epoch_secs();
        let valid = self.tr.evaluate(&self.valid, self.cache(1), config.eval_batch_size, None)?;
        let entry = EpochLog { epoch, train_loss: part.loss_sum / part.loss_n.max(1) as f64, seconds, samples_per_s: part.seen as f64 / seconds, valid };
        println!(
            "epoch {epoch}: loss {:.4}, valid accuracy {:.2} %, macro-F1 {:.2} %{}, {:.0} s ({:.1} samples/s)",
            entry.train_loss,
            100.0 * entry.valid.multiclass.accuracy,
            100.0 * entry.valid.multiclass.macro_f1,
            entry.valid.multilabel.as_ref().map(|m| format!(", micro-F1 {:.2} %", 100.0 * m.micro_f1)).unwrap_or_default(),
            seconds,
            entry.samples_per_s
        );
        self.end_epoch(epoch, step, entry)
    }

    /// The loss of one batch of training examples (under autocast where set).
    fn batch_loss(&self, idx: &[usize]) -> Tensor {
        let (tr, train, pw) = (&self.tr, &self.train, self.config.primary_weight);
        tr.autocast_scope(|| {
            let (hidden, batch) = tr.hidden(train, idx, self.cache(0), true);
            let (logits, _) = tr.model.head_forward(&hidden, &batch, true);
            let targets = tr.targets(train, idx);
            let loss = tr.model.loss(&logits, &targets);
            if pw > 0.0 && tr.model.settings.objective == Objective::Sigmoid {
                let primary: Vec<i64> = idx.iter().map(|&i| train[i].labels[0] as i64).collect();
                let primary = Tensor::from_slice(&primary).to(tr.device);
                loss + IcdModel::primary_loss(&logits, &targets, &primary) * pw
            } else {
                loss
            }
        })
    }

    /// After an epoch's validation: keeps `best/` if it improved, saves `checkpoint-last`
    /// and `log.csv`, and says whether to go on.
    fn end_epoch(&mut self, epoch: usize, step: usize, entry: EpochLog) -> Result<EpochEnd> {
        let config = self.config;
        let state = &mut self.state;
        if state.best.is_none_or(|b| entry.valid.key() > b) {
            state.best = Some(entry.valid.key());
            state.best_epoch = epoch;
            state.bad_epochs = 0;
            checkpoint::save(&config.out.join("best"), &self.tr, &self.tok)?;
        } else {
            state.bad_epochs += 1;
        }
        state.log.push(entry);
        state.epochs_done = epoch;
        state.step = step;
        self.save_last()?;
        checkpoint::write_log_csv(&config.out.join("log.csv"), &self.state.log)?;
        if config.max_steps > 0 && step >= config.max_steps && epoch < config.epochs {
            println!("stopped after {step} steps (--max-steps); --resume continues from {}", last_dir(config).display());
            return Ok(EpochEnd::StepLimit);
        }
        if config.early_stopping > 0 && self.state.bad_epochs >= config.early_stopping {
            println!("early stopping: no validation improvement for {} epochs", self.state.bad_epochs);
            return Ok(EpochEnd::EarlyStop);
        }
        Ok(EpochEnd::Continue)
    }

    /// checkpoint-last: weights, optimizer moments and the resume state, renamed in together.
    fn save_last(&mut self) -> Result<()> {
        let (opt, state) = (&self.opt, &self.state);
        checkpoint::save_with(&last_dir(self.config), &self.tr, &self.tok, |tmp| {
            opt.save(&tmp.join("optimizer.safetensors"))?;
            std::fs::write(tmp.join("state.json"), serde_json::to_string_pretty(state)?)?;
            Ok(())
        })?;
        self.last_save = Instant::now();
        Ok(())
    }

    /// The final model is the best validation epoch's, with its threshold tuned on
    /// validation (sigmoid); scored on test and saved with `metrics.json`.
    pub fn finish(mut self) -> Result<()> {
        let config = self.config;
        checkpoint::load_weights(&mut self.tr.vs, &config.out.join("best").join("model.safetensors"))?;
        if self.tr.model.settings.objective == Objective::Sigmoid {
            let (scores, truth) = self.tr.predict(&self.valid, self.cache(1), config.eval_batch_size)?;
            self.tr.model.settings.threshold = metrics::tune_threshold(self.tr.labels.len(), &truth, &scores);
        }
        let threshold = self.tr.model.settings.threshold;
        let test = self.tr.evaluate(&self.test, self.cache(2), config.eval_batch_size, Some(threshold))?;
        checkpoint::save(&config.out, &self.tr, &self.tok)?;
        let summary = checkpoint::Metrics {
            best_epoch: self.state.best_epoch,
            threshold,
            test,
            epochs: self.state.log.clone(),
            train_seconds: self.t0.elapsed().as_secs_f64(),
            device: format!("{:?}", self.tr.device),
        };
        std::fs::write(config.out.join("metrics.json"), serde_json::to_string_pretty(&summary)?)?;
        print_summary(&summary, &self.tr.labels);
        Ok(())
    }
}

fn last_dir(config: &TrainConfig) -> PathBuf {
    config.out.join("checkpoint-last")
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
