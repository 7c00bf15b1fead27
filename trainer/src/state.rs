//! The state a run carries: the model with its var store and labels ([`Trainer`], and what
//! it computes: batches, targets, scores, evaluation), the frozen-layer cache, and what
//! `checkpoint-last` saves so a run can resume ([`ResumeState`]). Its own module so the loop
//! (`train`) and the checkpoint files (`checkpoint`) both use it without using each other.

use anyhow::Result;
use icd_core::{metrics, LabelSpace};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

use crate::data::{self, Example};
use crate::model::{Batch, IcdModel, Objective};

pub use icd_core::EvalReport;

/// Per-note label scores `[n][L]` and each note's gold label ids.
pub type ScoresAndGold = (Vec<Vec<f32>>, Vec<Vec<usize>>);

/// The model being trained, where it runs and what it predicts.
pub struct Trainer {
    pub model: IcdModel,
    pub vs: nn::VarStore,
    pub device: Device,
    pub labels: LabelSpace,
    pub pad_id: u32,
    pub autocast: bool,
}

/// One epoch's line of `log.csv` and `metrics.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub train_loss: f64,
    pub seconds: f64,
    pub samples_per_s: f64,
    pub valid: EvalReport,
}

/// `checkpoint-last/state.json`: where the run is, for `--resume`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ResumeState {
    pub epochs_done: usize,
    pub step: usize,
    /// Best validation key so far (none before the first epoch ends).
    pub best: Option<f64>,
    pub best_epoch: usize,
    pub bad_epochs: usize,
    pub log: Vec<EpochLog>,
    /// Within epoch `epochs_done + 1`: batches done and the running totals.
    #[serde(default)]
    pub partial: Option<PartialEpoch>,
}

/// An epoch's progress and running totals, as saved inside the epoch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PartialEpoch {
    pub batches_done: usize,
    pub loss_sum: f64,
    pub loss_n: usize,
    pub seen: usize,
    pub seconds: f64,
}

/// Output of the frozen lower layers for each example: [chunks, T_note, H] (f16 on CPU).
pub struct FrozenCache {
    layers: usize,
    hidden: Vec<Tensor>,
}

impl Trainer {
    pub fn autocast_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        if self.autocast {
            crate::amp::bf16(f)
        } else {
            f()
        }
    }

    /// Encoder states for the examples `idx`: [N, T, H] plus the padded batch.
    pub fn hidden(&self, set: &[Example], idx: &[usize], cache: Option<&FrozenCache>, train: bool) -> (Tensor, Batch) {
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
    pub fn targets(&self, set: &[Example], idx: &[usize]) -> Tensor {
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

    pub fn build_cache(&self, set: &[Example], layers: usize, batch_size: usize, pb: &ProgressBar) -> FrozenCache {
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
pub fn freeze(vs: &nn::VarStore, layers: usize) {
    for (name, t) in vs.variables() {
        let frozen = name.starts_with("bert.embeddings.")
            || name.strip_prefix("bert.encoder.layer.").and_then(|r| r.split('.').next()).and_then(|n| n.parse::<usize>().ok()).is_some_and(|n| n < layers);
        if frozen {
            let _ = t.set_requires_grad(false);
        }
    }
}
