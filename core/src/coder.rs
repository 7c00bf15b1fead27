//! [`Coder`]: a note in, ranked ICD-10-CM codes with evidence out. What the web worker and
//! `icd predict` call; loaded from a verified bundle (int8) or a checkpoint (f32).
//!
//! Evidence is always given, by one of two methods ([`EvidenceMethod`]):
//! - `label_attention` head: the label's attention over the note's words ([`crate::evidence::attention`]),
//!   weights are shares of the label's attention (they sum to at most 1).
//! - `cls` head: sentence occlusion. Each sentence is removed in turn and the note re-scored;
//!   a sentence's weight is how much the label's score drops without it (score units, only
//!   drops > 0 are kept). That costs one forward pass per sentence, so notes with more than
//!   [`MAX_OCCLUSION_SPANS`] sentences are cut into that many runs of neighbouring sentences.

use std::collections::HashMap;

use candle_core::Device;

use crate::assertion;
use crate::bundle::{self, BundleError, BundleLabel, Manifest, TOKENIZER_FILE};
use crate::documentation::DocumentationRules;
use crate::evidence::{self, demote_unasserted, mention_in, Occlusion};
pub use crate::evidence::{occlusion_spans, EVIDENCE_TOP_N, MAX_OCCLUSION_SPANS};
use crate::model::{HeadKind, IcdModel, Int8Kernel, ModelError};
use crate::rules::{self, Patient};
pub use crate::schema::prediction::{CodedLabel, EvidenceMethod, EvidenceSpan};
use crate::tokenize::NoteTokenizer;
use crate::CodeTable;

/// The longest note `icd predict` and the app accept by default (bytes of UTF-8): time grows
/// with a note's length, and memory with it too (the encoder runs a few windows at a time,
/// but the label-attention head holds every token). About 150,000 words; the longest real
/// discharge summaries are a tenth of it.
pub const MAX_NOTE_BYTES: usize = 1 << 20;
/// Why a note is not coded: what `icd predict`, `icd serve` and the app's worker all check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("the note is empty")]
    Empty,
    #[error("the note is {bytes} bytes, over the limit of {limit}")]
    TooLong { bytes: usize, limit: usize },
}

/// A note must say something and fit `limit` bytes (time and memory grow with its length).
pub fn check_note(text: &str, limit: usize) -> Result<(), NoteError> {
    if text.trim().is_empty() {
        return Err(NoteError::Empty);
    }
    if text.len() > limit {
        return Err(NoteError::TooLong { bytes: text.len(), limit });
    }
    Ok(())
}

pub struct Coder {
    model: IcdModel,
    tokenizer: NoteTokenizer,
    labels: Vec<BundleLabel>,
    documentation: DocumentationRules,
    manifest: Option<Manifest>,
}

impl Coder {
    /// Verifies every file against the manifest (sha256 and size), then loads the tokenizer
    /// and the int8 model. `files` maps bundle file names (`model.gguf`, `tokenizer.json`) to
    /// their bytes.
    pub fn from_bundle(manifest_json: &[u8], files: &HashMap<String, Vec<u8>>) -> Result<Self, BundleError> {
        Self::from_bundle_with(manifest_json, files, Int8Kernel::default())
    }

    /// [`Coder::from_bundle`] with a chosen int8 kernel (benchmarks).
    pub fn from_bundle_with(manifest_json: &[u8], files: &HashMap<String, Vec<u8>>, kernel: Int8Kernel) -> Result<Self, BundleError> {
        let manifest = Manifest::from_json(manifest_json)?;
        // Only listed files are verified, so the two we use must be listed.
        for needed in [manifest.weights.file.as_str(), TOKENIZER_FILE] {
            if !manifest.files.contains_key(needed) {
                return Err(BundleError::Unlisted { file: needed.to_string() });
            }
        }
        bundle::verify(&manifest, files)?;
        let tokenizer = NoteTokenizer::from_tokenizer_json(&files[TOKENIZER_FILE])?;
        let model = IcdModel::load_gguf(&manifest.config_json(), &files[&manifest.weights.file], &Device::Cpu, kernel)?;
        let documentation = rules_for(&manifest.labels);
        Ok(Self { model, tokenizer, documentation, labels: manifest.labels.clone(), manifest: Some(manifest) })
    }

    /// An f32 checkpoint (docs/checkpoint-format.md). Labels have empty descriptions until
    /// [`Coder::with_labels`].
    pub fn from_checkpoint(config_json: &[u8], safetensors: &[u8], tokenizer_json: &[u8]) -> Result<Self, BundleError> {
        let model = IcdModel::load(config_json, safetensors, &Device::Cpu)?;
        let tokenizer = NoteTokenizer::from_tokenizer_json(tokenizer_json)?;
        let labels = model.labels().iter().map(|code| BundleLabel::code_only(code)).collect();
        Ok(Self { model, tokenizer, labels, documentation: DocumentationRules::default(), manifest: None })
    }

    /// Sets descriptions and chapters; `labels` must be the model's codes in label-id order.
    pub fn with_labels(mut self, labels: Vec<BundleLabel>) -> Result<Self, BundleError> {
        let codes: Vec<&str> = labels.iter().map(|l| l.code.as_str()).collect();
        let ours: Vec<&str> = self.model.labels().iter().map(String::as_str).collect();
        if codes != ours {
            return Err(BundleError::Manifest(format!("labels {codes:?} differ from the model's {ours:?}")));
        }
        self.documentation = rules_for(&labels);
        self.labels = labels;
        Ok(self)
    }

    /// The manifest of a bundle; `None` for a checkpoint.
    pub fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    pub fn labels(&self) -> &[BundleLabel] {
        &self.labels
    }

    pub fn model(&self) -> &IcdModel {
        &self.model
    }

    pub fn tokenizer(&self) -> &NoteTokenizer {
        &self.tokenizer
    }

    pub fn evidence_method(&self) -> EvidenceMethod {
        match self.model.config().icd.head {
            HeadKind::LabelAttention => EvidenceMethod::Attention,
            HeadKind::Cls => EvidenceMethod::Occlusion,
        }
    }

    /// Per-label scores in label-id order (no evidence): what `icd eval` and the quantizer use.
    pub fn scores(&self, text: &str) -> Result<Vec<f32>, ModelError> {
        Ok(self.model.predict(&self.tokenizer, text)?.2.scores)
    }

    /// The `top_k` codes, highest score first, each with evidence.
    pub fn code(&self, text: &str, top_k: usize) -> Result<Vec<CodedLabel>, ModelError> {
        self.code_with(text, top_k, true)
    }

    /// [`Coder::code`]; `with_evidence = false` skips the evidence (and, for the `cls` head,
    /// the occlusion passes).
    pub fn code_with(&self, text: &str, top_k_n: usize, with_evidence: bool) -> Result<Vec<CodedLabel>, ModelError> {
        Ok(self.code_inner(text, top_k_n, if with_evidence { Passes::Run } else { Passes::Skip }, None)?.0)
    }

    /// [`Coder::code_with`], and the note's per-label scores: what
    /// [`Coder::code_with_occluded`] can take back instead of scoring the note again.
    pub fn code_and_scores(&self, text: &str, top_k_n: usize, with_evidence: bool) -> Result<(Vec<CodedLabel>, Vec<f32>), ModelError> {
        self.code_inner(text, top_k_n, if with_evidence { Passes::Run } else { Passes::Skip }, None)
    }

    /// [`Coder::code`] for a `cls` head whose occlusion passes ran elsewhere (the page splits
    /// them across its workers): `occluded[i]` is [`Coder::occluded_scores`] for the `i`-th
    /// span of [`occlusion_spans`]`(text, MAX_OCCLUSION_SPANS)`, every span in order. The
    /// result is the same as `code`'s. `base`: the note's own scores from
    /// [`Coder::code_and_scores`], which spares a `cls` head's forward pass over the note.
    pub fn code_with_occluded(&self, text: &str, top_k_n: usize, occluded: Vec<Vec<f32>>, base: Option<Vec<f32>>) -> Result<Vec<CodedLabel>, ModelError> {
        if let Some(b) = base.as_ref().filter(|b| b.len() != self.labels.len()) {
            return Err(ModelError::Input(format!("{} base scores for {} labels", b.len(), self.labels.len())));
        }
        let spans = occlusion_spans(text, MAX_OCCLUSION_SPANS);
        if occluded.len() != spans.len() || occluded.iter().any(|s| s.len() != self.labels.len()) {
            return Err(ModelError::Input(format!(
                "{} occluded score rows of {:?} labels for a note of {} spans of {} labels",
                occluded.len(),
                occluded.first().map(Vec::len),
                spans.len(),
                self.labels.len()
            )));
        }
        Ok(self.code_inner(text, top_k_n, Passes::Given(spans, occluded), base)?.0)
    }

    /// How many input windows the note has: a `cls` head's windows can be run in several
    /// places ([`Coder::window_states`]).
    pub fn window_count(&self, text: &str) -> Result<usize, ModelError> {
        Ok(self.model.chunks(&self.tokenizer, text)?.1.len())
    }

    /// Share `part` of `parts` of a `cls` note's windows (consecutive windows, as
    /// [`crate::evidence::shares`] cuts them): each window's `[CLS]` state. Every share's
    /// states, in part order, are the note's, for [`Coder::code_from_states`].
    pub fn window_states(&self, text: &str, part: usize, parts: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        if part >= parts {
            return Err(ModelError::Input(format!("window share {part} of {parts}")));
        }
        let (_, chunks) = self.model.chunks(&self.tokenizer, text)?;
        let range = crate::evidence::shares(chunks.len(), parts.min(chunks.len())).into_iter().nth(part).unwrap_or(0..0);
        if range.is_empty() {
            return Ok(Vec::new());
        }
        self.model.window_states(&chunks[range])
    }

    /// [`Coder::code_and_scores`] without evidence from every window's state (all shares of
    /// [`Coder::window_states`], in order): the same codes and scores, with the encoder run
    /// elsewhere.
    pub fn code_from_states(&self, text: &str, top_k_n: usize, states: Vec<Vec<f32>>) -> Result<(Vec<CodedLabel>, Vec<f32>), ModelError> {
        let windows = self.window_count(text)?;
        if states.len() != windows {
            return Err(ModelError::Input(format!("{} window states for a note of {windows} windows", states.len())));
        }
        let scores = self.model.classify_states(&states)?.scores;
        self.code_inner(text, top_k_n, Passes::Skip, Some(scores))
    }

    /// The label scores of `text` without each of `spans` (byte ranges of `text`), one forward
    /// pass each: a share of a `cls` head's occlusion evidence.
    pub fn occluded_scores(&self, text: &str, spans: &[(usize, usize)]) -> Result<Vec<Vec<f32>>, ModelError> {
        spans
            .iter()
            .map(|&(s, e)| {
                if s > e || e > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
                    return Err(ModelError::Input(format!("span {s}..{e} is not a range of the {}-byte note", text.len())));
                }
                // A space keeps the words on either side apart.
                self.scores(&format!("{} {}", &text[..s], &text[e..]))
            })
            .collect()
    }

    fn code_inner(&self, text: &str, top_k_n: usize, passes: Passes, base: Option<Vec<f32>>) -> Result<(Vec<CodedLabel>, Vec<f32>), ModelError> {
        let with_evidence = !matches!(passes, Passes::Skip);
        // A `cls` head's codes and occlusion evidence need only the scores; label attention's
        // evidence needs the forward pass's attention.
        let (attended, scores) = match base.filter(|_| self.evidence_method() == EvidenceMethod::Occlusion) {
            Some(scores) => (None, scores),
            None => {
                let (enc, chunks, pred) = self.model.predict(&self.tokenizer, text)?;
                let scores = pred.scores.clone();
                (Some((enc, chunks, pred)), scores)
            }
        };
        let top = self.documentation.rank(text, &scores, top_k_n);
        let mut occlusion = None;
        if with_evidence && self.evidence_method() == EvidenceMethod::Occlusion && !top.is_empty() {
            let (spans, occluded) = match passes {
                Passes::Given(spans, occluded) => (spans, occluded),
                _ => {
                    let spans = occlusion_spans(text, MAX_OCCLUSION_SPANS);
                    let occluded = self.occluded_scores(text, &spans)?;
                    (spans, occluded)
                }
            };
            occlusion = Some(Occlusion::new(spans, &scores, occluded));
        }
        let note = assertion::Note::new(text);
        let mut coded: Vec<CodedLabel> = top
            .into_iter()
            .map(|ranked| {
                let l = ranked.label;
                let spans = if !with_evidence {
                    Vec::new()
                } else if let Some(occ) = &occlusion {
                    occ.evidence(l)
                } else if let Some((enc, chunks, pred)) = &attended {
                    evidence::attention(enc, chunks, pred, l, EVIDENCE_TOP_N).into_iter().map(|s| (s.start, s.end, s.weight)).collect()
                } else {
                    Vec::new()
                };
                let info = &self.labels[l];
                CodedLabel {
                    code: info.code.clone(),
                    description: info.description.clone(),
                    chapter: info.chapter,
                    score: ranked.score,
                    score_from: ranked.carried_from.map(|c| self.labels[c].code.clone()),
                    model_score: ranked.carried_from.map(|_| scores[l]),
                    evidence: spans
                        .into_iter()
                        .map(|(start, end, weight)| EvidenceSpan {
                            start,
                            end,
                            text: text[start..end].to_string(),
                            weight,
                            assertion: note.mention(mention_in(text, start..end, &info.description)),
                        })
                        .collect(),
                    undocumented: ranked.undocumented.iter().map(|f| f.to_string()).collect(),
                    demoted: None,
                    hcc: Vec::new(),
                    rules: Vec::new(),
                    source: Default::default(),
                    specificity: None,
                }
            })
            .collect();
        demote_unasserted(&mut coded);
        Ok((coded, scores))
    }
}

/// Where a `cls` head's occlusion scores come from.
enum Passes {
    /// No evidence.
    Skip,
    /// Run here.
    Run,
    /// Run elsewhere: the spans and the scores without each.
    Given(Vec<(usize, usize)>, Vec<Vec<f32>>),
}

/// Adds each suggestion's CMS-HCC categories and the coding rules' messages on it alone
/// (`icd predict`; the page checks the accepted codes together instead).
pub fn annotate(table: &CodeTable, coded: &mut [CodedLabel]) {
    for c in coded {
        c.hcc = table.get(&c.code).map(|code| table.hcc(code)).unwrap_or_default();
        c.rules = rules::check(table, &[c.code.as_str()], &Patient::default()).messages;
    }
}

fn rules_for(labels: &[BundleLabel]) -> DocumentationRules {
    DocumentationRules::new(labels.iter().map(|l| (l.code.as_str(), l.description.as_str())))
}
