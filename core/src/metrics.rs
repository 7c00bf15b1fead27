//! Classification metrics, shared by the trainer, `icd eval` and bundle manifests.
//!
//! Multi-class figures follow scikit-learn's conventions: macro and weighted
//! averages run over the labels present in the truth or the predictions, and a
//! 0/0 precision or recall counts as 0.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelStats {
    pub label: usize,
    pub support: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MulticlassReport {
    pub n: usize,
    pub accuracy: f64,
    pub top5_accuracy: f64,
    pub macro_precision: f64,
    pub macro_recall: f64,
    pub macro_f1: f64,
    pub weighted_precision: f64,
    pub weighted_recall: f64,
    pub weighted_f1: f64,
    /// Labels present in truth or predictions, by label id.
    pub per_label: Vec<LabelStats>,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// Indices of the `k` highest scores, best first (ties: lower index first).
pub fn top_k(scores: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// `truth[i]` is the gold label of example i; `scores[i]` its per-label scores.
pub fn multiclass(num_labels: usize, truth: &[usize], scores: &[Vec<f32>]) -> MulticlassReport {
    assert_eq!(truth.len(), scores.len(), "one score row per example");
    let pred: Vec<usize> = scores.iter().map(|s| top_k(s, 1)[0]).collect();
    let top5 = truth.iter().zip(scores).filter(|(t, s)| top_k(s, 5).contains(t)).count();
    let mut rep = multiclass_from_predictions(num_labels, truth, &pred);
    rep.top5_accuracy = ratio(top5, truth.len());
    rep
}

/// Like [`multiclass`] from hard predictions; `top5_accuracy` is left at 0.
pub fn multiclass_from_predictions(num_labels: usize, truth: &[usize], pred: &[usize]) -> MulticlassReport {
    assert_eq!(truth.len(), pred.len());
    let mut tp = vec![0usize; num_labels];
    let mut support = vec![0usize; num_labels];
    let mut predicted = vec![0usize; num_labels];
    for (&t, &p) in truth.iter().zip(pred) {
        support[t] += 1;
        predicted[p] += 1;
        if t == p {
            tp[t] += 1;
        }
    }
    let n = truth.len();
    let per_label: Vec<LabelStats> = (0..num_labels)
        .filter(|&l| support[l] + predicted[l] > 0)
        .map(|l| {
            let precision = ratio(tp[l], predicted[l]);
            let recall = ratio(tp[l], support[l]);
            LabelStats { label: l, support: support[l], precision, recall, f1: f1(precision, recall) }
        })
        .collect();
    let m = per_label.len().max(1) as f64;
    let mean = |f: fn(&LabelStats) -> f64| per_label.iter().map(f).sum::<f64>() / m;
    let weighted = |f: fn(&LabelStats) -> f64| {
        if n == 0 {
            0.0
        } else {
            per_label.iter().map(|s| f(s) * s.support as f64).sum::<f64>() / n as f64
        }
    };
    MulticlassReport {
        n,
        accuracy: ratio(tp.iter().sum(), n),
        top5_accuracy: 0.0,
        macro_precision: mean(|s| s.precision),
        macro_recall: mean(|s| s.recall),
        macro_f1: mean(|s| s.f1),
        weighted_precision: weighted(|s| s.precision),
        weighted_recall: weighted(|s| s.recall),
        weighted_f1: weighted(|s| s.f1),
        per_label,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultilabelReport {
    pub n: usize,
    pub threshold: f32,
    pub micro_precision: f64,
    pub micro_recall: f64,
    pub micro_f1: f64,
    /// Mean F1 over labels with any gold or predicted example.
    pub macro_f1: f64,
    /// Mean over examples of (gold codes among the top 5) / 5.
    pub precision_at_5: f64,
    /// Share of examples whose top-scored code is one of their gold codes.
    pub top1_in_gold: f64,
}

/// `truth[i]` are the gold labels of example i; a label is predicted when its score ≥ `threshold`.
pub fn multilabel(num_labels: usize, truth: &[Vec<usize>], scores: &[Vec<f32>], threshold: f32) -> MultilabelReport {
    assert_eq!(truth.len(), scores.len());
    let (mut tp, mut fp, mut fnn) = (vec![0usize; num_labels], vec![0usize; num_labels], vec![0usize; num_labels]);
    let mut p_at_5 = 0.0;
    let mut top1 = 0usize;
    for (gold, s) in truth.iter().zip(scores) {
        for (l, &v) in s.iter().enumerate() {
            match (v >= threshold, gold.contains(&l)) {
                (true, true) => tp[l] += 1,
                (true, false) => fp[l] += 1,
                (false, true) => fnn[l] += 1,
                _ => {}
            }
        }
        let top = top_k(s, 5);
        p_at_5 += top.iter().filter(|l| gold.contains(l)).count() as f64 / 5.0;
        if top.first().is_some_and(|l| gold.contains(l)) {
            top1 += 1;
        }
    }
    let (stp, sfp, sfn): (usize, usize, usize) = (tp.iter().sum(), fp.iter().sum(), fnn.iter().sum());
    let micro_precision = ratio(stp, stp + sfp);
    let micro_recall = ratio(stp, stp + sfn);
    let active: Vec<usize> = (0..num_labels).filter(|&l| tp[l] + fp[l] + fnn[l] > 0).collect();
    let macro_f1 = active.iter().map(|&l| f1(ratio(tp[l], tp[l] + fp[l]), ratio(tp[l], tp[l] + fnn[l]))).sum::<f64>() / active.len().max(1) as f64;
    let n = truth.len();
    MultilabelReport {
        n,
        threshold,
        micro_precision,
        micro_recall,
        micro_f1: f1(micro_precision, micro_recall),
        macro_f1,
        precision_at_5: if n == 0 { 0.0 } else { p_at_5 / n as f64 },
        top1_in_gold: ratio(top1, n),
    }
}

/// The threshold in 0.05..=0.95 (step 0.05) with the best micro-F1 (ties: the lower one).
pub fn tune_threshold(num_labels: usize, truth: &[Vec<usize>], scores: &[Vec<f32>]) -> f32 {
    let mut best = (0.5f32, -1.0f64);
    for step in 1..=19 {
        let t = step as f32 * 0.05;
        let f = multilabel(num_labels, truth, scores, t).micro_f1;
        if f > best.1 {
            best = (t, f);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    /// Hand-computed on the confusion:
    /// truth 0,0,0,1,1,2 ; pred 0,0,1,1,2,2
    /// label 0: tp 2, pred 2, support 3 -> P 1, R 2/3, F1 0.8
    /// label 1: tp 1, pred 2, support 2 -> P 1/2, R 1/2, F1 1/2
    /// label 2: tp 1, pred 2, support 1 -> P 1/2, R 1, F1 2/3
    #[test]
    fn multiclass_matches_hand_computation() {
        let r = multiclass_from_predictions(4, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        close(r.accuracy, 4.0 / 6.0);
        close(r.macro_precision, (1.0 + 0.5 + 0.5) / 3.0);
        close(r.macro_recall, (2.0 / 3.0 + 0.5 + 1.0) / 3.0);
        close(r.macro_f1, (0.8 + 0.5 + 2.0 / 3.0) / 3.0);
        close(r.weighted_precision, (3.0 * 1.0 + 2.0 * 0.5 + 1.0 * 0.5) / 6.0);
        close(r.weighted_recall, 4.0 / 6.0);
        close(r.weighted_f1, (3.0 * 0.8 + 2.0 * 0.5 + 2.0 / 3.0) / 6.0);
        assert_eq!(r.per_label.len(), 3, "label 3 never occurs and is not averaged");
    }

    #[test]
    fn top5_counts_gold_anywhere_in_first_five() {
        let mut s = vec![0.0f32; 7];
        for (i, v) in [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3].iter().enumerate() {
            s[i] = *v;
        }
        let r = multiclass(7, &[4, 5, 0], &[s.clone(), s.clone(), s]);
        close(r.top5_accuracy, 2.0 / 3.0);
        close(r.accuracy, 1.0 / 3.0);
    }

    #[test]
    fn multilabel_micro_macro_and_p_at_5() {
        // ex0 gold {0,1}: predicts 0 (tp), 2 (fp); misses 1 (fn)
        // ex1 gold {2}:   predicts 2 (tp)
        let truth = vec![vec![0, 1], vec![2]];
        let scores = vec![vec![0.9, 0.23, 0.52], vec![0.12, 0.13, 0.8]];
        let r = multilabel(3, &truth, &scores, 0.5);
        close(r.micro_precision, 2.0 / 3.0);
        close(r.micro_recall, 2.0 / 3.0);
        close(r.micro_f1, 2.0 / 3.0);
        // label 0: F1 1 ; label 1: F1 0 ; label 2: P 1/2 R 1 F1 2/3
        close(r.macro_f1, (1.0 + 0.0 + 2.0 / 3.0) / 3.0);
        close(r.precision_at_5, (2.0 / 5.0 + 1.0 / 5.0) / 2.0);
        close(r.top1_in_gold, 1.0);
        // t in (0.13, 0.23]: tp 3, fp 1, fn 0 -> F1 0.857, the best; 0.15 is the first such step.
        assert!((tune_threshold(3, &truth, &scores) - 0.15).abs() < 1e-6);
    }
}
