//! Predictions written out: JSONL, JSON and CSV ([`jsonl_line`], [`json_document`],
//! [`csv_document`]) and FHIR R4 ([`fhir`]). `icd predict`, `icd serve` and the app's exports
//! all write through here, so a file from the app and one from the command line have the
//! same shape.

pub mod fhir;

use serde_json::Value;

use crate::schema::prediction::{CodedLabel, NotePrediction};

/// The CSV columns: one row per suggested code. `evidence` joins the spans' text with ` | `,
/// `undocumented` the undocumented facts with `; `; `source` is `model`, `table` or `both`
/// ([`crate::candidates`]).
pub const CSV_HEADER: [&str; 9] = ["id", "rank", "code", "description", "score", "evidence", "undocumented", "score_from", "source"];

/// One JSONL line (without the newline). Written through `serde_json::Value`, as since the
/// first release: keys sorted, scores printed as the f64 nearest the f32.
pub fn jsonl_line(note: &NotePrediction) -> String {
    serde_json::to_value(note).expect("a prediction serializes").to_string()
}

/// `--format json`: one pretty-printed array of the notes.
pub fn json_document(notes: &[NotePrediction]) -> String {
    let all: Vec<Value> = notes.iter().map(|n| serde_json::to_value(n).expect("a prediction serializes")).collect();
    serde_json::to_string_pretty(&all).expect("serializes")
}

/// The CSV rows of `notes`, with the header line first when `header` is set (a file written
/// in parts has it once).
pub fn csv_document(notes: &[NotePrediction], header: bool) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    if header {
        w.write_record(CSV_HEADER).expect("writes to memory");
    }
    for n in notes {
        let id = id_text(&n.id);
        for (rank, p) in n.predictions.iter().enumerate() {
            w.write_record(csv_row(&id, rank, p)).expect("writes to memory");
        }
    }
    String::from_utf8(w.into_inner().expect("writes to memory")).expect("fields are UTF-8")
}

fn csv_row(id: &str, rank: usize, p: &CodedLabel) -> [String; 9] {
    let evidence: Vec<&str> = p.evidence.iter().map(|e| e.text.as_str()).collect();
    [
        id.to_string(),
        (rank + 1).to_string(),
        p.code.clone(),
        p.description.clone(),
        format!("{:.4}", p.score),
        evidence.join(" | "),
        p.undocumented.join("; "),
        p.score_from.clone().unwrap_or_default(),
        serde_json::to_value(p.source).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
    ]
}

/// A note id as plain text: strings without their JSON quotes, anything else as JSON.
pub fn id_text(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assertion::Assertion;
    use crate::schema::prediction::EvidenceSpan;

    fn note(id: Value) -> NotePrediction {
        let p = CodedLabel {
            score_from: Some("J45.901".into()),
            model_score: Some(0.25),
            evidence: vec![
                EvidenceSpan { start: 0, end: 6, text: "asthma".into(), weight: 1.0, assertion: Assertion::Present },
                EvidenceSpan { start: 8, end: 12, text: "a, b".into(), weight: 0.5, assertion: Assertion::Negated },
            ],
            ..CodedLabel::new("J45.909", "Unspecified asthma, uncomplicated", 10, 0.5)
        };
        NotePrediction { id, predictions: vec![p], low_confidence: false, error: None }
    }

    #[test]
    fn jsonl_has_sorted_keys_and_no_empty_optionals() {
        let line = jsonl_line(&note(serde_json::json!("n1")));
        assert!(line.starts_with(r#"{"id":"n1","low_confidence":false,"predictions":[{"chapter":10,"code":"J45.909","description""#), "{line}");
        assert!(line.contains(r#""model_score":0.25,"score":0.5,"score_from":"J45.901","source":"model"}"#), "{line}");
        assert!(!line.contains("undocumented") && !line.contains("error"), "{line}");
        let back: NotePrediction = serde_json::from_str(&line).unwrap();
        assert_eq!(back, note(serde_json::json!("n1")));
    }

    #[test]
    fn csv_quotes_and_joins() {
        let csv = csv_document(&[note(serde_json::json!(7))], true);
        assert_eq!(csv, "id,rank,code,description,score,evidence,undocumented,score_from,source\n7,1,J45.909,\"Unspecified asthma, uncomplicated\",0.5000,\"asthma | a, b\",,J45.901,model\n");
        assert!(!csv_document(&[], false).contains("id,rank"));
    }
}
