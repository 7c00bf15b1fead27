//! CMS-HCC risk-adjustment mappings: which hierarchical condition category (HCC) an
//! ICD-10-CM code falls in, per model (V28, V24), with CMS's label for each HCC.
//!
//! The files live in `data/hcc/` (built by `scripts/hcc-tables.py`; sources and what is not
//! covered in `data/hcc/README.md`):
//!
//! - mapping, e.g. `v28.tsv`: header `code<TAB>hcc`, then one row per code and HCC, the code
//!   dotted (`E11.9`, `I10`); a code in two HCCs has two rows.
//! - labels, e.g. `labels-v28.tsv`: header `hcc<TAB>label`, one row per HCC.
//!
//! Every error names the file, the 1-based line and the field, so a bad hand edit or a
//! broken regeneration points at the row to fix.

use std::collections::BTreeMap;

const MAPPING_HEADER: &str = "code\thcc";
const LABELS_HEADER: &str = "hcc\tlabel";

/// One model's mapping: code -> HCC numbers, and HCC number -> label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HccModel {
    /// `V28`, `V24`.
    pub version: String,
    /// Dotted code -> its HCCs, ascending (most codes have one, a few two).
    pub by_code: BTreeMap<String, Vec<u16>>,
    /// HCC number (as CMS numbers it within this model) -> CMS label.
    pub labels: BTreeMap<u16, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HccError {
    #[error("{path}:{line}: header is {found:?}, expected {expected:?}")]
    Header { path: String, line: usize, found: String, expected: &'static str },
    #[error("{path}:{line}: {found} tab-separated fields, expected {expected} ({header})")]
    Columns { path: String, line: usize, found: usize, expected: usize, header: &'static str },
    #[error("{path}:{line}: field `code`: {code:?} is not an ICD-10-CM code (dotted, like E11.9 or I10)")]
    Code { path: String, line: usize, code: String },
    #[error("{path}:{line}: field `hcc`: {value:?} is not an HCC number (an integer 0-65535)")]
    Hcc { path: String, line: usize, value: String },
    #[error("{path}:{line}: field `label`: empty label for HCC {hcc}")]
    EmptyLabel { path: String, line: usize, hcc: u16 },
    #[error("{path}:{line}: field `hcc`: HCC {hcc} is labelled twice (first on line {first})")]
    DuplicateLabel { path: String, line: usize, hcc: u16, first: usize },
    #[error("{path}:{line}: field `hcc`: HCC {hcc} (for {code}) has no label in {labels_path}")]
    Unlabelled { path: String, line: usize, code: String, hcc: u16, labels_path: String },
    #[error("{path}:{line}: row {code} -> HCC {hcc} repeats line {first}")]
    DuplicateRow { path: String, line: usize, code: String, hcc: u16, first: usize },
}

/// Parses one model from its mapping and label files' text; the paths are only for messages.
pub fn parse_model(version: &str, mapping_tsv: &str, mapping_path: &str, labels_tsv: &str, labels_path: &str) -> Result<HccModel, HccError> {
    // Labels first, so a mapping row with an unlabelled HCC is reported at that row.
    let mut labels = BTreeMap::new();
    let mut label_lines = BTreeMap::new();
    for (line, fields) in rows(labels_tsv, labels_path, LABELS_HEADER)? {
        let hcc = parse_hcc(fields[0], labels_path, line)?;
        let label = fields[1].trim();
        if label.is_empty() {
            return Err(HccError::EmptyLabel { path: labels_path.to_string(), line, hcc });
        }
        if let Some(&first) = label_lines.get(&hcc) {
            return Err(HccError::DuplicateLabel { path: labels_path.to_string(), line, hcc, first });
        }
        label_lines.insert(hcc, line);
        labels.insert(hcc, label.to_string());
    }

    let mut by_code: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    let mut seen: BTreeMap<(String, u16), usize> = BTreeMap::new();
    for (line, fields) in rows(mapping_tsv, mapping_path, MAPPING_HEADER)? {
        let code = fields[0];
        if !is_dotted_code(code) {
            return Err(HccError::Code { path: mapping_path.to_string(), line, code: code.to_string() });
        }
        let hcc = parse_hcc(fields[1], mapping_path, line)?;
        if !labels.contains_key(&hcc) {
            return Err(HccError::Unlabelled { path: mapping_path.to_string(), line, code: code.to_string(), hcc, labels_path: labels_path.to_string() });
        }
        if let Some(&first) = seen.get(&(code.to_string(), hcc)) {
            return Err(HccError::DuplicateRow { path: mapping_path.to_string(), line, code: code.to_string(), hcc, first });
        }
        seen.insert((code.to_string(), hcc), line);
        by_code.entry(code.to_string()).or_default().push(hcc);
    }
    // The files are sorted, but lookups should not depend on that.
    for hccs in by_code.values_mut() {
        hccs.sort_unstable();
    }
    Ok(HccModel { version: version.to_string(), by_code, labels })
}

/// The data rows (1-based line number, two fields) after checking the header.
fn rows<'a>(text: &'a str, path: &str, header: &'static str) -> Result<Vec<(usize, Vec<&'a str>)>, HccError> {
    let mut lines = text.lines();
    let found = lines.next().unwrap_or("");
    if found != header {
        return Err(HccError::Header { path: path.to_string(), line: 1, found: found.to_string(), expected: header });
    }
    lines
        .enumerate()
        .map(|(i, l)| {
            let fields: Vec<&str> = l.split('\t').collect();
            if fields.len() != 2 {
                return Err(HccError::Columns { path: path.to_string(), line: i + 2, found: fields.len(), expected: 2, header });
            }
            Ok((i + 2, fields))
        })
        .collect()
}

fn parse_hcc(value: &str, path: &str, line: usize) -> Result<u16, HccError> {
    // Digits only: `u16::from_str` would also take "+38", which CMS never writes.
    if value.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(hcc) = value.parse() {
            return Ok(hcc);
        }
    }
    Err(HccError::Hcc { path: path.to_string(), line, value: value.to_string() })
}

/// ICD-10-CM shape, dotted: letter, digit, letter-or-digit (`C4A`), then optionally a dot and
/// 1-4 letters or digits (`E11.9`, `S06.A0XA`). Undotted (`E119`) is rejected: the files are
/// dotted, and an undotted code would silently never match a lookup.
fn is_dotted_code(code: &str) -> bool {
    let b = code.as_bytes();
    let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let head = b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && alnum(&b[2]);
    let tail = match b.get(3) {
        None => true,
        Some(b'.') => (5..=8).contains(&b.len()) && b[4..].iter().all(alnum),
        Some(_) => false,
    };
    head && tail
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &str = "hcc\tlabel\n2\tSepsis\n6\tOpportunistic Infections\n38\tDiabetes\n";

    fn parse(mapping: &str, labels: &str) -> Result<HccModel, HccError> {
        parse_model("V28", mapping, "m.tsv", labels, "l.tsv")
    }

    /// The error's message, asserted to name `path:line`.
    fn message(mapping: &str, labels: &str, at: &str) -> String {
        let msg = parse(mapping, labels).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{at}: ")), "{msg:?} does not start with {at:?}");
        msg
    }

    #[test]
    fn parses_rows_and_multi_hcc_codes() {
        let m = parse("code\thcc\nB37.7\t6\nB37.7\t2\nE11.9\t38\n", LABELS).unwrap();
        assert_eq!(m.version, "V28");
        assert_eq!(m.by_code["B37.7"], vec![2, 6]);
        assert_eq!(m.by_code["E11.9"], vec![38]);
        assert_eq!(m.labels[&38], "Diabetes");
        assert_eq!(m.by_code.len(), 2);
    }

    #[test]
    fn bad_header() {
        let msg = message("code\thcc_v28\nE11.9\t38\n", LABELS, "m.tsv:1");
        assert!(msg.contains("expected \"code\\thcc\""), "{msg}");
        let msg = message("code\thcc\n", "", "l.tsv:1");
        assert!(msg.contains("header is \"\""), "{msg}");
    }

    #[test]
    fn wrong_column_count() {
        let msg = message("code\thcc\nE11.9\t38\nE11.9\n", LABELS, "m.tsv:3");
        assert!(msg.contains("1 tab-separated fields, expected 2"), "{msg}");
        let msg = message("code\thcc\n", "hcc\tlabel\n38\tDiabetes\tD\n", "l.tsv:2");
        assert!(msg.contains("3 tab-separated fields"), "{msg}");
    }

    #[test]
    fn code_not_icd10_shaped() {
        for bad in ["E119", "e11.9", "E11.", "E11.12345", "11.9", "E1", "E11-9"] {
            let msg = message(&format!("code\thcc\n{bad}\t38\n"), LABELS, "m.tsv:2");
            assert!(msg.contains("field `code`") && msg.contains(bad), "{msg}");
        }
        for good in ["I10", "C4A.0", "S06.A0XA", "Z68.41"] {
            assert!(is_dotted_code(good), "{good}");
        }
    }

    #[test]
    fn hcc_not_an_integer() {
        for bad in ["HCC38", "+38", "3.8", "", "70000"] {
            let msg = message(&format!("code\thcc\nE11.9\t{bad}\n"), LABELS, "m.tsv:2");
            assert!(msg.contains("field `hcc`") && msg.contains("not an HCC number"), "{msg}");
        }
        let msg = message("code\thcc\n", "hcc\tlabel\n2\tSepsis\nx38\tDiabetes\n", "l.tsv:3");
        assert!(msg.contains("\"x38\""), "{msg}");
    }

    #[test]
    fn hcc_without_label() {
        let msg = message("code\thcc\nE11.9\t38\nI50.9\t226\n", LABELS, "m.tsv:3");
        assert!(msg.contains("HCC 226 (for I50.9) has no label in l.tsv"), "{msg}");
    }

    #[test]
    fn duplicate_label() {
        let msg = message("code\thcc\n", "hcc\tlabel\n38\tDiabetes\n2\tSepsis\n38\tAgain\n", "l.tsv:4");
        assert!(msg.contains("HCC 38 is labelled twice (first on line 2)"), "{msg}");
    }

    #[test]
    fn empty_label_and_repeated_row() {
        let msg = message("code\thcc\n", "hcc\tlabel\n38\t \n", "l.tsv:2");
        assert!(msg.contains("field `label`"), "{msg}");
        let msg = message("code\thcc\nE11.9\t38\nE11.9\t38\n", LABELS, "m.tsv:3");
        assert!(msg.contains("repeats line 2"), "{msg}");
    }

    fn shipped(slug: &str) -> HccModel {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/hcc");
        let (mapping_path, labels_path) = (format!("{dir}/{slug}.tsv"), format!("{dir}/labels-{slug}.tsv"));
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        parse_model(&slug.to_uppercase(), &read(&mapping_path), &mapping_path, &read(&labels_path), &labels_path).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Spot checks verified against CMS's F2823T2N_FY22FY23.TXT / V28115L3.TXT (hccpy 0.1.9).
    #[test]
    fn shipped_v28() {
        let m = shipped("v28");
        assert_eq!(m.version, "V28");
        assert_eq!((m.by_code.len(), m.by_code.values().map(Vec::len).sum::<usize>(), m.labels.len()), (7770, 8046, 115));
        assert_eq!(m.by_code["E11.9"], vec![38]);
        assert_eq!(m.labels[&38], "Diabetes with Glycemic, Unspecified, or No Complications");
        assert_eq!(m.by_code["I50.9"], vec![226]);
        assert_eq!(m.labels[&226], "Heart Failure, Except End-Stage and Acute");
        assert_eq!(m.by_code["N18.6"], vec![326]);
        assert_eq!(m.by_code["B37.7"], vec![2, 6]);
        assert_eq!(m.by_code["E08.3511"], vec![37, 298]);
        assert_eq!(m.by_code["F01.511"], vec![127]);
        assert!(!m.by_code.contains_key("I10"), "hypertension carries no HCC");
    }

    /// Spot checks verified against CMS's F2422P1M.TXT / V24H86L1.TXT (hccpy 0.1.9).
    #[test]
    fn shipped_v24() {
        let m = shipped("v24");
        assert_eq!((m.by_code.len(), m.by_code.values().map(Vec::len).sum::<usize>(), m.labels.len()), (9597, 9875, 86));
        assert_eq!(m.by_code["E11.9"], vec![19]);
        assert_eq!(m.labels[&19], "Diabetes without Complication");
        assert_eq!(m.by_code["I50.9"], vec![85]);
        assert_eq!(m.labels[&85], "Congestive Heart Failure");
        assert_eq!(m.by_code["N18.6"], vec![136]);
        assert_eq!(m.by_code["B37.7"], vec![2, 6]);
        assert_eq!(m.by_code["E08.3511"], vec![18, 122]);
        assert!(!m.by_code.contains_key("I10"));
        assert!(!m.by_code.contains_key("F01.511"), "FY2023 code, newer than the V24 file");
    }
}
