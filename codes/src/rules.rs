//! The coder's checks on a list of codes, in the order they will be reported.
//!
//! From the tabular (notes of the code, its ancestors, its block and its chapter):
//! Excludes1 (never together), Excludes2 (informational), "Code first", "Use additional code"
//! and "Code also" (satisfied when a code they name is in the list). From the code table:
//! not a code, a non-billable header, a missing 7th character or placeholder `X`. From the
//! Official Guidelines: manifestation ("in diseases classified elsewhere") and external-cause
//! codes are never first-listed; some Z codes are first-listed only. Age and sex: the
//! maternity and newborn chapters and the sex-specific blocks listed in [`SEX_SPECIFIC`]
//! (a hand-made approximation of the CMS Medicare Code Editor, which is not shipped).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::table::{normalize_code, with_seventh, Code, CodeTable};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Excludes1,
    Excludes2,
    CodeFirst,
    UseAdditional,
    CodeAlso,
    Invalid,
    NotBillable,
    SeventhCharacter,
    Age,
    Sex,
    Sequencing,
}

/// One finding about the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleMessage {
    pub severity: Severity,
    pub kind: RuleKind,
    /// The codes involved, as the list spells them (normalized).
    pub codes: Vec<String>,
    pub text: String,
    /// Codes to choose from instead (a header's children, a code's 7th-character forms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Female,
    Male,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Setting {
    Inpatient,
    #[default]
    Outpatient,
}

/// What the note or the user says about the patient; unknown facts are not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patient {
    /// Years; 0 for a newborn.
    pub age: Option<u32>,
    pub sex: Option<Sex>,
    pub setting: Setting,
}

/// One code of the list as the table knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckedCode {
    pub code: String,
    pub valid: bool,
    pub billable: bool,
    /// `None` when the code is not in the table.
    pub description: Option<String>,
    /// Per model (`v28`, `v24`): the HCC number, or `null`. Two HCCs are joined with a comma.
    pub hcc: BTreeMap<String, Option<String>>,
}

/// The verdict on a list: each code, then every message (errors first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub codes: Vec<CheckedCode>,
    pub messages: Vec<RuleMessage>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.messages.iter().any(|m| m.severity == Severity::Error)
    }
}

/// Checks `codes` (first-listed first) against the table's rules.
pub fn check(table: &CodeTable, codes: &[&str], patient: &Patient) -> Checked {
    let mut messages = Vec::new();
    let spelled: Vec<String> = codes.iter().map(|c| normalize_code(c)).collect();
    let mut found: Vec<(usize, &Code)> = Vec::new();
    let mut checked = Vec::new();
    for (pos, code) in spelled.iter().enumerate() {
        let c = table.get(code);
        let mut hcc: BTreeMap<String, Option<String>> = table.hcc.iter().map(|m| (m.version.to_lowercase(), None)).collect();
        if let Some(c) = c {
            for m in &table.hcc {
                let flags = m.flags(&c.code);
                if !flags.is_empty() {
                    let joined = flags.iter().map(|f| f.hcc.to_string()).collect::<Vec<_>>().join(",");
                    hcc.insert(m.version.to_lowercase(), Some(joined));
                }
            }
        }
        checked.push(CheckedCode {
            code: code.clone(),
            valid: c.is_some(),
            billable: c.is_some_and(|c| c.billable),
            description: c.map(|c| c.description.clone()),
            hcc,
        });
        if spelled[..pos].contains(code) {
            messages.push(msg(Severity::Warning, RuleKind::Invalid, vec![code.clone()], format!("{code} is listed more than once")));
            continue;
        }
        match c {
            Some(c) => {
                validity(table, c, &mut messages);
                found.push((pos, c));
            }
            None => messages.push(not_in_table(table, code)),
        }
    }
    for &(_, c) in &found {
        age_and_sex(c, patient, &mut messages);
    }
    pairs(table, &found, &mut messages);
    companions(table, &found, &mut messages);
    sequencing(table, &found, &mut messages);
    messages.sort_by_key(|m| m.severity);
    Checked { codes: checked, messages }
}

fn msg(severity: Severity, kind: RuleKind, codes: Vec<String>, text: String) -> RuleMessage {
    RuleMessage { severity, kind, codes, text, options: Vec::new() }
}

/// A code the table does not hold: a missing placeholder `X`, a 7th character the code does
/// not take, or no code at all (with the nearest code above it, when there is one).
fn not_in_table(table: &CodeTable, code: &str) -> RuleMessage {
    let plain: String = code.chars().filter(|c| *c != '.').collect();
    // `T14.8A` for `T14.8XXA`: a 7th character written without its placeholders.
    if (5..=7).contains(&plain.len()) && plain.is_ascii() && plain.ends_with(|c: char| c.is_ascii_uppercase()) {
        let base = plain[..plain.len() - 1].trim_end_matches('X');
        let last = plain.chars().last().expect("5 or more characters");
        let padded = with_seventh(base, last);
        if padded != code && table.get(&padded).is_some() {
            let mut m = msg(
                Severity::Error,
                RuleKind::SeventhCharacter,
                vec![code.to_string()],
                format!("{code} is not a code: the 7th character goes in the 7th place, with the placeholder X: {padded}"),
            );
            m.options = vec![padded];
            return m;
        }
    }
    let mut up = plain.clone();
    while up.len() > 3 {
        up.pop();
        if let Some(near) = table.get(&up) {
            let idx = table.index_of(&near.code).expect("found");
            let mut m = msg(
                Severity::Error,
                RuleKind::Invalid,
                vec![code.to_string()],
                format!("{code} is not a code in {}; the nearest code above it is {} {}", table.release, near.code, near.description),
            );
            m.options = table.children(idx).map(|i| table.codes()[i].code.clone()).collect();
            return m;
        }
    }
    msg(Severity::Error, RuleKind::Invalid, vec![code.to_string()], format!("{code} is not a code in {}", table.release))
}

/// A header is not billable: name its children, or its 7th-character forms.
fn validity(table: &CodeTable, c: &Code, out: &mut Vec<RuleMessage>) {
    if c.billable {
        return;
    }
    let idx = table.index_of(&c.code).expect("code from table");
    let children: Vec<&Code> = table.children(idx).map(|i| &table.codes()[i]).collect();
    let seventh = !children.is_empty() && children.iter().all(|k| k.code.chars().last().is_some_and(|ch| with_seventh(&c.code, ch) == k.code));
    let options: Vec<String> = children.iter().map(|k| k.code.clone()).collect();
    let mut m = if seventh {
        let list = children
            .iter()
            .map(|k| {
                format!("{} ({})", k.code, k.description.strip_prefix(c.description.as_str()).map(|d| d.trim_start_matches(", ")).unwrap_or(&k.description))
            })
            .collect::<Vec<_>>()
            .join("; ");
        msg(
            Severity::Error,
            RuleKind::SeventhCharacter,
            vec![c.code.clone()],
            format!("{} needs a 7th character (episode of care or other detail): {list}", c.code),
        )
    } else {
        let list = children.iter().map(|k| format!("{} {}{}", k.code, k.description, if k.billable { "" } else { " (header)" })).collect::<Vec<_>>().join("; ");
        msg(
            Severity::Error,
            RuleKind::NotBillable,
            vec![c.code.clone()],
            format!("{} {} is a header, not billable; code one of: {list}", c.code, c.description),
        )
    };
    m.options = options;
    out.push(m);
}

/// Blocks whose codes apply to one sex only (first and last code, inclusive, by prefix).
pub const SEX_SPECIFIC: &[(&str, &str, Sex)] = &[
    ("C51", "C58", Sex::Female),
    ("C60", "C63", Sex::Male),
    ("D06", "D06", Sex::Female),
    ("D07.0", "D07.3", Sex::Female),
    ("D07.4", "D07.6", Sex::Male),
    ("D25", "D28", Sex::Female),
    ("D29", "D29", Sex::Male),
    ("D39", "D39", Sex::Female),
    ("D40", "D40", Sex::Male),
    ("E28", "E28", Sex::Female),
    ("E29", "E29", Sex::Male),
    ("N40", "N53", Sex::Male),
    ("N70", "N9A", Sex::Female),
    ("O00", "O9A", Sex::Female),
    ("Q50", "Q52", Sex::Female),
    ("Q53", "Q55", Sex::Male),
    ("R87", "R87", Sex::Female),
    ("Z12.4", "Z12.4", Sex::Female),
    ("Z12.5", "Z12.5", Sex::Male),
    ("Z32", "Z37", Sex::Female),
    ("Z39", "Z39", Sex::Female),
    ("Z3A", "Z3A", Sex::Female),
];

/// Maternity codes: the CMS edit's age range (years).
const MATERNITY_AGES: std::ops::RangeInclusive<u32> = 12..=55;

fn age_and_sex(c: &Code, patient: &Patient, out: &mut Vec<RuleMessage>) {
    if let Some(sex) = patient.sex {
        let rule = SEX_SPECIFIC.iter().find(|(first, last, _)| CodeRef::range(first, last).matches(&c.code));
        if let Some((first, last, only)) = rule.filter(|r| r.2 != sex) {
            let who = |s: Sex| if s == Sex::Female { "female" } else { "male" };
            let range = if first == last { first.to_string() } else { format!("{first}-{last}") };
            out.push(msg(
                Severity::Error,
                RuleKind::Sex,
                vec![c.code.clone()],
                format!("{} {} is for {} patients only ({range}); the patient is {}", c.code, c.description, who(*only), who(sex)),
            ));
        }
    }
    if let Some(age) = patient.age {
        if c.chapter == 15 && !MATERNITY_AGES.contains(&age) {
            out.push(msg(
                Severity::Warning,
                RuleKind::Age,
                vec![c.code.clone()],
                format!(
                    "{} is a maternity code (chapter 15, maternal records only); a patient aged {age} is outside the usual {}-{} years",
                    c.code,
                    MATERNITY_AGES.start(),
                    MATERNITY_AGES.end()
                ),
            ));
        }
        let newborn_only = c.code.starts_with("Z38");
        if (c.chapter == 16 || newborn_only) && age > 0 {
            let why = if newborn_only {
                "a liveborn-infant code, for the newborn's birth record only".to_string()
            } else {
                "a perinatal code (chapter 16, newborn records); it may be used later in life only for a condition that began in the perinatal period"
                    .to_string()
            };
            out.push(msg(
                if newborn_only { Severity::Error } else { Severity::Warning },
                RuleKind::Age,
                vec![c.code.clone()],
                format!("{} is {why}; the patient is {age} years old", c.code),
            ));
        }
    }
}

/// Whether a note cites `code`: "Alzheimer's (G30.-)" cites G30.9, "(E00-E03.-)" E01.8.
pub fn note_cites(note: &str, code: &str) -> bool {
    code_refs(note).iter().any(|r| r.matches(code))
}

/// Whether an Excludes1 note in force at `code` (its own, its ancestors' or its block's) names
/// `other`: K92.2 "Gastrointestinal hemorrhage, unspecified" excludes "peptic ulcer with
/// hemorrhage (K25-K28)", so a bleeding ulcer is coded K25.4, not K92.2.
pub fn excludes1(table: &CodeTable, code: &str, other: &str) -> bool {
    table.get(code).is_some_and(|x| !excluding_notes(table, x, other, RuleKind::Excludes1).is_empty())
}

/// The Excludes1 or Excludes2 notes in force at `x` that name `other` (and not `x` itself), each
/// as "<where>: \"<note>\"".
fn excluding_notes(table: &CodeTable, x: &Code, other: &str, kind: RuleKind) -> Vec<String> {
    let mut why = Vec::new();
    for (at, notes) in table.notes_in_force(x) {
        let list = if kind == RuleKind::Excludes1 { &notes.excludes1 } else { &notes.excludes2 };
        for note in list {
            let refs = code_refs(note);
            if refs.iter().any(|r| r.matches(other)) && !refs.iter().any(|r| r.matches(&x.code)) {
                why.push(format!("{at}: \"{note}\""));
            }
        }
    }
    why
}

/// Excludes1 and Excludes2 between every two codes of the list.
fn pairs(table: &CodeTable, found: &[(usize, &Code)], out: &mut Vec<RuleMessage>) {
    for (i, &(_, a)) in found.iter().enumerate() {
        for &(_, b) in &found[i + 1..] {
            for (kind, severity) in [(RuleKind::Excludes1, Severity::Error), (RuleKind::Excludes2, Severity::Info)] {
                let why: Vec<String> = [(a, b), (b, a)].into_iter().flat_map(|(x, y)| excluding_notes(table, x, &y.code, kind)).collect();
                if why.is_empty() {
                    continue;
                }
                let text = if kind == RuleKind::Excludes1 {
                    format!(
                        "{} and {} are never reported together (Excludes1, {}), unless the two conditions are unrelated (guideline I.A.12.a)",
                        a.code,
                        b.code,
                        why.join("; ")
                    )
                } else {
                    format!("{} and {}: Excludes2 ({}); both may be reported when the patient has both", a.code, b.code, why.join("; "))
                };
                out.push(msg(severity, kind, vec![a.code.clone(), b.code.clone()], text));
            }
        }
    }
}

/// "Code first", "Use additional code", "Code also": satisfied by a code they name in the list.
fn companions(table: &CodeTable, found: &[(usize, &Code)], out: &mut Vec<RuleMessage>) {
    for &(pos, c) in found {
        for kind in [RuleKind::CodeFirst, RuleKind::UseAdditional, RuleKind::CodeAlso] {
            let mut notes: Vec<(String, &str)> = Vec::new();
            for (at, n) in table.notes_in_force(c) {
                let list = match kind {
                    RuleKind::CodeFirst => &n.code_first,
                    RuleKind::UseAdditional => &n.use_additional,
                    _ => &n.code_also,
                };
                notes.extend(list.iter().map(|s| (at.clone(), s.as_str())));
            }
            if notes.is_empty() {
                continue;
            }
            let refs: Vec<CodeRef> = notes.iter().flat_map(|(_, n)| code_refs(n)).filter(|r| !r.matches(&c.code)).collect();
            let present: Vec<(usize, &Code)> = found.iter().copied().filter(|(_, o)| o.code != c.code && refs.iter().any(|r| r.matches(&o.code))).collect();
            let quoted = notes.iter().map(|(at, n)| format!("{at}: \"{n}\"")).collect::<Vec<_>>().join("; ");
            let label = match kind {
                RuleKind::CodeFirst => "code first",
                RuleKind::UseAdditional => "use additional code",
                _ => "code also",
            };
            if present.is_empty() {
                let severity = if kind == RuleKind::CodeFirst && !refs.is_empty() { Severity::Warning } else { Severity::Info };
                out.push(msg(severity, kind, vec![c.code.clone()], format!("{}: {label} ({quoted})", c.code)));
            } else if kind == RuleKind::CodeFirst && present.iter().all(|&(p, _)| p > pos) {
                let (_, first) = present[0];
                out.push(msg(
                    Severity::Warning,
                    RuleKind::Sequencing,
                    vec![first.code.clone(), c.code.clone()],
                    format!("{} goes before {} ({label}: {quoted})", first.code, c.code),
                ));
            }
        }
    }
}

/// Z codes that may only be first-listed (Official Guidelines I.C.21.c.16), by prefix, and
/// the exceptions the guidelines name.
const FIRST_LISTED_ONLY: &[&str] = &[
    "Z00", "Z01", "Z02", "Z04", "Z31.81", "Z31.83", "Z31.84", "Z33.2", "Z34", "Z38", "Z39", "Z40", "Z42", "Z51.0", "Z51.1", "Z52", "Z76.1", "Z76.2", "Z99.12",
];
const FIRST_LISTED_EXCEPT: &[&str] = &["Z00.6", "Z01.81"];

fn sequencing(table: &CodeTable, found: &[(usize, &Code)], out: &mut Vec<RuleMessage>) {
    for &(pos, c) in found {
        if pos == 0 {
            if table.is_manifestation(c) {
                out.push(msg(
                    Severity::Error,
                    RuleKind::Sequencing,
                    vec![c.code.clone()],
                    format!(
                        "{} is a manifestation code (\"... classified elsewhere\"): it is never first-listed (convention I.A.13); code the underlying disease first",
                        c.code
                    ),
                ));
            }
            if c.chapter == 20 {
                out.push(msg(
                    Severity::Error,
                    RuleKind::Sequencing,
                    vec![c.code.clone()],
                    format!(
                        "{} is an external-cause code (chapter 20): it is never first-listed (guideline I.C.20); list the injury or condition first",
                        c.code
                    ),
                ));
            }
        } else {
            let starts = |p: &&str| c.code.starts_with(*p);
            if FIRST_LISTED_ONLY.iter().any(starts) && !FIRST_LISTED_EXCEPT.iter().any(starts) {
                out.push(msg(
                    Severity::Warning,
                    RuleKind::Sequencing,
                    vec![c.code.clone()],
                    format!("{} {} may only be the first-listed diagnosis (guideline I.C.21.c.16)", c.code, c.description),
                ));
            }
        }
    }
}

/// A code or range named in a note: `E10.-` and `Z79.4` (that code and every code below it),
/// `F70-F79`, and `E08-E13 with .42` / `B27.0-B27.9 with fifth character 1` (only codes with
/// those characters at that place).
#[derive(Debug, Clone, PartialEq)]
struct CodeRef {
    /// Undotted bounds, compared on as many characters as each has.
    first: String,
    last: String,
    /// Characters required at a 0-based place of the undotted code.
    with: Option<(usize, String)>,
}

impl CodeRef {
    fn prefix(p: &str) -> Self {
        CodeRef { first: plain(p), last: plain(p), with: None }
    }

    fn range(a: &str, b: &str) -> Self {
        CodeRef { first: plain(a), last: plain(b), with: None }
    }

    fn matches(&self, code: &str) -> bool {
        let c = plain(code);
        let key = |n: usize| &c[..n.min(c.len())];
        let inside = key(self.first.len()) >= self.first.as_str() && key(self.last.len()) <= self.last.as_str();
        inside && self.with.as_ref().is_none_or(|(at, chars)| c.get(*at..).is_some_and(|rest| rest.starts_with(chars.as_str())))
    }
}

/// `with .42` -> place 3, "42"; `with fifth character 1` -> place 4, "1". `None`: a qualifier
/// this parser does not know, so the reference is dropped rather than over-matched.
fn qualifier(text: &str) -> Option<Option<(usize, String)>> {
    let text = text.trim();
    if text.is_empty() {
        return Some(None);
    }
    let rest = text.strip_prefix("with ")?;
    if let Some(digits) = rest.strip_prefix('.') {
        let d: String = digits.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        return (!d.is_empty()).then_some(Some((3, d)));
    }
    let places = [("fourth", 3), ("fifth", 4), ("sixth", 5)];
    let (_, at) = places.iter().find(|(w, _)| rest.starts_with(&format!("{w} character ")))?;
    let ch: String = rest.split_whitespace().nth(2)?.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    (!ch.is_empty()).then_some(Some((*at, ch)))
}

fn plain(code: &str) -> String {
    code.chars().filter(|c| *c != '.' && *c != '-').map(|c| c.to_ascii_uppercase()).collect()
}

/// The codes and ranges in a note's parentheses: `(E08.-)`, `(F70-F79)`, `(Z79.4, Z79.84)`,
/// `(E08-E13 with .42)`.
fn code_refs(note: &str) -> Vec<CodeRef> {
    let mut out = Vec::new();
    for group in note.split('(').skip(1).filter_map(|g| g.split(')').next()) {
        for item in group.split([',', ';']) {
            let (head, tail) = item.trim().split_once(' ').unwrap_or((item.trim(), ""));
            let (first, second) = head.split_once(['-', '–']).unwrap_or((head, ""));
            if !is_code_shape(first.trim_end_matches('.')) {
                continue;
            }
            let Some(with) = qualifier(tail) else { continue };
            let mut r = if is_code_shape(second) { CodeRef::range(first, second) } else { CodeRef::prefix(first) };
            r.with = with;
            out.push(r);
        }
    }
    out
}

/// `E11`, `E11.9`, `O9A`, `S06.0X1`: a letter, a digit, a digit or letter, then an optional dotted tail.
fn is_code_shape(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 3 || !b[0].is_ascii_uppercase() || !b[1].is_ascii_digit() || !(b[2].is_ascii_digit() || b[2].is_ascii_uppercase()) {
        return false;
    }
    match &b[3..] {
        [] => true,
        [b'.', tail @ ..] => tail.len() <= 4 && tail.iter().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_references_in_notes() {
        assert_eq!(code_refs("type 1 diabetes mellitus (E10.-)"), [CodeRef::prefix("E10")]);
        assert_eq!(code_refs("code (F70-F79) to identify"), [CodeRef::range("F70", "F79")]);
        assert_eq!(code_refs("insulin (Z79.4)"), [CodeRef::prefix("Z79.4")]);
        assert_eq!(code_refs("gestational (O24.4-) and other (E08.-, E13.-)"), [CodeRef::prefix("O24.4"), CodeRef::prefix("E08"), CodeRef::prefix("E13")]);
        assert!(code_refs("any associated infection").is_empty());
        assert!(code_refs("(such as vitamin deficiency)").is_empty());
        assert!(code_refs("(T36-T65 when other words follow)").is_empty(), "unknown qualifiers are dropped, not over-matched");
        assert!(CodeRef::range("O00", "O9A").matches("O99.89"));
        assert!(CodeRef::range("O00", "O9A").matches("O9A.11"));
        assert!(!CodeRef::range("F70", "F79").matches("F80.1"));
        assert!(CodeRef::range("F70", "F79").matches("F79"));
        assert!(CodeRef::range("Z68.1", "Z68.45").matches("Z68.41"));
        assert!(!CodeRef::range("Z68.1", "Z68.45").matches("Z68.51"));
        assert!(CodeRef::prefix("E11.3").matches("E11.319"));
        assert!(!CodeRef::prefix("E11.3").matches("E11.9"));
        let diabetic = &code_refs("diabetes mellitus (E08-E13 with .42)")[0];
        assert!(diabetic.matches("E11.42") && !diabetic.matches("E11.9"));
        let mono = &code_refs("(B27.0-B27.9 with fifth character 1)")[0];
        assert!(mono.matches("B27.01") && !mono.matches("B27.09"));
    }

    #[test]
    fn code_shapes() {
        for ok in ["E11", "E11.9", "O9A", "S06.0X1", "Z3A.12"] {
            assert!(is_code_shape(ok), "{ok}");
        }
        for bad in ["e11", "E1", "11.9", "EE1", "E11.12345", "E11-"] {
            assert!(!is_code_shape(bad), "{bad}");
        }
    }
}
