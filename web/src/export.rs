//! Export of the accepted codes (clipboard text, CSV, FHIR R4 Bundle) and of batch results
//! in the `icd predict` shape (JSONL and CSV).

use serde_json::json;

use crate::protocol::NoteResult;

pub const ICD10CM_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";

/// A code the user accepted: a model prediction or one added by hand from code search.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub code: String,
    pub description: String,
    /// The model's score; `None` for a code added by hand.
    pub score: Option<f32>,
}

/// One code per line, tab, description: pastes into spreadsheets and coding software.
pub fn clipboard_text(codes: &[Accepted]) -> String {
    codes.iter().map(|c| format!("{}\t{}\n", c.code, c.description)).collect()
}

pub fn csv(codes: &[Accepted]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["code", "description", "score", "source"]).unwrap();
    for c in codes {
        let score = c.score.map(|s| format!("{s:.4}")).unwrap_or_default();
        w.write_record([c.code.as_str(), &c.description, &score, if c.score.is_some() { "model" } else { "manual" }]).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

/// A FHIR R4 `Bundle` (type `collection`) of one `Condition` per code, coded in
/// `http://hl7.org/fhir/sid/icd-10-cm`. `uuid` gives each entry's `urn:uuid:` full URL;
/// `now` is the bundle's timestamp (ISO 8601).
pub fn fhir_bundle(codes: &[Accepted], mut uuid: impl FnMut() -> String, now: &str) -> serde_json::Value {
    let entries: Vec<_> = codes
        .iter()
        .map(|c| {
            let id = uuid();
            json!({
                "fullUrl": format!("urn:uuid:{id}"),
                "resource": {
                    "resourceType": "Condition",
                    "id": id,
                    "clinicalStatus": {"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                    "verificationStatus": {"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "provisional"}]},
                    "category": [{"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}],
                    "code": {
                        "coding": [{"system": ICD10CM_SYSTEM, "code": c.code, "display": c.description}],
                        "text": c.description
                    },
                    "subject": {"display": "Patient of the coded note"},
                    "recordedDate": now,
                }
            })
        })
        .collect();
    json!({"resourceType": "Bundle", "type": "collection", "timestamp": now, "entry": entries})
}

/// `icd predict` JSONL: `{"id": …, "predictions": [{"code", "description", "score"}…]}` per line,
/// with `undocumented` on a prediction whose title asserts a fact the note does not document
/// and `score_from` on the code that stands in for it.
pub fn predict_jsonl(results: &[NoteResult]) -> String {
    let mut out = String::new();
    for r in results {
        let preds: Vec<_> = r
            .predictions
            .iter()
            .map(|p| {
                let mut v = json!({"code": p.code, "description": p.description, "score": p.score});
                if !p.undocumented.is_empty() {
                    v["undocumented"] = json!(p.undocumented);
                }
                if let Some(from) = &p.score_from {
                    v["score_from"] = json!(from);
                }
                v
            })
            .collect();
        let mut line = json!({"id": r.id, "predictions": preds});
        if let Some(e) = &r.error {
            line["error"] = json!(e);
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// `icd predict` CSV without the evidence: `id,rank,code,description,score,undocumented,score_from`,
/// one row per prediction.
pub fn predict_csv(results: &[NoteResult]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "rank", "code", "description", "score", "undocumented", "score_from"]).unwrap();
    for r in results {
        for (i, p) in r.predictions.iter().enumerate() {
            let rank = (i + 1).to_string();
            let fields =
                [r.id.as_str(), &rank, &p.code, &p.description, &format!("{:.4}", p.score), &p.undocumented.join("; "), p.score_from.as_deref().unwrap_or("")];
            w.write_record(fields).unwrap();
        }
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Prediction;

    fn codes() -> Vec<Accepted> {
        vec![
            Accepted { code: "J45.909".into(), description: "Unspecified asthma, uncomplicated".into(), score: Some(0.91) },
            Accepted { code: "R05.9".into(), description: "Cough, unspecified".into(), score: None },
        ]
    }

    #[test]
    fn csv_quotes_and_marks_the_source() {
        let s = csv(&codes());
        assert_eq!(s, "code,description,score,source\nJ45.909,\"Unspecified asthma, uncomplicated\",0.9100,model\nR05.9,\"Cough, unspecified\",,manual\n");
        assert_eq!(clipboard_text(&codes()).lines().next(), Some("J45.909\tUnspecified asthma, uncomplicated"));
    }

    #[test]
    fn fhir_bundle_has_one_condition_per_code() {
        let mut n = 0;
        let b = fhir_bundle(
            &codes(),
            || {
                n += 1;
                format!("00000000-0000-4000-8000-00000000000{n}")
            },
            "2026-01-01T00:00:00Z",
        );
        assert_eq!(b["resourceType"], "Bundle");
        let e = b["entry"].as_array().unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0]["resource"]["resourceType"], "Condition");
        assert_eq!(e[0]["resource"]["code"]["coding"][0]["system"], ICD10CM_SYSTEM);
        assert_eq!(e[1]["resource"]["code"]["coding"][0]["code"], "R05.9");
        assert_eq!(e[1]["fullUrl"], "urn:uuid:00000000-0000-4000-8000-000000000002");
    }

    #[test]
    fn predict_shapes() {
        let r = vec![NoteResult {
            id: "n1".into(),
            predictions: vec![Prediction {
                code: "J45.909".into(),
                description: "Asthma".into(),
                score: 0.5,
                chapter: 10,
                evidence: vec![],
                undocumented: vec![],
                score_from: None,
            }],
            error: None,
        }];
        assert_eq!(predict_jsonl(&r), "{\"id\":\"n1\",\"predictions\":[{\"code\":\"J45.909\",\"description\":\"Asthma\",\"score\":0.5}]}\n");
        assert_eq!(predict_csv(&r), "id,rank,code,description,score,undocumented,score_from\nn1,1,J45.909,Asthma,0.5000,,\n");
    }

    #[test]
    fn a_flagged_code_and_its_stand_in_keep_their_marks() {
        let p = |code: &str, score: f32, undocumented: Vec<String>, score_from: Option<String>| Prediction {
            code: code.into(),
            description: String::new(),
            score,
            chapter: 10,
            evidence: vec![],
            undocumented,
            score_from,
        };
        let r = vec![NoteResult {
            id: "n1".into(),
            predictions: vec![p("J45.909", 0.9, vec![], Some("J45.901".into())), p("J45.901", 0.9, vec!["exacerbation".into()], None)],
            error: None,
        }];
        let line: serde_json::Value = serde_json::from_str(predict_jsonl(&r).trim()).unwrap();
        assert_eq!(line["predictions"][0]["score_from"], "J45.901");
        assert!(line["predictions"][0].get("undocumented").is_none());
        assert_eq!(line["predictions"][1]["undocumented"], serde_json::json!(["exacerbation"]));
        let csv = predict_csv(&r);
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows[1], "n1,1,J45.909,,0.9000,,J45.901");
        assert_eq!(rows[2], "n1,2,J45.901,,0.9000,exacerbation,");
    }
}
