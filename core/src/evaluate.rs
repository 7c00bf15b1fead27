//! Scoring a model on a labelled test set: gold labels in the model's label space, and the
//! [`EvalReport`] of its scores (`icd eval`, `icd-quantize`'s f32-vs-int8 gate).

use std::collections::HashMap;

use crate::bundle::BundleLabel;
use crate::schema::report::EvalReport;

/// Gold labels of a test set in a model's label space (see [`eval_truth`]).
#[derive(Debug, Clone, Default)]
pub struct EvalTruth {
    /// Indices (into the records) of the notes that are scored: those whose primary code is a label.
    pub used: Vec<usize>,
    /// Per used note: the primary code's label id.
    pub primary: Vec<usize>,
    /// Per used note: every code's label id that is in the label space.
    pub all: Vec<Vec<usize>>,
    /// Notes left out: (record index, primary code).
    pub skipped: Vec<(usize, String)>,
}

/// Maps records onto label ids. A note whose primary code is not a label cannot be scored
/// for accuracy and is listed in `skipped` (callers report it); secondary codes outside the
/// label space are dropped from `all`.
pub fn eval_truth(labels: &[BundleLabel], records: &[crate::dataset::Record]) -> EvalTruth {
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.code.as_str(), i)).collect();
    let mut t = EvalTruth::default();
    for (i, r) in records.iter().enumerate() {
        let ids: Vec<usize> = r.codes.iter().filter_map(|c| index.get(c.as_str()).copied()).collect();
        match r.codes.first().and_then(|c| index.get(c.as_str())) {
            Some(&p) => {
                t.used.push(i);
                t.primary.push(p);
                t.all.push(ids);
            }
            None => t.skipped.push((i, r.codes.first().cloned().unwrap_or_default())),
        }
    }
    t
}

/// Metrics of `scores` (one row per used note, label-id order): multiclass on the primary
/// code; multilabel too when `threshold` is given (sigmoid models).
pub fn eval_report(n_labels: usize, truth: &EvalTruth, scores: &[Vec<f32>], threshold: Option<f32>) -> EvalReport {
    EvalReport {
        multiclass: crate::metrics::multiclass(n_labels, &truth.primary, scores),
        multilabel: threshold.map(|t| crate::metrics::multilabel(n_labels, &truth.all, scores, t)),
    }
}
