//! Export of the accepted codes (clipboard text, CSV, FHIR R4 Bundle) and of batch results.
//! Batch results are `icd predict`'s JSONL and CSV, and the FHIR Bundle is the CLI's
//! `Condition`: all three are written by core's [`icd_core::export`], so a file from the app
//! and one from the command line have the same shape.

use icd_core::export::{self, fhir};
use icd_core::{NotePrediction, Source};

use crate::record::Poa;

/// A code the user accepted: a model prediction or one added by hand from code search.
/// Lists of them are in reporting order: the principal (first-listed) diagnosis first.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub code: String,
    pub description: String,
    /// The model's score; `None` for a code added by hand.
    pub score: Option<f32>,
    /// Present on admission (inpatient encounters only).
    pub poa: Option<Poa>,
    /// Which source suggested it; `None` for a code added by hand.
    pub source: Option<Source>,
    /// The note's words that support it (FHIR `Condition.note`); empty for a code added by hand.
    pub evidence: Vec<String>,
}

/// One code per line, tab, description: pastes into spreadsheets and coding software.
pub fn clipboard_text(codes: &[Accepted]) -> String {
    codes.iter().map(|c| format!("{}\t{}\n", c.code, c.description)).collect()
}

/// The accepted codes in reporting order: `code,description,score,source,rank,poa` (`source`:
/// `model`, `table` (the note's statement matched in the code table), `both` or `manual`; `rank` 1 is the principal / first-listed diagnosis; `poa` empty for
/// outpatient encounters).
pub fn csv(codes: &[Accepted]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["code", "description", "score", "source", "rank", "poa"]).expect("writes to memory");
    for (i, c) in codes.iter().enumerate() {
        let score = c.score.map(|s| format!("{s:.4}")).unwrap_or_default();
        let source = match c.source {
            Some(Source::Model) => "model",
            Some(Source::Table) => "table",
            Some(Source::Both) => "both",
            None => "manual",
        };
        w.write_record([c.code.as_str(), &c.description, &score, source, &(i + 1).to_string(), c.poa.map(Poa::code).unwrap_or("")]).expect("writes to memory");
    }
    String::from_utf8(w.into_inner().expect("writes to memory")).expect("fields are UTF-8")
}

/// A FHIR R4 `Bundle` of the accepted codes and the `rejected` suggestions (refuted)
/// ([`fhir::accepted_bundle`]): `uuid` gives each entry's `urn:uuid:` id, `now` (ISO 8601)
/// the timestamp.
pub fn fhir_bundle(codes: &[Accepted], rejected: &[Accepted], uuid: impl FnMut() -> String, now: &str) -> serde_json::Value {
    let accepted: Vec<fhir::AcceptedCode> = codes
        .iter()
        .map(|c| fhir::AcceptedCode {
            coded: fhir::Coded { code: &c.code, description: &c.description, score: c.score },
            poa: c.poa.map(Poa::code),
            evidence: &c.evidence,
        })
        .collect();
    let refuted: Vec<fhir::RefutedCode> = rejected
        .iter()
        .map(|c| fhir::RefutedCode { coded: fhir::Coded { code: &c.code, description: &c.description, score: c.score }, evidence: &c.evidence })
        .collect();
    fhir::accepted_bundle(&accepted, &refuted, uuid, now)
}

/// `icd predict --format jsonl` of a batch; a note that could not be coded has `error`.
pub fn predict_jsonl(results: &[NotePrediction]) -> String {
    results.iter().map(|r| export::jsonl_line(r) + "\n").collect()
}

/// `icd predict --format csv` of a batch (one row per code, the header once).
pub fn predict_csv(results: &[NotePrediction]) -> String {
    export::csv_document(results, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use icd_core::CodedLabel;

    fn codes() -> Vec<Accepted> {
        vec![
            Accepted {
                code: "J45.909".into(),
                description: "Unspecified asthma, uncomplicated".into(),
                score: Some(0.91),
                poa: Some(Poa::Y),
                source: Some(Source::Model),
                evidence: vec!["History of asthma".into()],
            },
            Accepted { code: "R05.9".into(), description: "Cough, unspecified".into(), score: None, poa: None, source: None, evidence: vec![] },
        ]
    }

    #[test]
    fn csv_quotes_and_marks_the_source() {
        let s = csv(&codes());
        assert_eq!(
            s,
            "code,description,score,source,rank,poa\nJ45.909,\"Unspecified asthma, uncomplicated\",0.9100,model,1,Y\nR05.9,\"Cough, unspecified\",,manual,2,\n"
        );
        assert_eq!(clipboard_text(&codes()).lines().next(), Some("J45.909\tUnspecified asthma, uncomplicated"));
    }

    #[test]
    fn fhir_bundle_has_one_condition_per_code() {
        let mut n = 0;
        let b = fhir_bundle(
            &codes(),
            &[],
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
        assert_eq!(e[0]["resource"]["code"]["coding"][0]["system"], fhir::ICD10CM_SYSTEM);
        assert_eq!(e[1]["resource"]["code"]["coding"][0]["code"], "R05.9");
        assert_eq!(e[1]["fullUrl"], "urn:uuid:00000000-0000-4000-8000-000000000002");
    }

    fn p(code: &str, score: f32, undocumented: Vec<String>, score_from: Option<String>) -> CodedLabel {
        CodedLabel { score_from, undocumented, ..CodedLabel::new(code, "", 10, score) }
    }

    #[test]
    fn predict_shapes_are_the_clis() {
        let mut a = p("J45.909", 0.5, vec![], None);
        a.description = "Asthma".into();
        let r = vec![
            NotePrediction { id: "n1".into(), predictions: vec![a], low_confidence: false, error: None },
            NotePrediction { id: "n2".into(), predictions: vec![], low_confidence: false, error: Some("The note is empty.".into()) },
        ];
        assert_eq!(
            predict_jsonl(&r),
            "{\"id\":\"n1\",\"low_confidence\":false,\"predictions\":[{\"chapter\":10,\"code\":\"J45.909\",\"description\":\"Asthma\",\"evidence\":[],\"score\":0.5,\"source\":\"model\"}]}\n\
             {\"error\":\"The note is empty.\",\"id\":\"n2\",\"low_confidence\":false,\"predictions\":[]}\n"
        );
        assert_eq!(predict_csv(&r), "id,rank,code,description,score,evidence,undocumented,score_from,source\nn1,1,J45.909,Asthma,0.5000,,,,model\n");
    }

    #[test]
    fn a_flagged_code_and_its_stand_in_keep_their_marks() {
        let r = vec![NotePrediction {
            id: "n1".into(),
            predictions: vec![p("J45.909", 0.9, vec![], Some("J45.901".into())), p("J45.901", 0.9, vec!["exacerbation".into()], None)],
            low_confidence: false,
            error: None,
        }];
        let line: serde_json::Value = serde_json::from_str(predict_jsonl(&r).trim()).unwrap();
        assert_eq!(line["predictions"][0]["score_from"], "J45.901");
        assert!(line["predictions"][0].get("undocumented").is_none());
        assert_eq!(line["predictions"][1]["undocumented"], serde_json::json!(["exacerbation"]));
        let csv = predict_csv(&r);
        let rows: Vec<&str> = csv.lines().collect();
        assert_eq!(rows[1], "n1,1,J45.909,,0.9000,,,J45.901,model");
        assert_eq!(rows[2], "n1,2,J45.901,,0.9000,,exacerbation,,model");
    }
}
