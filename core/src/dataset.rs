//! The dataset record shared by the generator, the importer, the trainer and `icd eval`.
//!
//! One JSON object per line: `{"id", "text", "codes": [primary, secondary...], "meta": {...}}`.
//! The first code is the primary one (the reason for the encounter).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub text: String,
    pub codes: Vec<String>,
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub meta: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
#[error("{source_name}: line {line}: {message}")]
pub struct JsonlError {
    pub source_name: String,
    pub line: usize,
    pub message: String,
}

/// Parses JSONL text; blank lines are skipped, the first bad line is an error with its number.
pub fn parse_jsonl(text: &str, source_name: &str) -> Result<Vec<Record>, JsonlError> {
    Ok(parse_jsonl_numbered(text, source_name)?.into_iter().map(|(_, r)| r).collect())
}

/// Like [`parse_jsonl`], keeping each record's 1-based line number for later error messages.
pub fn parse_jsonl_numbered(text: &str, source_name: &str) -> Result<Vec<(usize, Record)>, JsonlError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: Record = serde_json::from_str(line).map_err(|e| JsonlError { source_name: source_name.into(), line: i + 1, message: e.to_string() })?;
        if rec.codes.is_empty() {
            return Err(JsonlError { source_name: source_name.into(), line: i + 1, message: "\"codes\" is empty".into() });
        }
        out.push((i + 1, rec));
    }
    Ok(out)
}

pub fn to_jsonl(records: &[Record]) -> String {
    let mut s = String::new();
    for r in records {
        s.push_str(&serde_json::to_string(r).expect("records serialize"));
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reports_bad_lines() {
        let recs = parse_jsonl("{\"id\":\"a\",\"text\":\"t\",\"codes\":[\"I10\"]}\n\n", "x").unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(parse_jsonl(&to_jsonl(&recs), "y").unwrap(), recs);
        let err = parse_jsonl("{\"id\":\"a\",\"text\":\"t\",\"codes\":[\"I10\"]}\n{\"id\":1}\n", "d.jsonl").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("d.jsonl: line 2: "), "{err}");
        let err = parse_jsonl("{\"id\":\"a\",\"text\":\"t\",\"codes\":[]}", "d.jsonl").unwrap_err();
        assert!(err.to_string().contains("\"codes\" is empty"));
    }
}
