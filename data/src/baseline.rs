//! A bag-of-words multinomial naive Bayes on the primary code: the dataset card's
//! measure of how easy a set is (a set a word counter solves teaches little).

use std::collections::HashMap;

use icd_core::dataset::Record;
use icd_core::metrics::{multiclass, MulticlassReport};

/// Lower-case runs of letters/digits, 2+ characters, plus adjacent-word bigrams.
pub fn features(text: &str) -> Vec<String> {
    let words: Vec<String> = text.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 2).map(|w| w.to_lowercase()).collect();
    let mut f = words.clone();
    f.extend(words.windows(2).map(|w| format!("{} {}", w[0], w[1])));
    f
}

pub struct NaiveBayes {
    pub labels: Vec<String>,
    index: HashMap<String, usize>,
    vocab: HashMap<String, usize>,
    log_prior: Vec<f32>,
    /// log P(feature | label) of a feature never seen with the label.
    unseen: Vec<f32>,
    /// Per feature, the labels it was seen with and how much more likely it is there
    /// than `unseen` (sparse: bigrams make the vocabulary large).
    seen: Vec<Vec<(u32, f32)>>,
}

impl NaiveBayes {
    /// Trains on each record's primary code with Laplace smoothing `alpha`.
    pub fn train(records: &[Record], alpha: f32) -> Self {
        let mut labels: Vec<String> = records.iter().filter_map(|r| r.codes.first().cloned()).collect();
        labels.sort();
        labels.dedup();
        let index: HashMap<String, usize> = labels.iter().enumerate().map(|(i, l)| (l.clone(), i)).collect();
        let mut vocab: HashMap<String, usize> = HashMap::new();
        let mut counts: Vec<HashMap<u32, f32>> = Vec::new();
        let mut docs = vec![0f32; labels.len()];
        let mut totals = vec![0f32; labels.len()];
        for r in records {
            let Some(&y) = r.codes.first().and_then(|c| index.get(c)) else { continue };
            docs[y] += 1.0;
            for f in features(&r.text) {
                let next = vocab.len();
                let id = *vocab.entry(f).or_insert(next);
                if id == counts.len() {
                    counts.push(HashMap::new());
                }
                *counts[id].entry(y as u32).or_insert(0.0) += 1.0;
                totals[y] += 1.0;
            }
        }
        let v = vocab.len() as f32;
        let n: f32 = docs.iter().sum();
        let log_prior = docs.iter().map(|d| (d / n.max(1.0)).ln()).collect();
        let unseen = totals.iter().map(|t| (alpha / (t + alpha * v)).ln()).collect();
        let seen = counts
            .into_iter()
            .map(|row| {
                let mut r: Vec<(u32, f32)> = row.into_iter().map(|(y, c)| (y, ((c + alpha) / alpha).ln())).collect();
                r.sort_by_key(|x| x.0);
                r
            })
            .collect();
        Self { labels, index, vocab, log_prior, unseen, seen }
    }

    /// Log-posterior (unnormalized) per label; unseen features are ignored.
    pub fn scores(&self, text: &str) -> Vec<f32> {
        let mut s = self.log_prior.clone();
        let mut known = 0f32;
        for f in features(text) {
            if let Some(&id) = self.vocab.get(&f) {
                known += 1.0;
                for &(y, d) in &self.seen[id] {
                    s[y as usize] += d;
                }
            }
        }
        for (a, u) in s.iter_mut().zip(&self.unseen) {
            *a += known * u;
        }
        s
    }

    pub fn predict(&self, text: &str) -> Option<&str> {
        let s = self.scores(text);
        icd_core::metrics::top_k(&s, 1).first().map(|&i| self.labels[i].as_str())
    }

    /// Top-1/top-5 accuracy and macro-F1 on the primary code. Records whose primary code
    /// never occurs in training are scored as errors (their label gets its own id).
    pub fn evaluate(&self, records: &[Record]) -> MulticlassReport {
        let mut extra: HashMap<String, usize> = HashMap::new();
        let mut truth = Vec::new();
        let mut scores = Vec::new();
        for r in records {
            let Some(code) = r.codes.first() else { continue };
            let id = match self.index.get(code) {
                Some(&i) => i,
                None => {
                    let next = self.labels.len() + extra.len();
                    *extra.entry(code.clone()).or_insert(next)
                }
            };
            truth.push(id);
            scores.push(self.scores(&r.text));
        }
        let n = self.labels.len() + extra.len();
        for s in &mut scores {
            s.resize(n, f32::NEG_INFINITY);
        }
        multiclass(n, &truth, &scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(text: &str, code: &str) -> Record {
        Record { id: text.into(), text: text.into(), codes: vec![code.into()], meta: Default::default() }
    }

    #[test]
    fn learns_words_and_scores_errors() {
        let train = vec![
            rec("wheezing asthma inhaler", "J45.909"),
            rec("asthma albuterol wheeze", "J45.909"),
            rec("knee pain osteoarthritis", "M17.11"),
            rec("knee swelling arthritis", "M17.11"),
        ];
        let nb = NaiveBayes::train(&train, 0.1);
        assert_eq!(nb.predict("new wheezing, uses inhaler"), Some("J45.909"));
        assert_eq!(nb.predict("right knee pain"), Some("M17.11"));
        let test = vec![rec("asthma", "J45.909"), rec("knee", "M17.11"), rec("gout toe", "M10.9")];
        let rep = nb.evaluate(&test);
        assert_eq!(rep.n, 3);
        assert!((rep.accuracy - 2.0 / 3.0).abs() < 1e-9, "{}", rep.accuracy);
        assert!(rep.macro_f1 < 1.0);
    }
}
