//! FHIR R4 output, one definition of a coded `Condition` for `icd predict --format fhir`,
//! `icd serve` and the app's export of accepted codes. Each code is a provisional `Condition`
//! in a `collection` Bundle, coded in ICD-10-CM, with the model's score as an extension:
//! - suggestions ([`conditions_bundle`]): the evidence, the rank and any undocumented fact in
//!   `Condition.note`;
//! - codes a coder accepted in the app ([`accepted_bundle`]): confirmed, an active encounter
//!   diagnosis with its `recordedDate`, its rank (1 = principal) and present-on-admission
//!   indicator as extensions, its evidence in `Condition.note`; a code added by hand has no
//!   score. Suggestions the coder rejected may go with them, `refuted`.

use serde_json::{json, Value};

use crate::schema::prediction::CodedLabel;

pub const ICD10CM_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const SCORE_EXTENSION: &str = "https://github.com/icd10-coder/icd10-coder/fhir/StructureDefinition/model-score";
const VER_STATUS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
const CLINICAL_STATUS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const CATEGORY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/condition-category";

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
            let condition = condition(&Coded { code: &p.code, description: &p.description, score: Some(p.score) }, &n.subject, Some(text), n.document.as_ref());
            entries.push(json!({"fullUrl": format!("urn:icd10-coder:{key}:{}", rank + 1), "resource": condition}));
        }
    }
    json!({"resourceType": "Bundle", "type": "collection", "entry": entries})
}

/// A code and its description, and the model's score when a model suggested it.
pub struct Coded<'a> {
    pub code: &'a str,
    pub description: &'a str,
    pub score: Option<f32>,
}

/// A code the coder accepted: its place in reporting order (1 = principal / first-listed) and,
/// for inpatient encounters, its present-on-admission indicator (`Y`, `N`, `U`, `W`, `1`).
pub struct AcceptedCode<'a> {
    pub coded: Coded<'a>,
    pub poa: Option<&'a str>,
    /// The note's words that support it (empty for a code added by hand).
    pub evidence: &'a [String],
}

/// A suggestion the coder rejected: exported `refuted`, with the evidence it was suggested on.
pub struct RefutedCode<'a> {
    pub coded: Coded<'a>,
    pub evidence: &'a [String],
}

pub const RANK_EXTENSION: &str = "https://github.com/icd10-coder/icd10-coder/fhir/StructureDefinition/diagnosis-rank";
pub const POA_EXTENSION: &str = "https://github.com/icd10-coder/icd10-coder/fhir/StructureDefinition/present-on-admission";

/// The one `Condition` shape: provisional, coded in ICD-10-CM (with its display when the
/// description is known: FHIR strings may not be empty), the score as an extension.
fn condition(c: &Coded, subject: &Value, note: Option<String>, document: Option<&Value>) -> Value {
    let mut condition = json!({
        "resourceType": "Condition",
        "verificationStatus": {"coding": [{"system": VER_STATUS_SYSTEM, "code": "provisional"}]},
        "code": {"coding": [{"system": ICD10CM_SYSTEM, "code": c.code}]},
        "subject": subject,
    });
    if let Some(score) = c.score {
        condition["extension"] = json!([{"url": SCORE_EXTENSION, "valueDecimal": score}]);
    }
    if !c.description.trim().is_empty() {
        condition["code"]["coding"][0]["display"] = json!(c.description);
        condition["code"]["text"] = json!(c.description);
    }
    if let Some(text) = note {
        condition["note"] = json!([{"text": text}]);
    }
    if let Some(doc) = document {
        condition["evidence"] = json!([{"detail": [doc]}]);
    }
    condition
}

/// The codes a coder accepted for one note (the app's FHIR export), principal first: one
/// active, confirmed encounter-diagnosis `Condition` per code with its rank (1 = principal)
/// and present-on-admission indicator as extensions, `urn:uuid:` entries (`uuid` gives each
/// id), `now` (ISO 8601) as the bundle's timestamp and each `recordedDate`.
pub fn accepted_bundle(codes: &[AcceptedCode], refuted: &[RefutedCode], mut uuid: impl FnMut() -> String, now: &str) -> Value {
    let subject = json!({"display": "Patient of the coded note"});
    let mut entries: Vec<Value> = codes
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let id = uuid();
            let note = (!a.evidence.is_empty()).then(|| format!("Evidence: {}", a.evidence.join(" | ")));
            let mut r = condition(&a.coded, &subject, note, None);
            r["verificationStatus"] = json!({"coding": [{"system": VER_STATUS_SYSTEM, "code": "confirmed"}]});
            let mut ext = r["extension"].as_array().cloned().unwrap_or_default();
            ext.push(json!({"url": RANK_EXTENSION, "valuePositiveInt": i + 1}));
            if let Some(poa) = a.poa {
                ext.push(json!({"url": POA_EXTENSION, "valueCode": poa}));
            }
            r["extension"] = json!(ext);
            r["id"] = json!(id);
            r["clinicalStatus"] = json!({"coding": [{"system": CLINICAL_STATUS_SYSTEM, "code": "active"}]});
            r["category"] = json!([{"coding": [{"system": CATEGORY_SYSTEM, "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}]);
            r["recordedDate"] = json!(now);
            json!({"fullUrl": format!("urn:uuid:{id}"), "resource": r})
        })
        .collect();
    // Refuted: no rank, and no clinical status (the condition is not there).
    entries.extend(refuted.iter().map(|x| {
        let id = uuid();
        let evidence = if x.evidence.is_empty() { "none".to_string() } else { x.evidence.join(" | ") };
        let mut r = condition(&x.coded, &subject, Some(format!("Suggested, and rejected by the coder; evidence: {evidence}")), None);
        r["verificationStatus"] = json!({"coding": [{"system": VER_STATUS_SYSTEM, "code": "refuted"}]});
        r["id"] = json!(id);
        r["category"] = json!([{"coding": [{"system": CATEGORY_SYSTEM, "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}]);
        r["recordedDate"] = json!(now);
        json!({"fullUrl": format!("urn:uuid:{id}"), "resource": r})
    }));
    json!({"resourceType": "Bundle", "type": "collection", "timestamp": now, "entry": entries})
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
            score_from: Some("J45.901".into()),
            model_score: Some(0.1),
            ..CodedLabel::new("J45.909", "Unspecified asthma, uncomplicated", 10, 0.9)
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

    #[test]
    fn accepted_codes_are_active_encounter_diagnoses() {
        let evidence = ["History of asthma".to_string()];
        let codes = [
            AcceptedCode {
                coded: Coded { code: "J45.909", description: "Unspecified asthma, uncomplicated", score: Some(0.91) },
                poa: Some("Y"),
                evidence: &evidence,
            },
            AcceptedCode { coded: Coded { code: "I10", description: "Essential (primary) hypertension", score: None }, poa: None, evidence: &[] },
        ];
        let refuted = [RefutedCode { coded: Coded { code: "J30.9", description: "Allergic rhinitis, unspecified", score: Some(0.2) }, evidence: &[] }];
        let mut n = 0;
        let b = accepted_bundle(
            &codes,
            &refuted,
            || {
                n += 1;
                format!("id-{n}")
            },
            "2026-12-05T10:00:00Z",
        );
        assert_eq!(b["timestamp"], "2026-12-05T10:00:00Z");
        let e = b["entry"].as_array().unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0]["fullUrl"], "urn:uuid:id-1");
        assert_eq!(e[0]["resource"]["note"][0]["text"], "Evidence: History of asthma");
        assert!(e[1]["resource"].get("note").is_none(), "a code added by hand has no evidence");
        // A rejected suggestion: refuted, no rank, no clinical status.
        let r = &e[2]["resource"];
        assert_eq!(r["verificationStatus"]["coding"][0]["code"], "refuted");
        assert!(r.get("clinicalStatus").is_none(), "{r}");
        assert!(r["extension"].as_array().unwrap().iter().all(|x| x["url"] != RANK_EXTENSION), "{r}");
        assert!(r["note"][0]["text"].as_str().unwrap().contains("rejected"));
        let c = &e[0]["resource"];
        assert_eq!(c["id"], "id-1");
        assert_eq!(c["code"]["coding"][0]["code"], "J45.909");
        assert_eq!(c["clinicalStatus"]["coding"][0]["code"], "active");
        assert_eq!(c["category"][0]["coding"][0]["code"], "encounter-diagnosis");
        assert_eq!(c["recordedDate"], "2026-12-05T10:00:00Z");
        assert_eq!(c["verificationStatus"]["coding"][0]["code"], "confirmed");
        assert!((c["extension"][0]["valueDecimal"].as_f64().unwrap() - 0.91).abs() < 1e-6);
        assert_eq!(c["extension"][1], json!({"url": RANK_EXTENSION, "valuePositiveInt": 1}));
        assert_eq!(c["extension"][2], json!({"url": POA_EXTENSION, "valueCode": "Y"}));
        // A code added by hand carries no score; the second is rank 2, without a POA.
        assert_eq!(e[1]["resource"]["extension"], json!([{"url": RANK_EXTENSION, "valuePositiveInt": 2}]));
    }
}
