//! A checkpoint's `config.json` (docs/checkpoint-format.md): the Hugging Face `BertConfig`
//! fields ([`BertConfig`]), `id2label`, and the `icd` object ([`IcdConfig`]). The trainer writes
//! it ([`checkpoint_config_json`]), the quantizer copies its parts into the bundle manifest, and
//! the model loader reads and checks it ([`ModelConfig::from_json`]).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::ModelError;

/// The classification head on top of the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadKind {
    /// [CLS] vector (mean over chunks) -> linear: the original multi-class recipe.
    Cls,
    /// Per-label attention over all tokens (LAAT / PLM-ICD); its weights are the evidence.
    LabelAttention,
}

/// How scores are normalized, and what the model was trained to predict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// One primary code per note: cross-entropy over labels.
    Softmax,
    /// Every documented code: binary cross-entropy per label.
    Sigmoid,
}

/// How a note becomes model input windows (`icd.input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputLayout {
    /// Overlapping windows over the whole note.
    #[default]
    Windows,
    /// First one window of the diagnostic sections' tokens (chief complaint, assessment,
    /// impression, diagnoses, indication, problem list: [`crate::sections`]), then the
    /// windows over the whole note. A note without such sections gets the windows alone.
    /// The diagnostic statements then have a window of their own that long histories,
    /// medication lists and exams cannot dilute.
    DiagnosticFirst,
}

/// Command-line spelling (`label-attention`) and file spelling (`label_attention`) of the
/// enums above, for the trainer's flags; one list of names per enum.
macro_rules! names {
    ($t:ty, $($v:ident = $s:literal),+) => {
        impl $t {
            /// The names as written in `config.json`.
            pub const NAMES: &'static [&'static str] = &[$($s),+];
            pub fn name(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let snake = s.replace('-', "_");
                $(if snake == $s { return Ok(Self::$v); })+
                Err(format!("{s:?}: expected one of {}", Self::NAMES.join(", ").replace('_', "-")))
            }
        }
    };
}
names!(HeadKind, Cls = "cls", LabelAttention = "label_attention");
names!(Objective, Softmax = "softmax", Sigmoid = "sigmoid");
names!(InputLayout, Windows = "windows", DiagnosticFirst = "diagnostic_first");

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
    pub input: InputLayout,
}

fn is_windows(l: &InputLayout) -> bool {
    *l == InputLayout::Windows
}

/// The Hugging Face `BertConfig` fields of `config.json` (a checkpoint's, a base model's, and
/// a bundle manifest's `architecture`). Unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BertConfig {
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: u32,
    /// Training only (inference has no dropout).
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
}

impl BertConfig {
    /// BERT-base (Bio_ClinicalBERT's shape), MiniLM-L6 (all-MiniLM-L6-v2's) and a tiny one,
    /// for benchmarks and tests.
    pub fn preset(name: &str) -> Option<Self> {
        let (hidden, layers, heads, inter) = match name {
            "bert-base" => (768, 12, 12, 3072),
            "minilm-l6" => (384, 6, 12, 1536),
            "tiny" => (32, 2, 2, 64),
            _ => return None,
        };
        Some(Self {
            model_type: default_model_type(),
            vocab_size: if name == "tiny" { 1000 } else { 30522 },
            hidden_size: hidden,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            intermediate_size: inter,
            hidden_act: default_act(),
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
        })
    }

    /// What the encoder needs of these fields; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        // Only the exact erf GELU is implemented; `gelu_new`/`gelu_fast` would differ silently.
        if self.hidden_act != "gelu" {
            return Err(format!("hidden_act {:?} is not supported (only \"gelu\")", self.hidden_act));
        }
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!("hidden_size {} is not a multiple of num_attention_heads {}", self.hidden_size, self.num_attention_heads));
        }
        if self.max_position_embeddings < 3 {
            return Err(format!("max_position_embeddings {} is too small", self.max_position_embeddings));
        }
        Ok(())
    }
}

fn default_model_type() -> String {
    "bert".into()
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
fn default_max_pos() -> usize {
    512
}
fn default_dropout() -> f64 {
    0.1
}
fn default_act() -> String {
    "gelu".into()
}

/// The fields of the file besides the BERT ones (read separately, so a missing BERT field
/// is the error a bad file gets first).
#[derive(Deserialize)]
struct LabelsAndIcd {
    id2label: BTreeMap<String, String>,
    icd: IcdConfig,
}

/// A checked `config.json`: what the model loader builds from.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub bert: BertConfig,
    /// Label id -> ICD-10-CM code, from `id2label`.
    pub labels: Vec<String>,
    pub icd: IcdConfig,
}

impl ModelConfig {
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        let err = |msg: String| ModelError::Config(msg);
        let bert: BertConfig = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        bert.check().map_err(err)?;
        let raw: LabelsAndIcd = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        let icd = raw.icd;
        if icd.max_length < 3 || icd.max_length > bert.max_position_embeddings {
            return Err(err(format!("icd.max_length {} must be between 3 and max_position_embeddings {}", icd.max_length, bert.max_position_embeddings)));
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
        Ok(Self { bert, labels, icd })
    }

    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }

    /// This config as `config.json` bytes ([`checkpoint_config_json`]).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&checkpoint_config_json(&self.bert, &self.labels, &self.icd)).expect("serializes")
    }
}

/// `config.json` of a checkpoint: the BERT fields, `architectures`, `id2label` / `label2id`
/// (Hugging Face's names) and the `icd` object. The trainer writes it; a bundle's manifest
/// is turned back into it for the model loader.
pub fn checkpoint_config_json(bert: &BertConfig, labels: &[String], icd: &IcdConfig) -> serde_json::Value {
    let mut v = serde_json::to_value(bert).expect("config serializes");
    let id2label: BTreeMap<String, &str> = labels.iter().enumerate().map(|(i, c)| (i.to_string(), c.as_str())).collect();
    let label2id: BTreeMap<&str, usize> = labels.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let obj = v.as_object_mut().expect("object");
    obj.insert("architectures".into(), serde_json::json!(["BertForIcdCoding"]));
    obj.insert("id2label".into(), serde_json::to_value(id2label).expect("serializes"));
    obj.insert("label2id".into(), serde_json::to_value(label2id).expect("serializes"));
    obj.insert("icd".into(), serde_json::to_value(icd).expect("serializes"));
    v
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
        assert_eq!(c.bert.layer_norm_eps, 1e-12);
    }

    #[test]
    fn round_trips_through_the_written_form() {
        let c = ModelConfig::from_json(
            config(
                r#"{"head": "label_attention", "objective": "sigmoid", "max_length": 16, "label_attention_dim": 4, "input": "diagnostic_first"}"#,
                r#"{"0": "A", "1": "B"}"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(ModelConfig::from_json(&c.to_json()).unwrap(), c);
    }

    #[test]
    fn flag_spellings() {
        assert_eq!("label-attention".parse::<HeadKind>().unwrap(), HeadKind::LabelAttention);
        assert_eq!("label_attention".parse::<HeadKind>().unwrap(), HeadKind::LabelAttention);
        assert_eq!("diagnostic-first".parse::<InputLayout>().unwrap(), InputLayout::DiagnosticFirst);
        let e = "pooler".parse::<HeadKind>().unwrap_err();
        assert!(e.contains("cls, label-attention"), "{e}");
        assert_eq!(Objective::Sigmoid.to_string(), "sigmoid");
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
