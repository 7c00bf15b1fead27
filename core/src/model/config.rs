//! `config.json` of a checkpoint: Hugging Face `BertConfig` fields, `id2label` and the `icd`
//! object (see `docs/checkpoint-format.md`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ModelError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    Cls,
    LabelAttention,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    Softmax,
    Sigmoid,
}

/// The `icd` object of a checkpoint's `config.json` and of a bundle manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IcdConfig {
    pub head: HeadKind,
    pub objective: Objective,
    #[serde(default = "default_max_length")]
    pub max_length: usize,
    #[serde(default)]
    pub chunk_overlap: usize,
    /// Required for the `label_attention` head.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_attention_dim: Option<usize>,
    #[serde(default = "default_threshold")]
    pub threshold: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model: Option<String>,
    /// How notes become windows; absent in checkpoints from before it existed (windows).
    #[serde(default, skip_serializing_if = "is_windows")]
    pub input: crate::tokenize::InputLayout,
}

fn is_windows(l: &crate::tokenize::InputLayout) -> bool {
    *l == crate::tokenize::InputLayout::Windows
}

fn default_max_length() -> usize {
    512
}
fn default_threshold() -> f32 {
    0.5
}
fn default_eps() -> f64 {
    1e-12
}
fn default_type_vocab() -> usize {
    2
}
fn default_act() -> String {
    "gelu".into()
}

/// The fields as written in the file; checked and turned into [`ModelConfig`].
#[derive(Deserialize)]
struct RawConfig {
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    #[serde(default = "default_act")]
    hidden_act: String,
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    pad_token_id: u32,
    id2label: BTreeMap<String, String>,
    icd: IcdConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    pub pad_token_id: u32,
    /// Label id -> ICD-10-CM code, from `id2label`.
    pub labels: Vec<String>,
    pub icd: IcdConfig,
}

impl ModelConfig {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        let err = |msg: String| ModelError::Config(msg);
        let raw: RawConfig = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        // Only the exact erf GELU is implemented; `gelu_new`/`gelu_fast` would differ silently.
        if raw.hidden_act != "gelu" {
            return Err(err(format!("hidden_act {:?} is not supported (only \"gelu\")", raw.hidden_act)));
        }
        if raw.num_attention_heads == 0 || !raw.hidden_size.is_multiple_of(raw.num_attention_heads) {
            return Err(err(format!("hidden_size {} is not a multiple of num_attention_heads {}", raw.hidden_size, raw.num_attention_heads)));
        }
        if raw.max_position_embeddings < 3 {
            return Err(err(format!("max_position_embeddings {} is too small", raw.max_position_embeddings)));
        }
        let icd = raw.icd;
        if icd.max_length < 3 || icd.max_length > raw.max_position_embeddings {
            return Err(err(format!("icd.max_length {} must be between 3 and max_position_embeddings {}", icd.max_length, raw.max_position_embeddings)));
        }
        if icd.chunk_overlap >= icd.max_length - 2 {
            return Err(err(format!("icd.chunk_overlap {} must be below icd.max_length - 2 = {}", icd.chunk_overlap, icd.max_length - 2)));
        }
        if icd.head == HeadKind::LabelAttention {
            match icd.label_attention_dim {
                None | Some(0) => return Err(err("icd.label_attention_dim is required for the label_attention head".into())),
                Some(_) => {}
            }
            if icd.objective != Objective::Sigmoid {
                return Err(err("the label_attention head needs icd.objective \"sigmoid\"".into()));
            }
        }
        let labels = labels_from_id2label(raw.id2label).map_err(err)?;
        Ok(Self {
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: raw.num_attention_heads,
            intermediate_size: raw.intermediate_size,
            max_position_embeddings: raw.max_position_embeddings,
            type_vocab_size: raw.type_vocab_size,
            layer_norm_eps: raw.layer_norm_eps,
            pad_token_id: raw.pad_token_id,
            labels,
            icd,
        })
    }

    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }
}

/// `{"0": "J45.909", ...}` -> `["J45.909", ...]`; ids must be exactly `0..L`.
fn labels_from_id2label(map: BTreeMap<String, String>) -> Result<Vec<String>, String> {
    if map.is_empty() {
        return Err("id2label is empty".into());
    }
    let n = map.len();
    let mut labels = vec![None; n];
    for (key, code) in map {
        let id: usize = key.parse().map_err(|_| format!("id2label key {key:?} is not a label id"))?;
        let slot = labels.get_mut(id).ok_or_else(|| format!("id2label has {n} entries but id {id}; ids must be 0..{n}"))?;
        *slot = Some(code);
    }
    // Every slot is filled: ids are distinct, in range, and as many as slots.
    Ok(labels.into_iter().map(|l| l.expect("filled")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(icd: &str, id2label: &str) -> String {
        format!(
            r#"{{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
                "intermediate_size": 16, "hidden_act": "gelu", "max_position_embeddings": 16,
                "id2label": {id2label}, "icd": {icd}}}"#
        )
    }

    #[test]
    fn parses_and_orders_labels() {
        let c = ModelConfig::from_json(config(r#"{"head": "cls", "objective": "softmax", "max_length": 16}"#, r#"{"1": "B", "0": "A"}"#).as_bytes()).unwrap();
        assert_eq!(c.labels, vec!["A", "B"]);
        assert_eq!(c.icd.head, HeadKind::Cls);
        assert_eq!(c.layer_norm_eps, 1e-12);
    }

    #[test]
    fn errors_name_the_field() {
        let e = ModelConfig::from_json(br#"{"vocab_size": 10}"#).unwrap_err().to_string();
        assert!(e.contains("hidden_size"), "{e}");
        let e = ModelConfig::from_json(config(r#"{"head": "label_attention", "objective": "sigmoid"}"#, r#"{"0": "A"}"#).as_bytes()).unwrap_err().to_string();
        assert!(e.contains("max_length") || e.contains("label_attention_dim"), "{e}");
        let e = ModelConfig::from_json(config(r#"{"head": "cls", "objective": "softmax", "max_length": 16}"#, r#"{"0": "A", "2": "B"}"#).as_bytes())
            .unwrap_err()
            .to_string();
        assert!(e.contains("id 2"), "{e}");
        let e = ModelConfig::from_json(config(r#"{"head": "pooler", "objective": "softmax"}"#, r#"{"0": "A"}"#).as_bytes()).unwrap_err().to_string();
        assert!(e.contains("pooler"), "{e}");
    }
}
