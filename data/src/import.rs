//! `icd-data import`: a user's own notes (CSV or JSONL) -> validated, stratified
//! train/test (and optional valid) JSONL in the same [`Record`] form as the generator.
//!
//! Nothing is dropped silently: every bad row (invalid UTF-8, broken CSV quoting, bad
//! JSON, empty text, missing/unknown/non-billable/out-of-label-space code, duplicate id)
//! is reported as `FILE:LINE: reason` and written to `<out>/rejects.jsonl` with its raw
//! text; the summary counts accepted and rejected rows, which add up to the rows read.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use icd_core::dataset::{to_jsonl, Record};
use icd_core::table::normalize_code;
use icd_core::{CodeTable, LabelSpace};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "csv" => Ok(Format::Csv),
            "jsonl" | "json" | "ndjson" => Ok(Format::Jsonl),
            other => anyhow::bail!("unknown format {other:?} (csv or jsonl)"),
        }
    }

    pub fn of_path(p: &Path) -> Result<Self> {
        match p.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()).as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("jsonl" | "json" | "ndjson") => Ok(Format::Jsonl),
            _ => anyhow::bail!("{}: cannot tell the format from the extension; pass --format csv|jsonl", p.display()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub test_ratio: f64,
    pub valid_ratio: f64,
    pub seed: u64,
    pub format: Option<Format>,
}

impl Default for Options {
    fn default() -> Self {
        Self { test_ratio: 0.2, valid_ratio: 0.0, seed: 20_260_401, format: None }
    }
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reject {
    pub file: String,
    pub line: usize,
    pub reason: String,
    pub raw: String,
}

impl std::fmt::Display for Reject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// The outcome of reading the inputs.
#[derive(Debug, Default)]
pub struct Imported {
    pub accepted: Vec<Record>,
    pub rejects: Vec<Reject>,
    /// Rows read (accepted + rejected).
    pub rows: usize,
}

/// A row before validation: line where it starts, raw bytes, fields.
struct RawRow {
    line: usize,
    raw: Vec<u8>,
    fields: Result<(Option<String>, String, Vec<String>), String>,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn utf8(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|e| format!("invalid UTF-8 at byte {} of the row", e.utf8_error().valid_up_to()))
}

/// Splits a codes field on `;`, `|`, `,` or whitespace.
pub fn split_codes(s: &str) -> Vec<String> {
    s.split(|c: char| c == ';' || c == '|' || c == ',' || c.is_whitespace()).map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect()
}

/// Strict CSV (RFC 4180): quoted fields may hold commas, doubled quotes and newlines; a
/// quote inside an unquoted field, text after a closing quote, or an unterminated quote
/// rejects the row, and reading resumes on the line after the row's first line.
/// One CSV row: its first line number, its raw bytes, and its fields or why it was rejected.
type CsvRecord = (usize, Vec<u8>, Result<Vec<Vec<u8>>, String>);

fn csv_records(bytes: &[u8]) -> Vec<CsvRecord> {
    let mut out = Vec::new();
    // Line start offsets.
    let mut starts = vec![0usize];
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            starts.push(i + 1);
        }
    }
    let line_of = |pos: usize| starts.partition_point(|&s| s <= pos);
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let line = line_of(start);
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        let mut err: Option<String> = None;
        let mut i = pos;
        let mut at_field_start = true;
        let mut quoted = false;
        let mut closed = false;
        loop {
            if i >= bytes.len() {
                if quoted && !closed {
                    err = Some("unterminated quoted field (broken CSV quoting)".into());
                }
                fields.push(std::mem::take(&mut field));
                break;
            }
            let b = bytes[i];
            if quoted && !closed {
                if b == b'"' {
                    if bytes.get(i + 1) == Some(&b'"') {
                        field.push(b'"');
                        i += 2;
                        continue;
                    }
                    closed = true;
                    i += 1;
                    continue;
                }
                field.push(b);
                i += 1;
                continue;
            }
            match b {
                b',' => {
                    fields.push(std::mem::take(&mut field));
                    at_field_start = true;
                    quoted = false;
                    closed = false;
                    i += 1;
                }
                b'\n' => {
                    fields.push(std::mem::take(&mut field));
                    i += 1;
                    break;
                }
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    i += 1;
                }
                b'"' if at_field_start => {
                    quoted = true;
                    at_field_start = false;
                    i += 1;
                }
                b'"' => {
                    err = Some(if closed {
                        "text after a closing quote (broken CSV quoting)".into()
                    } else {
                        "quote inside an unquoted field (broken CSV quoting)".into()
                    });
                    break;
                }
                _ if closed => {
                    err = Some("text after a closing quote (broken CSV quoting)".into());
                    break;
                }
                _ => {
                    field.push(b);
                    at_field_start = false;
                    i += 1;
                }
            }
        }
        match err {
            Some(e) => {
                // Resume on the next physical line.
                let next = starts.get(line).copied().unwrap_or(bytes.len());
                let raw = bytes[start..next].to_vec();
                out.push((line, raw, Err(e)));
                pos = next;
            }
            None => {
                let raw = bytes[start..i].to_vec();
                let blank = fields.len() == 1 && fields[0].iter().all(|b| b.is_ascii_whitespace());
                if !blank {
                    out.push((line, raw, Ok(fields)));
                }
                pos = i;
            }
        }
    }
    out
}

fn read_csv(bytes: &[u8]) -> Result<Vec<RawRow>, String> {
    let mut recs = csv_records(bytes).into_iter();
    let header = match recs.next() {
        None => return Err("empty file (no header row)".into()),
        Some((_, _, Ok(h))) => h,
        Some((line, _, Err(e))) => return Err(format!("line {line}: header row: {e}")),
    };
    let names: Vec<String> = header.iter().map(|h| lossy(h).trim().trim_start_matches('\u{feff}').to_ascii_lowercase()).collect();
    let find = |opts: &[&str]| names.iter().position(|n| opts.contains(&n.as_str()));
    let text_col = find(&["text", "note", "note_text", "transcription"]).ok_or("header has no text column (text, note, note_text or transcription)")?;
    let codes_col = find(&["codes", "code", "labels", "icd10", "icd10cm"]).ok_or("header has no codes column (codes, code, labels, icd10 or icd10cm)")?;
    let id_col = find(&["id", "note_id"]);
    Ok(recs
        .map(|(line, raw, fields)| {
            let fields = fields.and_then(|f| {
                if f.len() != names.len() {
                    return Err(format!("{} fields, the header has {}", f.len(), names.len()));
                }
                let text = utf8(&f[text_col])?;
                let codes = split_codes(&utf8(&f[codes_col])?);
                let id = id_col.map(|c| utf8(&f[c])).transpose()?.filter(|s| !s.trim().is_empty());
                Ok((id, text, codes))
            });
            RawRow { line, raw, fields }
        })
        .collect())
}

fn read_jsonl(bytes: &[u8]) -> Vec<RawRow> {
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let fields = utf8(line).and_then(|s| {
            let v: serde_json::Value = serde_json::from_str(&s).map_err(|e| format!("bad JSON: {e}"))?;
            let obj = v.as_object().ok_or("not a JSON object")?;
            let text = match obj.get("text") {
                Some(serde_json::Value::String(t)) => t.clone(),
                Some(_) => return Err("\"text\" is not a string".into()),
                None => return Err("no \"text\" field".into()),
            };
            let codes = match obj.get("codes").or_else(|| obj.get("code")) {
                Some(serde_json::Value::Array(a)) => {
                    a.iter().map(|c| c.as_str().map(str::to_string).ok_or("a code is not a string")).collect::<Result<Vec<_>, _>>()?
                }
                Some(serde_json::Value::String(s)) => split_codes(s),
                Some(_) => return Err("\"codes\" is neither a list nor a string".into()),
                None => return Err("no \"codes\" field".into()),
            };
            let id = match obj.get("id") {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            Ok((id, text, codes))
        });
        out.push(RawRow { line: i + 1, raw: line.to_vec(), fields });
    }
    out
}

/// Reads and validates every input; no files are written.
pub fn read(inputs: &[PathBuf], table: &CodeTable, labels: Option<&LabelSpace>, format: Option<Format>) -> Result<Imported> {
    let mut imp = Imported::default();
    let mut seen_ids: HashMap<String, (String, usize)> = HashMap::new();
    for path in inputs {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).with_context(|| format!("reading {name}"))?;
        let fmt = match format {
            Some(f) => f,
            None => Format::of_path(path)?,
        };
        let rows = match fmt {
            Format::Csv => read_csv(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?,
            Format::Jsonl => read_jsonl(&bytes),
        };
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "row".into());
        for row in rows {
            imp.rows += 1;
            let verdict = row.fields.and_then(|(id, text, codes)| {
                if text.trim().is_empty() {
                    return Err("empty text".to_string());
                }
                if codes.is_empty() {
                    return Err("no codes".to_string());
                }
                let mut norm: Vec<String> = Vec::new();
                for c in &codes {
                    let code = normalize_code(c);
                    match table.get(&code) {
                        None => return Err(format!("unknown code {c:?} (not in {})", table.release)),
                        Some(e) if !e.billable => return Err(format!("code {code} ({}) is not billable; use one of its subcodes", e.description)),
                        Some(_) => {}
                    }
                    if let Some(ls) = labels {
                        if !ls.contains(&code) {
                            return Err(format!("code {code} is not in the label space"));
                        }
                    }
                    if !norm.contains(&code) {
                        norm.push(code);
                    }
                }
                let id = id.unwrap_or_else(|| format!("{stem}-{}", row.line));
                if let Some((f, l)) = seen_ids.get(&id) {
                    return Err(format!("duplicate id {id:?} (first at {f}:{l})"));
                }
                seen_ids.insert(id.clone(), (name.clone(), row.line));
                let mut meta = serde_json::Map::new();
                meta.insert("source".into(), format!("{name}:{}", row.line).into());
                Ok(Record { id, text, codes: norm, meta })
            });
            match verdict {
                Ok(r) => imp.accepted.push(r),
                Err(reason) => imp.rejects.push(Reject { file: name.clone(), line: row.line, reason, raw: lossy(&row.raw) }),
            }
        }
    }
    Ok(imp)
}

/// Stratified split by primary code: each code's notes are shuffled and `test_ratio`
/// (rounded, and at least one when the code has 2+ notes) go to test, `valid_ratio` to valid.
pub fn split(records: Vec<Record>, test_ratio: f64, valid_ratio: f64, seed: u64) -> (Vec<Record>, Vec<Record>, Vec<Record>) {
    let mut groups: BTreeMap<String, Vec<Record>> = BTreeMap::new();
    for r in records {
        groups.entry(r.codes[0].clone()).or_default().push(r);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for (_, mut g) in groups {
        g.shuffle(&mut rng);
        let n = g.len();
        // At least one test note when the code has 2+, and always one left for train.
        let mut n_test = (n as f64 * test_ratio).round() as usize;
        if test_ratio > 0.0 && n >= 2 {
            n_test = n_test.max(1);
        }
        let n_test = n_test.min(n.saturating_sub(1));
        let n_valid = ((n as f64 * valid_ratio).round() as usize).min(n.saturating_sub(1 + n_test));
        let mut it = g.into_iter();
        test.extend(it.by_ref().take(n_test));
        valid.extend(it.by_ref().take(n_valid));
        train.extend(it);
    }
    (train, valid, test)
}

/// Reads, validates, splits and writes; returns the summary line.
pub fn run(inputs: &[PathBuf], table: &CodeTable, labels: Option<&LabelSpace>, out: &Path, opts: &Options) -> Result<String> {
    anyhow::ensure!(
        (0.0..1.0).contains(&opts.test_ratio) && (0.0..1.0).contains(&opts.valid_ratio) && opts.test_ratio + opts.valid_ratio < 1.0,
        "test and valid ratios must be in [0, 1) and sum below 1"
    );
    let imp = read(inputs, table, labels, opts.format)?;
    for r in &imp.rejects {
        eprintln!("{r}");
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let rejects_path = out.join("rejects.jsonl");
    let rejects: String = imp.rejects.iter().map(|r| serde_json::to_string(r).expect("serializes") + "\n").collect();
    std::fs::write(&rejects_path, rejects).with_context(|| format!("writing {}", rejects_path.display()))?;
    let accepted = imp.accepted.len();
    let (train, valid, test) = split(imp.accepted, opts.test_ratio, opts.valid_ratio, opts.seed);
    for (name, recs) in [("train", &train), ("valid", &valid), ("test", &test)] {
        if name == "valid" && opts.valid_ratio == 0.0 {
            continue;
        }
        let p = out.join(format!("{name}.jsonl"));
        std::fs::write(&p, to_jsonl(recs)).with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(format!(
        "{} rows: accepted {accepted}, rejected {} (see {}) -> {} train, {} valid, {} test in {}",
        imp.rows,
        imp.rejects.len(),
        rejects_path.display(),
        train.len(),
        valid.len(),
        test.len(),
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        let recs = csv_records(b"id,text,codes\n1,\"a, \"\"b\"\"\nc\",I10\n2,plain,I10\r\n3,\"open,I10\n4,ok,I10\n5,bad \"q\",I10\n");
        let lines: Vec<(usize, bool)> = recs.iter().map(|(l, _, r)| (*l, r.is_ok())).collect();
        assert_eq!(lines, [(1, true), (2, true), (4, true), (5, false), (6, true), (7, false)]);
        assert_eq!(recs[1].2.as_ref().unwrap()[1], b"a, \"b\"\nc");
        assert_eq!(recs[2].2.as_ref().unwrap()[2], b"I10");
    }

    #[test]
    fn splits_codes() {
        assert_eq!(split_codes("I10; E11.9|J45.909, K21.9"), ["I10", "E11.9", "J45.909", "K21.9"]);
    }
}
