//! The hand-written clinical knowledge table (`data/knowledge/*.toml`, schema in
//! `data/knowledge/SCHEMA.md`), embedded in the binary and validated on load.
//!
//! Every problem names its file and code: a TOML or schema error (missing or
//! unknown field, bad enum value), an empty or too-short list, an age range that
//! is upside down, a duplicate code, or an ICD code-like token inside any text
//! field (notes must never contain code strings).

use std::collections::BTreeMap;

use icd_core::{CodeTable, LabelSpace};
use serde::Deserialize;

use crate::generate::leak::find_code_like;

/// The knowledge files, embedded so the generator needs no files at run time.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("part1.toml", include_str!("../knowledge/part1.toml")),
    ("part2.toml", include_str!("../knowledge/part2.toml")),
    ("part3.toml", include_str!("../knowledge/part3.toml")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Acute,
    Chronic,
    Symptom,
    Injury,
    Status,
    Encounter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Any,
    Female,
    Male,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    Clinic,
    Ed,
    Inpatient,
    Telehealth,
    Nursing,
    Consult,
}

/// One `[[code]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub code: String,
    pub kind: Kind,
    pub age: [u8; 2],
    pub sex: Sex,
    pub settings: Vec<Setting>,
    pub terms: Vec<String>,
    pub abbrevs: Vec<String>,
    pub symptoms: Vec<String>,
    pub exam: Vec<String>,
    pub tests: Vec<String>,
    pub meds: Vec<String>,
    pub plan: Vec<String>,
    pub risk: Vec<String>,
    pub comorbid: Vec<String>,
    /// The file it came from (not in the TOML).
    #[serde(skip)]
    pub file: String,
}

impl Entry {
    /// Every free-text field, with its name.
    pub fn text_fields(&self) -> impl Iterator<Item = (&'static str, &String)> {
        [
            ("terms", &self.terms),
            ("abbrevs", &self.abbrevs),
            ("symptoms", &self.symptoms),
            ("exam", &self.exam),
            ("tests", &self.tests),
            ("meds", &self.meds),
            ("plan", &self.plan),
            ("risk", &self.risk),
        ]
        .into_iter()
        .flat_map(|(name, v)| v.iter().map(move |s| (name, s)))
    }

    pub fn category(&self) -> &str {
        &self.code[..3.min(self.code.len())]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("knowledge/{file}: {message}")]
    Toml { file: String, message: String },
    #[error("knowledge/{file}: code {code}: {message}")]
    Entry { file: String, code: String, message: String },
    #[error("label {code} has no entry in the knowledge table (data/knowledge/*.toml); add one")]
    MissingLabel { code: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    code: Vec<Entry>,
}

/// The validated table, in file order.
#[derive(Debug, Clone)]
pub struct Knowledge {
    entries: Vec<Entry>,
    index: BTreeMap<String, usize>,
}

/// Least list lengths the schema asks for.
const MIN_LEN: &[(&str, usize)] = &[("terms", 3), ("symptoms", 3), ("exam", 2), ("tests", 2), ("meds", 1), ("plan", 2), ("risk", 1)];

impl Knowledge {
    /// The embedded table.
    pub fn embedded() -> Result<Self, KnowledgeError> {
        Self::parse(EMBEDDED)
    }

    /// Parses and validates `(file name, TOML text)` pairs.
    pub fn parse(files: &[(&str, &str)]) -> Result<Self, KnowledgeError> {
        let mut entries: Vec<Entry> = Vec::new();
        let mut index = BTreeMap::new();
        for (name, text) in files {
            let parsed: File = toml::from_str(text).map_err(|e| KnowledgeError::Toml { file: name.to_string(), message: e.to_string() })?;
            for mut e in parsed.code {
                e.file = name.to_string();
                let err = |m: String| KnowledgeError::Entry { file: name.to_string(), code: e.code.clone(), message: m };
                if e.code != icd_core::table::normalize_code(&e.code) {
                    return Err(err(format!("code is not written in dotted upper case (expected {})", icd_core::table::normalize_code(&e.code))));
                }
                if e.age[0] > e.age[1] || e.age[1] > 110 {
                    return Err(err(format!("age range {:?} is not [low, high] within 0..=110", e.age)));
                }
                if e.settings.is_empty() {
                    return Err(err("settings is empty".into()));
                }
                for (field, min) in MIN_LEN {
                    let n = e.text_fields().filter(|(f, _)| f == field).count();
                    if n < *min {
                        return Err(err(format!("{field} has {n} item(s), at least {min} needed")));
                    }
                }
                for (field, s) in e.text_fields() {
                    if s.trim().is_empty() {
                        return Err(err(format!("{field} has an empty string")));
                    }
                    if let Some(tok) = find_code_like(s) {
                        return Err(err(format!("{field} item {s:?} contains the code-like token {tok:?}; notes must not contain ICD code strings")));
                    }
                }
                if let Some(&first) = index.get(&e.code) {
                    let first: &Entry = &entries[first];
                    return Err(err(format!("duplicate entry (first in {})", first.file)));
                }
                index.insert(e.code.clone(), entries.len());
                entries.push(e);
            }
        }
        Ok(Self { entries, index })
    }

    /// Checks the table against the code table (every code and comorbid code exists and is
    /// billable) and the label space (every label has an entry).
    pub fn check(&self, table: &CodeTable, labels: &LabelSpace) -> Result<(), KnowledgeError> {
        for e in &self.entries {
            let err = |m: String| KnowledgeError::Entry { file: e.file.clone(), code: e.code.clone(), message: m };
            match table.get(&e.code) {
                None => return Err(err(format!("unknown code (not in {})", table.release))),
                Some(c) if !c.billable => return Err(err("not a billable code".into())),
                Some(c) => {
                    if let Some(t) = e.terms.iter().find(|t| t.eq_ignore_ascii_case(&c.description)) {
                        return Err(err(format!("term {t:?} is the official description verbatim")));
                    }
                }
            }
            for c in &e.comorbid {
                match table.get(c) {
                    None => return Err(err(format!("comorbid code {c} is unknown"))),
                    Some(x) if !x.billable => return Err(err(format!("comorbid code {c} is not billable"))),
                    Some(_) if *c == e.code => return Err(err("lists itself as comorbid".into())),
                    _ => {}
                }
            }
        }
        for l in labels.labels() {
            if !self.index.contains_key(&l.code) {
                return Err(KnowledgeError::MissingLabel { code: l.code.clone() });
            }
        }
        Ok(())
    }

    pub fn get(&self, code: &str) -> Option<&Entry> {
        self.index.get(code).map(|&i| &self.entries[i])
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[code]]
code = "I10"
kind = "chronic"
age = [18, 100]
sex = "any"
settings = ["clinic"]
terms = ["hypertension", "high blood pressure", "essential hypertension"]
abbrevs = ["HTN"]
symptoms = ["no headaches", "home BP readings 140s/90s", "adherent to medications"]
exam = ["BP 152/94", "no edema"]
tests = ["creatinine 0.9 mg/dL", "ECG: no LVH"]
meds = ["lisinopril 20 mg PO daily"]
plan = ["DASH diet", "follow up in 4 weeks"]
risk = ["obesity"]
comorbid = ["E78.5"]
"#;

    #[test]
    fn embedded_table_loads() {
        let k = Knowledge::embedded().unwrap();
        assert_eq!(k.len(), 300);
        assert!(k.get("J45.909").is_some());
    }

    #[test]
    fn good_entry_parses_and_errors_name_file_and_code() {
        assert_eq!(Knowledge::parse(&[("a.toml", GOOD)]).unwrap().len(), 1);

        let missing = GOOD.replace("risk = [\"obesity\"]\n", "");
        let e = Knowledge::parse(&[("a.toml", &missing)]).unwrap_err().to_string();
        assert!(e.starts_with("knowledge/a.toml:") && e.contains("risk"), "{e}");

        let leak = GOOD.replace("\"DASH diet\"", "\"DASH diet for I10\"");
        let e = Knowledge::parse(&[("b.toml", &leak)]).unwrap_err().to_string();
        assert!(e.contains("knowledge/b.toml: code I10: plan") && e.contains("\"I10\""), "{e}");

        let dup = format!("{GOOD}{GOOD}");
        let e = Knowledge::parse(&[("c.toml", &dup)]).unwrap_err().to_string();
        assert!(e.contains("code I10: duplicate"), "{e}");

        let bad_kind = GOOD.replace("kind = \"chronic\"", "kind = \"sometimes\"");
        assert!(Knowledge::parse(&[("d.toml", &bad_kind)]).unwrap_err().to_string().starts_with("knowledge/d.toml:"));

        let unknown_field = GOOD.replace("sex = \"any\"", "sex = \"any\"\ncolor = \"red\"");
        assert!(Knowledge::parse(&[("e.toml", &unknown_field)]).unwrap_err().to_string().contains("color"));
    }
}
