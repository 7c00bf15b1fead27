//! Checkpoint folders (docs/checkpoint-format.md): Hugging Face compatible.
//! Written to a temporary folder and renamed, so a crash never leaves half a checkpoint.

use std::path::Path;

use anyhow::{Context, Result};
use icd_core::schema::checkpoint::checkpoint_config_json;
use icd_core::tokenize::NoteTokenizer;
use serde::{Deserialize, Serialize};
use tch::nn;

use crate::state::{EpochLog, EvalReport, Trainer};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metrics {
    pub best_epoch: usize,
    pub threshold: f32,
    pub test: EvalReport,
    pub epochs: Vec<EpochLog>,
    pub train_seconds: f64,
    pub device: String,
}

/// config.json: the BERT config, the labels and the `icd` settings ([`checkpoint_config_json`]).
pub fn config_json(tr: &Trainer) -> serde_json::Value {
    let codes: Vec<String> = tr.labels.labels().iter().map(|l| l.code.clone()).collect();
    checkpoint_config_json(&tr.model.bert.config, &codes, &tr.model.settings)
}

pub fn save(dir: &Path, tr: &Trainer, tok: &NoteTokenizer) -> Result<()> {
    save_with(dir, tr, tok, |_| Ok(()))
}

/// [`save`], plus the files `extra` writes into the same temporary folder (optimizer
/// state, resume state), so they are renamed into place together with the weights.
pub fn save_with(dir: &Path, tr: &Trainer, tok: &NoteTokenizer, extra: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let tmp = parent.join(format!(".{}.tmp", dir.file_name().and_then(|n| n.to_str()).unwrap_or("checkpoint")));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    tr.vs.save(tmp.join("model.safetensors")).with_context(|| format!("writing weights to {}", tmp.display()))?;
    std::fs::write(tmp.join("config.json"), serde_json::to_string_pretty(&config_json(tr))?)?;
    std::fs::write(tmp.join("tokenizer.json"), tok.to_tokenizer_json()?)?;
    std::fs::write(tmp.join("labels.tsv"), tr.labels.to_tsv())?;
    extra(&tmp)?;
    // Keep files that live beside the checkpoint (metrics, logs) when overwriting in place.
    if dir.exists() {
        for entry in std::fs::read_dir(&tmp)? {
            let name = entry?.file_name();
            std::fs::rename(tmp.join(&name), dir.join(&name))?;
        }
        std::fs::remove_dir_all(&tmp)?;
    } else {
        std::fs::rename(&tmp, dir).with_context(|| format!("moving {} to {}", tmp.display(), dir.display()))?;
    }
    Ok(())
}

/// Loads model.safetensors into an existing var store (names and shapes must match).
pub fn load_weights(vs: &mut nn::VarStore, path: &Path) -> Result<()> {
    let tensors = tch::Tensor::read_safetensors(path).with_context(|| format!("reading {}", path.display()))?;
    let vars = vs.variables();
    let mut seen = 0;
    tch::no_grad(|| -> Result<()> {
        for (name, t) in &tensors {
            let Some(v) = vars.get(name) else { anyhow::bail!("{}: unexpected tensor {name}", path.display()) };
            if v.size() != t.size() {
                anyhow::bail!("{}: {name} has shape {:?}, the model expects {:?}", path.display(), t.size(), v.size());
            }
            v.shallow_clone().copy_(&t.to_device(v.device()));
            seen += 1;
        }
        Ok(())
    })?;
    if seen != vars.len() {
        let missing: Vec<_> = vars.keys().filter(|k| !tensors.iter().any(|(n, _)| n == *k)).take(5).collect();
        anyhow::bail!("{}: {} of {} tensors missing, e.g. {missing:?}", path.display(), vars.len() - seen, vars.len());
    }
    Ok(())
}

/// Warm start: every variable from a trained model at `path`, a checkpoint folder or an int8
/// bundle (weights dequantized), or only its encoder when it has none of this run's head
/// tensors (another head). Its labels must be `labels`, in order. Returns the tensors set.
pub fn init_from(vs: &mut nn::VarStore, path: &Path, labels: &icd_core::LabelSpace) -> Result<usize> {
    let ours: Vec<&str> = labels.labels().iter().map(|l| l.code.as_str()).collect();
    let manifest_path = path.join(icd_core::bundle::MANIFEST_FILE);
    let tensors: Vec<(String, tch::Tensor)> = if manifest_path.exists() {
        let manifest = icd_core::Manifest::from_json(&std::fs::read(&manifest_path).with_context(|| format!("reading {}", manifest_path.display()))?)
            .with_context(|| format!("{}", manifest_path.display()))?;
        let theirs: Vec<&str> = manifest.labels.iter().map(|l| l.code.as_str()).collect();
        if theirs != ours {
            anyhow::bail!("--init {}: its {} labels are not this run's {} labels in the same order", path.display(), theirs.len(), ours.len());
        }
        let gguf_path = path.join(&manifest.weights.file);
        let gguf = std::fs::read(&gguf_path).with_context(|| format!("reading {}", gguf_path.display()))?;
        let candle = icd_core::model::gguf_tensors(&gguf).with_context(|| format!("{}", gguf_path.display()))?;
        candle
            .into_iter()
            .map(|(name, t)| {
                let dims: Vec<i64> = t.dims().iter().map(|&d| d as i64).collect();
                let data: Vec<f32> = t.flatten_all()?.to_vec1()?;
                Ok((name, tch::Tensor::from_slice(&data).view(dims.as_slice())))
            })
            .collect::<candle_core::Result<_>>()
            .with_context(|| format!("{}", gguf_path.display()))?
    } else {
        let labels_path = path.join("labels.tsv");
        let text = std::fs::read_to_string(&labels_path).with_context(|| format!("--init {}: reading {}", path.display(), labels_path.display()))?;
        let theirs: Vec<&str> = text.lines().skip(1).filter(|l| !l.trim().is_empty()).map(|l| l.split('\t').next().unwrap_or(l)).collect();
        if theirs != ours {
            anyhow::bail!("--init {}: its {} labels are not this run's {} labels in the same order", path.display(), theirs.len(), ours.len());
        }
        let st = path.join("model.safetensors");
        tch::Tensor::read_safetensors(&st).with_context(|| format!("reading {}", st.display()))?
    };
    let vars = vs.variables();
    // The encoder must come whole. The head comes whole too, or not at all: a model of another
    // head (a `cls` bundle under a label-attention run) gives its encoder, and the new head
    // starts from its initialisation. Half a head is a mismatch.
    let is_head = |name: &str| !name.starts_with("bert.");
    let head_vars: Vec<&String> = vars.keys().filter(|n| is_head(n)).collect();
    let head_found = head_vars.iter().filter(|n| tensors.iter().any(|(t, _)| t == n.as_str())).count();
    let fresh_head = head_found == 0 && !head_vars.is_empty();
    if fresh_head {
        tracing::info!(init = %path.display(), head_tensors = head_vars.len(), "warm start of the encoder only: the init model has another head");
    }
    let mut set = 0;
    tch::no_grad(|| -> Result<()> {
        for (name, var) in &vars {
            if fresh_head && is_head(name) {
                continue;
            }
            let Some((_, t)) = tensors.iter().find(|(n, _)| n == name) else {
                anyhow::bail!("--init {}: no tensor {name} (a different encoder, or part of another head?)", path.display());
            };
            if t.size() != var.size() {
                anyhow::bail!("--init {}: {name} has shape {:?}, this run's model {:?}", path.display(), t.size(), var.size());
            }
            var.shallow_clone().copy_(&t.to_device(var.device()));
            set += 1;
        }
        Ok(())
    })?;
    Ok(set)
}

pub fn write_log_csv(path: &Path, log: &[EpochLog]) -> Result<()> {
    let mut s = String::from("epoch,train_loss,seconds,samples_per_s,valid_accuracy,valid_top5,valid_macro_f1,valid_weighted_f1,valid_micro_f1\n");
    for e in log {
        let p = &e.valid.multiclass;
        s.push_str(&format!(
            "{},{:.5},{:.1},{:.2},{:.4},{:.4},{:.4},{:.4},{}\n",
            e.epoch,
            e.train_loss,
            e.seconds,
            e.samples_per_s,
            p.accuracy,
            p.top5_accuracy,
            p.macro_f1,
            p.weighted_f1,
            e.valid.multilabel.as_ref().map(|m| format!("{:.4}", m.micro_f1)).unwrap_or_default()
        ));
    }
    std::fs::write(path, s).with_context(|| format!("writing {}", path.display()))
}

/// A checkpoint read back: ready to predict or to continue training.
pub fn load(dir: &Path, device: tch::Device) -> Result<(Trainer, NoteTokenizer)> {
    use crate::model::IcdModel;
    use icd_core::labels::{Label, LabelSpace};

    let cfg_path = dir.join("config.json");
    let config = icd_core::ModelConfig::from_json(&std::fs::read(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?)
        .with_context(|| format!("{}", cfg_path.display()))?;
    let labels_path = dir.join("labels.tsv");
    let text = std::fs::read_to_string(&labels_path).with_context(|| format!("reading {}", labels_path.display()))?;
    let labels: Vec<Label> = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (code, description) = l.split_once('\t').unwrap_or((l, ""));
            Label { code: code.to_string(), description: description.to_string() }
        })
        .collect();
    let id2label = config.labels.len();
    if id2label != labels.len() {
        anyhow::bail!("{}: {} labels, but config.json has {id2label} in id2label", labels_path.display(), labels.len());
    }
    let tok_path = dir.join("tokenizer.json");
    let tok = NoteTokenizer::from_tokenizer_json(&std::fs::read(&tok_path).with_context(|| format!("reading {}", tok_path.display()))?)?;
    let mut vs = nn::VarStore::new(device);
    let model = IcdModel::new(&vs.root(), &config.bert, &config.icd, labels.len() as i64);
    load_weights(&mut vs, &dir.join("model.safetensors"))?;
    let pad_id = tok.pad_id();
    Ok((Trainer { model, vs, device, labels: LabelSpace::from_labels(labels), pad_id, autocast: false }, tok))
}
