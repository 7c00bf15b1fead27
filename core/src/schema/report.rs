//! The evaluation report: the trainer's `metrics.json` (validation per epoch, test at the end),
//! `icd eval`'s output and the bundle manifest's f32 / int8 figures are all an [`EvalReport`].

use serde::{Deserialize, Serialize};

use crate::metrics::{MulticlassReport, MultilabelReport};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// On the primary (first) code of each note. Trainer files before 2026-12-05 named it
    /// `primary`.
    #[serde(alias = "primary")]
    pub multiclass: MulticlassReport,
    /// All codes, at the model's threshold; sigmoid models only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multilabel: Option<MultilabelReport>,
}

impl EvalReport {
    /// The figure early stopping and best-epoch selection use: micro-F1 over all codes for a
    /// multi-label model, else primary-code accuracy.
    pub fn key(&self) -> f64 {
        match &self.multilabel {
            Some(m) => m.micro_f1,
            None => self.multiclass.accuracy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_trainers_old_name_and_writes_the_one_name() {
        let m = crate::metrics::multiclass(2, &[0, 1], &[vec![0.9, 0.1], vec![0.8, 0.2]]);
        let old = serde_json::json!({"primary": m, "multilabel": null});
        let r: EvalReport = serde_json::from_value(old).unwrap();
        assert_eq!(r.multiclass.accuracy, 0.5);
        assert_eq!(r.key(), 0.5);
        let written = serde_json::to_value(&r).unwrap();
        assert!(written.get("multiclass").is_some() && written.get("primary").is_none() && written.get("multilabel").is_none(), "{written}");
    }
}
