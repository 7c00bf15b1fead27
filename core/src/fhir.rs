//! FHIR R4 output, one definition for `icd predict --format fhir` and `icd serve`: each
//! suggested code is a provisional `Condition` in a `collection` Bundle, with the model's score
//! as an extension and the evidence, the rank and any undocumented fact in `Condition.note`.

use serde_json::{json, Value};

use crate::coder::CodedLabel;

pub const ICD10CM_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const SCORE_EXTENSION: &str = "https://github.com/icd10-coder/icd10-coder/fhir/StructureDefinition/model-score";
const VER_STATUS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";

/// One coded note.
pub struct FhirNote<'a> {
    /// Names the note in the entries' `fullUrl` (`urn:icd10-coder:KEY:RANK`).
    pub key: String,
    /// `Condition.subject` (required in R4): the document's patient, or a display-only reference.
    pub subject: Value,
    /// A reference to the source document, given as `Condition.evidence.detail`.
    pub document: Option<Value>,
    pub predictions: &'a [CodedLabel],
}

/// A `Reference` that only names the note (when no patient is known).
pub fn note_subject(key: &str) -> Value {
    json!({"display": format!("note {key}")})
}

pub fn conditions_bundle(notes: &[FhirNote], model: &str) -> Value {
    let mut entries = Vec::new();
    for n in notes {
        let key: String = n.key.chars().map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '_' }).collect();
        for (rank, p) in n.predictions.iter().enumerate() {
            let evidence: Vec<&str> = p.evidence.iter().map(|e| e.text.as_str()).collect();
            let mut text = format!(
                "Suggested by icd10-coder model {model} (rank {}, score {:.4}); evidence: {}",
                rank + 1,
                p.score,
                if evidence.is_empty() { "none".to_string() } else { evidence.join(" | ") }
            );
            if let Some(from) = &p.score_from {
                text.push_str(&format!("; score of {from}, whose fact the note does not document"));
            }
            if !p.undocumented.is_empty() {
                text.push_str(&format!("; not documented: {}", p.undocumented.join(", ")));
            }
            let mut condition = json!({
                "resourceType": "Condition",
                "extension": [{"url": SCORE_EXTENSION, "valueDecimal": p.score}],
                "verificationStatus": {"coding": [{"system": VER_STATUS_SYSTEM, "code": "provisional"}]},
                "code": {"coding": [{"system": ICD10CM_SYSTEM, "code": p.code}]},
                "subject": n.subject,
                "note": [{"text": text}],
            });
            // FHIR strings may not be empty: a label without a description has no display.
            if !p.description.trim().is_empty() {
                condition["code"]["coding"][0]["display"] = json!(p.description);
                condition["code"]["text"] = json!(p.description);
            }
            if let Some(doc) = &n.document {
                condition["evidence"] = json!([{"detail": [doc]}]);
            }
            entries.push(json!({"fullUrl": format!("urn:icd10-coder:{key}:{}", rank + 1), "resource": condition}));
        }
    }
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
}

/// An `OperationOutcome` with one issue (`severity` error, `code` e.g. `invalid`), locating it
/// by a FHIRPath `expression` when known.
pub fn operation_outcome(code: &str, diagnostics: &str, expression: Option<&str>) -> Value {
    let mut issue = json!({"severity": "error", "code": code, "diagnostics": diagnostics});
    if let Some(e) = expression {
        issue["expression"] = json!([e]);
    }
    json!({"resourceType": "OperationOutcome", "issue": [issue]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_provisional_condition_per_code() {
        let p = CodedLabel {
            code: "J45.909".into(),
            description: "Unspecified asthma, uncomplicated".into(),
            chapter: 10,
            score: 0.9,
            score_from: Some("J45.901".into()),
            model_score: Some(0.1),
            evidence: vec![],
            undocumented: vec![],
        };
        let preds = [p];
        let b = conditions_bundle(
            &[FhirNote {
                key: "note 1/a".into(),
                subject: note_subject("1"),
                document: Some(json!({"reference": "DocumentReference/d1"})),
                predictions: &preds,
            }],
            "m",
        );
        let e = &b["entry"][0];
        assert_eq!(e["fullUrl"], "urn:icd10-coder:note_1_a:1");
        let c = &e["resource"];
        assert_eq!(c["code"]["coding"][0]["system"], ICD10CM_SYSTEM);
        assert_eq!(c["verificationStatus"]["coding"][0]["code"], "provisional");
        assert_eq!(c["evidence"][0]["detail"][0]["reference"], "DocumentReference/d1");
        assert!(c["note"][0]["text"].as_str().unwrap().contains("score of J45.901"));
        assert_eq!(c["code"]["coding"][0]["display"], "Unspecified asthma, uncomplicated");
        let mut no_desc = preds[0].clone();
        no_desc.description.clear();
        let b = conditions_bundle(&[FhirNote { key: "n".into(), subject: note_subject("n"), document: None, predictions: &[no_desc] }], "m");
        let code = &b["entry"][0]["resource"]["code"];
        assert!(code["coding"][0].get("display").is_none() && code.get("text").is_none(), "no empty FHIR strings: {code}");
    }
}
