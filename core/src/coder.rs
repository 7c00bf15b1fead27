//! [`Coder`]: a note in, ranked ICD-10-CM codes with evidence out. What the web worker and
//! `icd predict` call; loaded from a verified bundle (int8) or a checkpoint (f32).
//!
//! Evidence is always given, by one of two methods ([`EvidenceMethod`]):
//! - `label_attention` head: the label's attention over the note's words ([`crate::evidence`]),
//!   weights are shares of the label's attention (they sum to at most 1).
//! - `cls` head: sentence occlusion. Each sentence is removed in turn and the note re-scored;
//!   a sentence's weight is how much the label's score drops without it (score units, only
//!   drops > 0 are kept). That costs one forward pass per sentence, so notes with more than
//!   [`MAX_OCCLUSION_SPANS`] sentences are cut into that many runs of neighbouring sentences.

use std::collections::HashMap;

use candle_core::Device;

use crate::assertion::{self, Assertion};
use crate::bundle::{self, BundleError, BundleLabel, Manifest, TOKENIZER_FILE};
use crate::documentation::DocumentationRules;
use crate::model::{evidence, HeadKind, IcdModel, Int8Kernel, ModelError, Prediction};
use crate::rules::{self, Patient};
pub use crate::schema::prediction::{CodedLabel, EvidenceMethod, EvidenceSpan};
use crate::tokenize::NoteTokenizer;
use crate::CodeTable;

/// Evidence spans returned per code.
pub const EVIDENCE_TOP_N: usize = 5;
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

/// At most this many occlusion passes per note (the `cls` head's evidence).
pub const MAX_OCCLUSION_SPANS: usize = 40;

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
        let (enc, chunks, pred) = self.model.predict(&self.tokenizer, text)?;
        let top = self.documentation.rank(text, &pred.scores, top_k_n);
        let mut occlusion = None;
        if with_evidence && self.evidence_method() == EvidenceMethod::Occlusion && !top.is_empty() {
            occlusion = Some(self.occlusion(text, &pred)?);
        }
        let mut coded: Vec<CodedLabel> = top
            .into_iter()
            .map(|ranked| {
                let l = ranked.label;
                let spans = if !with_evidence {
                    Vec::new()
                } else if let Some(occ) = &occlusion {
                    occ.evidence(l)
                } else {
                    evidence(&enc, &chunks, &pred, l, EVIDENCE_TOP_N).into_iter().map(|s| (s.start, s.end, s.weight)).collect()
                };
                let info = &self.labels[l];
                CodedLabel {
                    code: info.code.clone(),
                    description: info.description.clone(),
                    chapter: info.chapter,
                    score: ranked.score,
                    score_from: ranked.carried_from.map(|c| self.labels[c].code.clone()),
                    model_score: ranked.carried_from.map(|_| pred.scores[l]),
                    evidence: spans
                        .into_iter()
                        .map(|(start, end, weight)| EvidenceSpan {
                            start,
                            end,
                            text: text[start..end].to_string(),
                            weight,
                            assertion: assertion::assert_mention(text, mention_in(text, start..end, &info.description)),
                        })
                        .collect(),
                    undocumented: ranked.undocumented.iter().map(|f| f.to_string()).collect(),
                    demoted: None,
                    hcc: Vec::new(),
                    rules: Vec::new(),
                }
            })
            .collect();
        demote_unasserted(&mut coded);
        Ok(coded)
    }

    /// Scores the note once without each span of [`occlusion_spans`].
    fn occlusion(&self, text: &str, base: &Prediction) -> Result<Occlusion, ModelError> {
        let spans = occlusion_spans(text, MAX_OCCLUSION_SPANS);
        let mut drops = Vec::with_capacity(spans.len());
        for &(s, e) in &spans {
            // A space keeps the words on either side apart.
            let without = format!("{} {}", &text[..s], &text[e..]);
            let scores = self.scores(&without)?;
            drops.push(base.scores.iter().zip(&scores).map(|(b, o)| b - o).collect::<Vec<f32>>());
        }
        Ok(Occlusion { spans, drops })
    }
}

/// Adds each suggestion's CMS-HCC categories and the coding rules' messages on it alone
/// (`icd predict`; the page checks the accepted codes together instead).
pub fn annotate(table: &CodeTable, coded: &mut [CodedLabel]) {
    for c in coded {
        c.hcc = table.get(&c.code).map(|code| table.hcc(code)).unwrap_or_default();
        c.rules = rules::check(table, &[c.code.as_str()], &Patient::default()).messages;
    }
}

/// Where in an evidence span the code's condition is named: the first word that shares a
/// 5-letter stem with a content word of the code's title ("Denies chest pain." for R07.9
/// "Chest pain, unspecified" -> "chest"), so a sentence's own cue ("denies") scopes over it;
/// otherwise the span's last word, so the sentence's own cues reach it ("Mother has breast
/// cancer." for an asthma code is still a relative's sentence). Attention spans are single words.
fn mention_in(text: &str, span: std::ops::Range<usize>, title: &str) -> std::ops::Range<usize> {
    const FILLER: &[&str] = &[
        "unspecified",
        "other",
        "with",
        "without",
        "and",
        "due",
        "site",
        "type",
        "part",
        "specified",
        "classified",
        "elsewhere",
        "condition",
        "disorder",
        "encounter",
    ];
    let stem = |w: &str| w.chars().take(5).collect::<String>().to_lowercase();
    let stems: Vec<String> =
        title.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 4 && !FILLER.contains(&w.to_lowercase().as_str())).map(stem).collect();
    let body = &text[span.clone()];
    let mut at = 0;
    let mut last = None;
    for word in body.split(|c: char| !c.is_alphanumeric()) {
        let start = at;
        at += word.len() + body[at + word.len()..].chars().next().map_or(0, char::len_utf8);
        if word.is_empty() {
            continue;
        }
        let here = span.start + start..span.start + start + word.len();
        if word.len() >= 4 && stems.contains(&stem(word)) {
            return here;
        }
        last = Some(here);
    }
    last.unwrap_or(span)
}

/// A code whose every evidence span the note denies or gives to a relative ("denies chest
/// pain", "mother had breast cancer") moves below the codes the note asserts, keeping its
/// score, with `demoted` saying which. A family assertion wins over a negated one.
fn demote_unasserted(coded: &mut [CodedLabel]) {
    for c in coded.iter_mut() {
        let denied = |a: Assertion| matches!(a, Assertion::Negated | Assertion::Family);
        if !c.evidence.is_empty() && c.evidence.iter().all(|e| denied(e.assertion)) {
            let family = c.evidence.iter().any(|e| e.assertion == Assertion::Family);
            c.demoted = Some(if family { Assertion::Family } else { Assertion::Negated });
        }
    }
    // Stable: the asserted codes keep their order, then the demoted ones keep theirs.
    coded.sort_by_key(|c| c.demoted.is_some());
}

fn rules_for(labels: &[BundleLabel]) -> DocumentationRules {
    DocumentationRules::new(labels.iter().map(|l| (l.code.as_str(), l.description.as_str())))
}

struct Occlusion {
    spans: Vec<(usize, usize)>,
    /// `[span][label]`: score without the span subtracted from the full note's score.
    drops: Vec<Vec<f32>>,
}

impl Occlusion {
    fn evidence(&self, label: usize) -> Vec<(usize, usize, f32)> {
        let mut out: Vec<(usize, usize, f32)> = self.spans.iter().zip(&self.drops).map(|(&(s, e), d)| (s, e, d[label])).filter(|x| x.2 > 0.0).collect();
        out.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
        out.truncate(EVIDENCE_TOP_N);
        out
    }
}

/// The note's sentences as byte ranges (whitespace trimmed): a sentence ends after `.`, `!`,
/// `?` or `;` followed by whitespace, or at a line break. More than `max` sentences are merged
/// into `max` runs of neighbours (each run one occlusion pass).
pub fn occlusion_spans(text: &str, max: usize) -> Vec<(usize, usize)> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let end_here = match c {
            '\n' | '\r' => Some(i),
            '.' | '!' | '?' | ';' => {
                let next = bytes.get(i + 1);
                (next.is_none() || next.is_some_and(|b| b.is_ascii_whitespace())).then_some(i + 1)
            }
            _ => None,
        };
        if let Some(end) = end_here {
            push_trimmed(text, start, end, &mut sentences);
            start = end;
        }
    }
    push_trimmed(text, start, text.len(), &mut sentences);
    if max == 0 || sentences.len() <= max {
        return sentences;
    }
    let per = sentences.len().div_ceil(max);
    sentences.chunks(per).map(|run| (run[0].0, run[run.len() - 1].1)).collect()
}

fn push_trimmed(text: &str, start: usize, end: usize, out: &mut Vec<(usize, usize)>) {
    let piece = &text[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let trimmed = piece.trim();
    if !trimmed.is_empty() {
        out.push((start + lead, start + lead + trimmed.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::{demote_unasserted, mention_in, occlusion_spans};
    use crate::assertion::{assert_mention, Assertion};
    use crate::schema::prediction::{CodedLabel, EvidenceSpan};

    #[test]
    fn a_sentence_span_is_judged_at_the_word_naming_the_condition() {
        let t = "Cough for 3 days. Denies chest pain. FAMILY HISTORY: Mother had breast cancer.";
        let s = t.find("Denies").unwrap()..t.find(" FAMILY").unwrap();
        let m = mention_in(t, s.clone(), "Chest pain, unspecified");
        assert_eq!(&t[m.clone()], "chest");
        assert_eq!(assert_mention(t, m), Assertion::Negated);
        let s = t.find("Mother").unwrap()..t.len();
        let m = mention_in(t, s.clone(), "Malignant neoplasm of unspecified site of unspecified female breast");
        assert_eq!((&t[m.clone()], assert_mention(t, m)), ("breast", Assertion::Family));
        assert_eq!(&t[mention_in(t, 0..17, "Essential (primary) hypertension")], "days", "no title word: the last word");
        let s = t.find("Mother").unwrap()..t.len();
        assert_eq!(assert_mention(t, mention_in(t, s, "Unspecified asthma, uncomplicated")), Assertion::Family);
        assert_eq!(mention_in(t, 3..3, "Cough"), 3..3, "an empty span stays as it is");
    }

    fn coded(code: &str, assertions: &[Assertion]) -> CodedLabel {
        let evidence = assertions.iter().map(|&assertion| EvidenceSpan { start: 0, end: 1, text: "x".into(), weight: 1.0, assertion }).collect();
        CodedLabel {
            code: code.into(),
            description: String::new(),
            chapter: 0,
            score: 0.5,
            score_from: None,
            model_score: None,
            evidence,
            undocumented: vec![],
            demoted: None,
            hcc: vec![],
            rules: vec![],
        }
    }

    #[test]
    fn codes_the_note_denies_or_gives_to_a_relative_move_down() {
        let mut c = vec![
            coded("R07.9", &[Assertion::Negated]),
            coded("C50.919", &[Assertion::Family, Assertion::Negated]),
            coded("J20.9", &[Assertion::Present, Assertion::Negated]),
            coded("I10", &[]),
            coded("Z87.891", &[Assertion::Historical]),
        ];
        demote_unasserted(&mut c);
        let order: Vec<_> = c.iter().map(|c| (c.code.as_str(), c.demoted)).collect();
        assert_eq!(order, [("J20.9", None), ("I10", None), ("Z87.891", None), ("R07.9", Some(Assertion::Negated)), ("C50.919", Some(Assertion::Family))]);
    }

    #[test]
    fn sentences_split_and_merge() {
        let t = "Cough for 3 days. BP 140/90; on lisinopril.\nNo fever! Temp 37.2 today";
        let s: Vec<&str> = occlusion_spans(t, 40).iter().map(|&(a, b)| &t[a..b]).collect();
        assert_eq!(s, vec!["Cough for 3 days.", "BP 140/90;", "on lisinopril.", "No fever!", "Temp 37.2 today"]);
        let m = occlusion_spans(t, 2);
        assert_eq!(m.len(), 2);
        assert_eq!(&t[m[0].0..m[0].1], "Cough for 3 days. BP 140/90; on lisinopril.");
        assert_eq!(&t[m[1].0..m[1].1], "No fever! Temp 37.2 today");
        assert!(occlusion_spans("  \n ", 40).is_empty());
    }
}
