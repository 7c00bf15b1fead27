//! Batch input: a local file of many notes, read in the browser (never uploaded).
//!
//! * `.jsonl` / `.ndjson`: one JSON object per line with `text` (and `id`, a string or number),
//!   e.g. the dataset format `{"id", "text", "codes", "meta"}`;
//! * `.csv`: a header row with a `text` (or `note`) column and optionally an `id` column;
//! * anything else (`.txt`): notes separated by a line of `---`, or else one note per non-empty line.
//!
//! Notes without an id get `note-1`, `note-2`, … in file order.

use crate::protocol::Note;

pub fn parse(file_name: &str, content: &str) -> Result<Vec<Note>, String> {
    let lower = file_name.to_ascii_lowercase();
    let notes = if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        parse_jsonl(content)?
    } else if lower.ends_with(".csv") {
        parse_csv(content)?
    } else {
        parse_txt(content)
    };
    if notes.is_empty() {
        return Err(format!("{file_name}: no notes found"));
    }
    Ok(notes)
}

fn note(id: Option<String>, n: usize, text: &str) -> Note {
    Note { id: id.filter(|s| !s.is_empty()).unwrap_or_else(|| format!("note-{n}")), text: text.trim().to_string() }
}

fn parse_jsonl(content: &str) -> Result<Vec<Note>, String> {
    let mut out = Vec::new();
    for (i, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        let text = v["text"].as_str().ok_or_else(|| format!("line {}: no \"text\" string", i + 1))?;
        let id = match &v["id"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        out.push(note(id, out.len() + 1, text));
    }
    Ok(out)
}

fn parse_csv(content: &str) -> Result<Vec<Note>, String> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(content.as_bytes());
    let headers = rdr.headers().map_err(|e| e.to_string())?.clone();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim().to_ascii_lowercase().as_str()));
    let text_col = col(&["text", "note", "note_text"])
        .ok_or_else(|| format!("the CSV header needs a \"text\" column (found: {})", headers.iter().collect::<Vec<_>>().join(", ")))?;
    let id_col = col(&["id", "note_id"]);
    let mut out = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| format!("row {}: {e}", i + 2))?;
        let text = rec.get(text_col).unwrap_or("");
        if text.trim().is_empty() {
            continue;
        }
        out.push(note(id_col.and_then(|c| rec.get(c)).map(str::to_string), out.len() + 1, text));
    }
    Ok(out)
}

fn parse_txt(content: &str) -> Vec<Note> {
    let separated = content.lines().any(|l| l.trim() == "---");
    let pieces: Vec<String> = if separated {
        let mut pieces = vec![String::new()];
        for line in content.lines() {
            if line.trim() == "---" {
                pieces.push(String::new());
            } else {
                let p = pieces.last_mut().unwrap();
                p.push_str(line);
                p.push('\n');
            }
        }
        pieces
    } else {
        content.lines().map(str::to_string).collect()
    };
    pieces.iter().filter(|p| !p.trim().is_empty()).enumerate().map(|(i, p)| note(None, i + 1, p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jsonl_csv_and_txt() {
        let j = parse("notes.jsonl", "{\"id\":\"a\",\"text\":\"cough\",\"codes\":[]}\n\n{\"id\":3,\"text\":\"fever\"}\n{\"text\":\"rash\"}\n").unwrap();
        assert_eq!(j.iter().map(|n| (n.id.as_str(), n.text.as_str())).collect::<Vec<_>>(), [("a", "cough"), ("3", "fever"), ("note-3", "rash")]);
        let c = parse("n.CSV", "id,text\n1,\"cough, dry\nfor weeks\"\n2,fever\n3,\n").unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].text, "cough, dry\nfor weeks");
        let t = parse("n.txt", "first note\nstill first\n---\nsecond\n").unwrap();
        assert_eq!(t.iter().map(|n| n.text.as_str()).collect::<Vec<_>>(), ["first note\nstill first", "second"]);
        let t = parse("n.txt", "one\n\ntwo\n").unwrap();
        assert_eq!(t.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(), ["note-1", "note-2"]);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(parse("n.jsonl", "{\"id\":1}\n").unwrap_err().contains("line 1"));
        assert!(parse("n.csv", "a,b\n1,2\n").unwrap_err().contains("\"text\" column"));
        assert!(parse("n.txt", "\n \n").unwrap_err().contains("no notes"));
    }
}
