//! Messages between the page and the model worker: JSON strings through `postMessage`
//! (the code table worker's are in [`crate::codes`]).
//!
//! ```text
//! page → worker                          worker → page
//!                                        Started (the worker's handler is in place)
//! Load { base_url }                  →   Progress { loaded, total } …, then Ready { model } or Error
//! (a long note with several workers: its windows first, split across the pool:)
//! Windows { id, part, parts, text }  →   WindowStates { id, part, states }    (any worker, a share each)
//! Code { id, text, top_k, states }   →   Result { id, predictions, ms, evidence_pending } or Error { id }
//! (if evidence_pending, the page asks for it, split across the pool:)
//! Occlude { id, part, text, spans }  →   Occluded { id, part, scores }        (any worker, a share each)
//! Evidence { id, text, top_k, occluded } → Evidence { id, predictions, ms }  (the worker that coded it)
//! Batch { id, notes, top_k }         →   BatchDone { id, results }
//! ```
//! Nothing here leaves the device: the worker's only network use is fetching the bundle
//! (`{base_url}manifest.json` and the files it lists) from the site itself.

use icd_core::assertion::Assertion;
use icd_core::bundle::Manifest;
use icd_core::hcc::HccFlag;
use icd_core::specificity::Specificity;
use icd_core::{candidates, CodeTable, CodedLabel, EvidenceSpan, HeadKind, NotePrediction, Objective, SearchIndex, Source};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ToWorker {
    /// Fetch, verify and load the bundle under `base_url` (relative to the worker, e.g. `./bundle/`).
    Load { base_url: String },
    /// `states`: every window's `[CLS]` state, when the pool ran a long note's windows
    /// (`Windows`); the worker then codes from them without running the encoder.
    Code {
        id: u32,
        text: String,
        top_k: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        states: Option<Vec<Vec<f32>>>,
    },
    /// A share of a long `cls` note's windows: their `[CLS]` states (core's
    /// `Coder::window_states`). Skipped, with no answer, once a newer request came.
    Windows { id: u32, part: usize, parts: usize, text: String },
    /// A share of a `cls` note's occlusion passes: the note's scores without each of `spans`
    /// (core's `Coder::occluded_scores`). Skipped, with no answer, once a newer request came.
    Occlude { id: u32, part: usize, text: String, spans: Vec<(usize, usize)> },
    /// The evidence of `Code { id }`: from every share's scores in span order (`occluded`),
    /// or, with `None`, by running all the passes here.
    Evidence { id: u32, text: String, top_k: usize, occluded: Option<Vec<Vec<f32>>> },
    /// Notes coded without evidence; the page sends one note per request, so its answer is
    /// the progress.
    Batch { id: u32, notes: Vec<Note>, top_k: usize },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FromWorker {
    /// The worker is listening: messages sent before this could be lost (its wasm starts
    /// asynchronously), so the page sends `Load` only after it.
    Started,
    /// Bytes of the bundle fetched so far; `total` from the manifest.
    Progress {
        loaded: u64,
        total: u64,
    },
    Ready {
        model: ModelSummary,
    },
    /// `id` is the request that failed; `None` for the load itself.
    Error {
        id: Option<u32>,
        message: String,
    },
    /// The codes. `evidence_pending`: their evidence is slow to compute (a `cls` head's sentence
    /// occlusion, one forward pass per sentence), so the page asks for it (`ToWorker::Evidence`)
    /// and shows the codes meanwhile.
    Result {
        id: u32,
        predictions: Vec<Prediction>,
        ms: f64,
        evidence_pending: bool,
    },
    /// The same codes as `Result { id }`, with their evidence; `ms` is this worker's own time
    /// for it (the page times the whole, shares included). Not sent when a newer note was
    /// sent before it started.
    Evidence {
        id: u32,
        predictions: Vec<Prediction>,
        ms: f64,
    },
    /// `Windows { id, part }`'s states, one per window of the share (none when the note has
    /// fewer windows than shares).
    WindowStates {
        id: u32,
        part: usize,
        states: Vec<Vec<f32>>,
    },
    /// `Occlude { id, part }`'s scores, one row per span.
    Occluded {
        id: u32,
        part: usize,
        scores: Vec<Vec<f32>>,
    },
    /// Every note's codes, in the note order: `icd predict`'s prediction records (core's
    /// [`NotePrediction`], without evidence), `error` set on a note that could not be coded.
    BatchDone {
        id: u32,
        results: Vec<NotePrediction>,
    },
}

/// One note of a batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub code: String,
    pub description: String,
    pub score: f32,
    /// ICD-10-CM chapter number (1–22).
    pub chapter: u8,
    /// Byte ranges of the note that support this code, strongest first.
    #[serde(default)]
    pub evidence: Vec<Span>,
    /// Facts the code's title asserts that the note does not document (core's
    /// `CodedLabel::undocumented`): never preselected, shown beside the code.
    #[serde(default)]
    pub undocumented: Vec<String>,
    /// The flagged code whose score this one carries (core's `CodedLabel::score_from`).
    #[serde(default)]
    pub score_from: Option<String>,
    /// Set when every evidence span is negated or a relative's (core's `CodedLabel::demoted`).
    #[serde(default)]
    pub demoted: Option<Assertion>,
    /// The model, the code table or both (core's `CodedLabel::source`); the worker sends model
    /// codes, the page fuses them with the code table's ([`Prediction::fuse`]).
    #[serde(default)]
    pub source: Source,
    /// More specific codes to pick from (core's `CodedLabel::specificity`).
    #[serde(default)]
    pub specificity: Option<Specificity>,
    /// The code's CMS-HCC categories (filled by the code table worker, `crate::codes`).
    #[serde(default)]
    pub hcc: Vec<HccFlag>,
}

impl Prediction {
    /// A core prediction for the page: span weights scaled so each code's strongest is 1
    /// (core's `evidence::relative_weights`), none when no weight is positive.
    pub fn from_coded(c: CodedLabel) -> Prediction {
        let weights = icd_core::evidence::relative_weights(&c.evidence);
        let any = weights.iter().any(|w| *w > 0.0);
        let evidence =
            c.evidence.iter().zip(weights).filter(|_| any).map(|(s, weight)| Span { start: s.start, end: s.end, weight, assertion: s.assertion }).collect();
        Prediction {
            code: c.code,
            description: c.description,
            score: c.score,
            chapter: c.chapter,
            evidence,
            undocumented: c.undocumented,
            score_from: c.score_from,
            demoted: c.demoted,
            source: c.source,
            specificity: c.specificity,
            hcc: c.hcc,
        }
    }

    /// Back to core's form for `text` (the note these spans point into).
    fn into_coded(self, text: &str) -> CodedLabel {
        let evidence = self
            .evidence
            .iter()
            .filter(|s| s.start <= s.end && text.get(s.start..s.end).is_some())
            .map(|s| EvidenceSpan { start: s.start, end: s.end, text: text[s.start..s.end].to_string(), weight: s.weight, assertion: s.assertion })
            .collect();
        CodedLabel {
            code: self.code,
            description: self.description,
            chapter: self.chapter,
            score: self.score,
            score_from: self.score_from,
            model_score: None,
            evidence,
            undocumented: self.undocumented,
            demoted: self.demoted,
            hcc: self.hcc,
            rules: Vec::new(),
            source: self.source,
            specificity: self.specificity,
        }
    }

    /// The model's codes for `text` fused with the codes its diagnostic statements match in
    /// `table` ([`candidates::fuse_note`]): the list and whether it is of low confidence.
    pub fn fuse(table: &CodeTable, index: &SearchIndex, text: &str, model: Vec<Prediction>, top_k: usize) -> (Vec<Prediction>, bool) {
        let coded = model.into_iter().map(|p| p.into_coded(text)).collect();
        let fused = candidates::fuse_note(table, index, text, coded, top_k);
        (fused.codes.into_iter().map(Prediction::from_coded).collect(), fused.low_confidence)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    /// Relative strength in 0..=1.
    pub weight: f32,
    /// What the note asserts there (negated, family, ...), from `icd_core::assertion`.
    #[serde(default = "present")]
    pub assertion: Assertion,
}

fn present() -> Assertion {
    Assertion::Present
}

/// What the model panel shows, from the bundle's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    pub name: String,
    pub base_model: String,
    pub head: HeadKind,
    /// `softmax` (one code per note) or `sigmoid` (multi-label).
    pub objective: Objective,
    pub threshold: f32,
    pub labels: usize,
    pub max_length: usize,
    /// Bytes of all bundle files (manifest included).
    pub bytes: u64,
    /// `metrics` of the manifest (f32 vs int8 on the test set), as JSON for the table.
    pub metrics: serde_json::Value,
    /// Milliseconds from `Load` to `Ready`.
    pub load_ms: f64,
    /// The int8 kernel this worker build runs: [`KERNEL_RELAXED`] or [`KERNEL_SIMD128`].
    pub kernel: String,
}

/// The worker built with relaxed SIMD (`worker-relaxed`): 8-bit weights × 7-bit activations.
pub const KERNEL_RELAXED: &str = "relaxed SIMD (i8 × u7)";
/// The SIMD128 worker (`worker`): 11-bit weights × 12-bit activations.
pub const KERNEL_SIMD128: &str = "SIMD128 (i16 × i16)";

impl ModelSummary {
    pub fn multi_label(&self) -> bool {
        self.objective == Objective::Sigmoid
    }

    /// The summary fields of a bundle manifest (docs/bundle-format.md).
    pub fn from_manifest(manifest: &Manifest, bytes: u64, load_ms: f64) -> Self {
        let icd = &manifest.icd;
        ModelSummary {
            name: manifest.name.clone(),
            base_model: icd.base_model.clone().unwrap_or_default(),
            head: icd.head,
            objective: icd.objective,
            threshold: icd.threshold,
            labels: manifest.labels.len(),
            max_length: icd.max_length,
            bytes,
            metrics: manifest.metrics.as_ref().map_or(serde_json::Value::Null, |m| serde_json::to_value(m).expect("metrics serialize")),
            load_ms,
            kernel: if icd_kernels::RELAXED_SIMD { KERNEL_RELAXED } else { KERNEL_SIMD128 }.into(),
        }
    }
}

impl ToWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("serializing a message cannot fail")
    }
}

impl FromWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("serializing a message cannot fail")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_as_tagged_json() {
        let m = ToWorker::Code { id: 7, text: "cough".into(), top_k: 10, states: None };
        let j = m.to_json();
        assert!(j.contains(r#""type":"Code""#), "{j}");
        assert_eq!(serde_json::from_str::<ToWorker>(&j).unwrap(), m);
        let r = FromWorker::Error { id: None, message: "x".into() };
        assert_eq!(serde_json::from_str::<FromWorker>(&r.to_json()).unwrap(), r);
        let m = ToWorker::Code { id: 8, text: "cough".into(), top_k: 10, states: Some(vec![vec![0.5, -1.0]]) };
        assert_eq!(serde_json::from_str::<ToWorker>(&m.to_json()).unwrap(), m);
        let r = FromWorker::WindowStates { id: 8, part: 1, states: vec![vec![0.25; 3]] };
        assert_eq!(serde_json::from_str::<FromWorker>(&r.to_json()).unwrap(), r);
        let p = Prediction {
            code: "J45.909".into(),
            description: "Asthma".into(),
            score: 0.6,
            chapter: 10,
            evidence: vec![Span { start: 0, end: 6, weight: 1.0, assertion: Assertion::Negated }],
            undocumented: vec![],
            score_from: None,
            demoted: Some(Assertion::Negated),
            source: Source::Both,
            specificity: None,
            hcc: vec![],
        };
        let r = FromWorker::Result { id: 3, predictions: vec![p.clone()], ms: 1.0, evidence_pending: true };
        assert_eq!(serde_json::from_str::<FromWorker>(&r.to_json()).unwrap(), r);
        let e = FromWorker::Evidence { id: 3, predictions: vec![p], ms: 2.0 };
        assert!(e.to_json().contains(r#""type":"Evidence""#));
        assert_eq!(serde_json::from_str::<FromWorker>(&e.to_json()).unwrap(), e);
    }

    #[test]
    fn summary_reads_the_manifest() {
        // The shipped bundle's manifest, as the worker gets it.
        let bytes = include_bytes!("../../bundles/default-recipe/manifest.json");
        let m = Manifest::from_json(bytes).unwrap();
        let s = ModelSummary::from_manifest(&m, 1000, 5.0);
        assert_eq!((s.name.as_str(), s.labels, s.multi_label()), (m.name.as_str(), m.labels.len(), m.icd.objective == Objective::Sigmoid));
        assert_eq!(s.head, m.icd.head);
        assert_eq!(s.metrics["int8"]["multiclass"]["accuracy"].as_f64(), m.metrics.as_ref().map(|x| x.int8.multiclass.accuracy));
        let round: ModelSummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(round, s);
    }
}
