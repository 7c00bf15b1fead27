//! A prediction: the codes suggested for one note, as `icd predict` writes them (JSON, JSONL),
//! `icd serve` answers them and the browser's worker sends them to the page.

use serde::{Deserialize, Serialize};

use crate::assertion::Assertion;
use crate::hcc::HccFlag;
use crate::rules::RuleMessage;
use crate::specificity::Specificity;

/// One suggested code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodedLabel {
    pub code: String,
    /// The official description (empty for a checkpoint loaded without label info).
    pub description: String,
    /// ICD-10-CM chapter (1-22; 0 when unknown).
    pub chapter: u8,
    /// Softmax or sigmoid score, per the model's objective; for a code that stands in for a
    /// more specific one whose asserted fact the note does not document, that code's score
    /// (see `score_from`).
    pub score: f32,
    /// The code whose score `score` carries ([`crate::documentation`]); absent when `score`
    /// is this code's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_from: Option<String>,
    /// This code's own score, given when `score_from` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_score: Option<f32>,
    /// Heaviest first.
    #[serde(default)]
    pub evidence: Vec<EvidenceSpan>,
    /// Facts the code's title asserts that the note does not document ("exacerbation"); such
    /// a code ranks just below the same category's code without them
    /// ([`crate::documentation`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undocumented: Vec<String>,
    /// Set when every evidence span is negated or a relative's ([`crate::assertion`]): the
    /// code is ranked below the codes the note asserts, and this says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demoted: Option<Assertion>,
    /// The code's CMS-HCC categories (V28, V24), when the caller has the code table
    /// ([`crate::coder::annotate`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hcc: Vec<HccFlag>,
    /// The coding rules' messages on this code alone ([`crate::rules::check`]): code first, use
    /// additional code, code also, never first-listed, a header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleMessage>,
    /// Where the suggestion comes from: the model's labels, a match of the note's diagnostic
    /// statements against the whole code table ([`crate::candidates`]), or both.
    #[serde(default)]
    pub source: Source,
    /// The more specific billable codes a coder may pick instead, and the facts that decide
    /// (7th character, laterality, type), when the title leaves some open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specificity: Option<Specificity>,
}

impl CodedLabel {
    /// A suggestion with its code, description, chapter and score; no evidence, flags or
    /// annotations yet.
    pub fn new(code: impl Into<String>, description: impl Into<String>, chapter: u8, score: f32) -> Self {
        CodedLabel {
            code: code.into(),
            description: description.into(),
            chapter,
            score,
            score_from: None,
            model_score: None,
            evidence: Vec::new(),
            undocumented: Vec::new(),
            demoted: None,
            hcc: Vec::new(),
            rules: Vec::new(),
            source: Source::Model,
            specificity: None,
        }
    }
}

/// Where a suggestion comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// One of the model's labels; `score` is the model's.
    #[default]
    Model,
    /// A diagnostic statement's match against the code table; `score` is the match
    /// ([`crate::candidates`]), 0..=1.
    Table,
    /// Both: the model's label, confirmed by a diagnostic statement; `score` is the model's.
    Both,
}

/// A piece of the note that supports a code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceSpan {
    /// Byte range in the note (`&text[start..end] == text`).
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// Attention share (`attention`) or score drop (`occlusion`).
    pub weight: f32,
    /// What the note asserts about it there: present, negated, historical, family,
    /// hypothetical or uncertain ([`crate::assertion::assert_mention`]).
    #[serde(default = "present")]
    pub assertion: Assertion,
}

fn present() -> Assertion {
    Assertion::Present
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceMethod {
    /// Word-level label attention (the `label_attention` head).
    Attention,
    /// Sentence occlusion (the `cls` head).
    Occlusion,
}

/// One note's line of `icd predict --format jsonl` (and an element of `--format json`):
/// `{"id", "predictions": [..]}`, with `error` when the note could not be coded (the app's
/// batch export; `icd predict` reports those on stderr instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotePrediction {
    /// The input line's `id`, as given (string or number).
    pub id: serde_json::Value,
    pub predictions: Vec<CodedLabel>,
    /// Neither the model nor the code table is confident about any code: say "not among
    /// what I know" rather than trust the first suggestion ([`crate::candidates::fuse`]).
    #[serde(default)]
    pub low_confidence: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
