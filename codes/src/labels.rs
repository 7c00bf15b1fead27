//! A model's label space: the billable codes it can predict, in label-id order.
//!
//! Read from a TSV (`code<TAB>description[<TAB>chapter]`, optional header line,
//! `#` comments). Every problem is reported with its line number, all at once,
//! and nothing is dropped: one bad line rejects the file.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::table::{normalize_code, CodeTable};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub code: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSpace {
    labels: Vec<Label>,
    index: HashMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("{source_name}: {}", display_problems(.problems))]
    Invalid { source_name: String, problems: Vec<LineProblem> },
    #[error("{source_name}: no labels (the file has no code lines)")]
    Empty { source_name: String },
    #[error("unknown label code {0:?} (not in this model's label space)")]
    UnknownLabel(String),
}

fn display_problems(p: &[LineProblem]) -> String {
    let shown: Vec<String> = p.iter().take(20).map(|p| format!("line {}: {}", p.line, p.message)).collect();
    let more = if p.len() > 20 { format!("\n  ... and {} more", p.len() - 20) } else { String::new() };
    format!("{} problem(s)\n  {}{}", p.len(), shown.join("\n  "), more)
}

impl LabelSpace {
    /// Parses and validates a label TSV. `source_name` (usually the path) goes into errors.
    pub fn parse_tsv(text: &str, table: &CodeTable, source_name: &str) -> Result<Self, LabelError> {
        let mut labels = Vec::new();
        let mut problems = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if line_no == 1 && cols[0].trim().eq_ignore_ascii_case("code") {
                continue;
            }
            let mut problem = |m: String| problems.push(LineProblem { line: line_no, message: m });
            let code = normalize_code(cols[0]);
            let Some(entry) = table.get(&code) else {
                problem(format!("code {code:?} is not in {}", table.release));
                continue;
            };
            if !entry.billable {
                problem(format!("code {code} ({}) is not billable: use one of its subcodes", entry.description));
                continue;
            }
            if let Some(desc) = cols.get(1).map(|d| d.trim()).filter(|d| !d.is_empty()) {
                if desc != entry.description {
                    problem(format!("code {code}: description {desc:?} differs from the official {:?}", entry.description));
                    continue;
                }
            }
            if let Some(ch) = cols.get(2).map(|c| c.trim()).filter(|c| !c.is_empty()) {
                if ch.parse::<u8>().ok() != Some(entry.chapter) {
                    problem(format!("code {code}: chapter {ch:?}, but the code is in chapter {}", entry.chapter));
                    continue;
                }
            }
            if let Some(first) = seen.get(&code) {
                problem(format!("code {code} repeats line {first}"));
                continue;
            }
            seen.insert(code.clone(), line_no);
            labels.push(Label { code, description: entry.description.clone() });
        }
        if !problems.is_empty() {
            return Err(LabelError::Invalid { source_name: source_name.to_string(), problems });
        }
        if labels.is_empty() {
            return Err(LabelError::Empty { source_name: source_name.to_string() });
        }
        Ok(Self::from_labels(labels))
    }

    /// Builds from already-validated labels (e.g. read back from a model's config).
    pub fn from_labels(labels: Vec<Label>) -> Self {
        let index = labels.iter().enumerate().map(|(i, l)| (l.code.clone(), i)).collect();
        Self { labels, index }
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    pub fn get(&self, id: usize) -> Option<&Label> {
        self.labels.get(id)
    }

    /// Label id of a code (any spelling `normalize_code` accepts).
    pub fn id_of(&self, code: &str) -> Result<usize, LabelError> {
        self.index.get(&normalize_code(code)).copied().ok_or_else(|| LabelError::UnknownLabel(code.to_string()))
    }

    pub fn contains(&self, code: &str) -> bool {
        self.index.contains_key(&normalize_code(code))
    }

    /// Writes the TSV form that [`LabelSpace::parse_tsv`] reads.
    pub fn to_tsv(&self) -> String {
        let mut s = String::from("code\tdescription\n");
        for l in &self.labels {
            s.push_str(&format!("{}\t{}\n", l.code, l.description));
        }
        s
    }
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::test_tables::respiratory;

    fn table() -> CodeTable {
        respiratory(&[
            ("J45", "Asthma", true, &[]),
            ("J45.9", "Other and unspecified asthma", true, &[]),
            ("J45.90", "Unspecified asthma", true, &[]),
            ("J45.909", "Unspecified asthma, uncomplicated", false, &[]),
            ("J45.901", "Unspecified asthma with (acute) exacerbation", false, &[]),
        ])
    }

    #[test]
    fn reads_header_comments_and_undotted_codes() {
        let t = table();
        let ls = LabelSpace::parse_tsv("code\tdescription\tchapter\n# comment\nJ45909\tUnspecified asthma, uncomplicated\t10\nJ45.901\n", &t, "x.tsv").unwrap();
        assert_eq!(ls.len(), 2);
        assert_eq!(ls.id_of("J45.901").unwrap(), 1);
        assert_eq!(ls.get(0).unwrap().code, "J45.909");
        let again = LabelSpace::parse_tsv(&ls.to_tsv(), &t, "again").unwrap();
        assert_eq!(again.labels(), ls.labels());
    }

    #[test]
    fn every_bad_line_is_reported_with_its_number() {
        let t = table();
        let text = "J45.909\nJ45.90\nZ99.999\nJ45.909\nJ45.901\tAsthma attack\n";
        let err = LabelSpace::parse_tsv(text, &t, "labels.tsv").unwrap_err();
        let LabelError::Invalid { problems, .. } = &err else { panic!("{err}") };
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 3, 4, 5]);
        let msg = err.to_string();
        assert!(msg.starts_with("labels.tsv: 4 problem(s)"), "{msg}");
        assert!(msg.contains("line 2: code J45.90 (Unspecified asthma) is not billable"), "{msg}");
        assert!(msg.contains("line 3: code \"Z99.999\" is not in"), "{msg}");
        assert!(msg.contains("line 4: code J45.909 repeats line 1"), "{msg}");
        assert!(msg.contains("line 5: code J45.901: description"), "{msg}");
    }

    #[test]
    fn empty_file_is_an_error() {
        assert!(matches!(LabelSpace::parse_tsv("code\tdescription\n", &table(), "e"), Err(LabelError::Empty { .. })));
    }
}
