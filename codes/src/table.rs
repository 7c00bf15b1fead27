//! The ICD-10-CM code table.
//!
//! `data` parses the CMS tabular XML into a [`TableSource`] and writes it with
//! [`TableSource::to_bytes`]; everything else loads it with [`CodeTable::from_bytes`].
//! The stored form keeps each 7th-character definition once; the full list of
//! billable codes (about 74.7k) is expanded at load time.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::hcc::{HccFlag, HccModel};

/// Bumped whenever the stored layout changes; old files are refused, not misread.
pub const TABLE_FORMAT_VERSION: u32 = 2;
const MAGIC: &[u8; 8] = b"ICDTABLE";

#[derive(Debug, thiserror::Error)]
pub enum CodeTableError {
    #[error("not an ICD-10-CM code table (bad magic bytes); rebuild it with `icd-data build-table`")]
    BadMagic,
    #[error("code table format version {found}, this build reads version {expected}; rebuild it with `icd-data build-table`")]
    Version { found: u32, expected: u32 },
    #[error("code table is corrupt: {0}")]
    Corrupt(String),
}

/// The tabular's instructional notes on a code, a block or a chapter, one string per `<note>`
/// (e.g. `type 1 diabetes mellitus (E10.-)`). Notes of a block or chapter apply to every code in it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Notes {
    /// Never reported together with the codes named.
    pub excludes1: Vec<String>,
    /// Not part of this code; both may be reported.
    pub excludes2: Vec<String>,
    /// The underlying condition's code goes first.
    pub code_first: Vec<String>,
    /// Add a code that tells more (organism, drug, status).
    pub use_additional: Vec<String>,
    /// Another code may be needed as well; no order implied.
    pub code_also: Vec<String>,
}

impl Notes {
    pub fn is_empty(&self) -> bool {
        self.excludes1.is_empty() && self.excludes2.is_empty() && self.code_first.is_empty() && self.use_additional.is_empty() && self.code_also.is_empty()
    }

    /// The list a tabular element name (`excludes1`, `codeFirst`, ...) fills; `None` for others.
    pub fn list_mut(&mut self, element: &str) -> Option<&mut Vec<String>> {
        match element {
            "excludes1" => Some(&mut self.excludes1),
            "excludes2" => Some(&mut self.excludes2),
            "codeFirst" => Some(&mut self.code_first),
            "useAdditionalCode" => Some(&mut self.use_additional),
            "codeAlso" => Some(&mut self.code_also),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Chapter {
    pub number: u8,
    pub title: String,
    pub notes: Notes,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Block {
    /// e.g. `J40-J4A`
    pub id: String,
    pub title: String,
    pub chapter: u8,
    pub notes: Notes,
}

/// One 7th character and what it means (e.g. `A` = "initial encounter for closed fracture").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Extension {
    pub char: char,
    pub text: String,
}

/// A `<diag>` element of the tabular, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SourceCode {
    /// Dotted, e.g. `J45.909`.
    pub code: String,
    pub description: String,
    /// Index into [`TableSource::blocks`].
    pub block: u16,
    pub has_children: bool,
    /// Index into [`TableSource::extension_sets`] when a 7th character is required.
    pub seventh: Option<u16>,
    /// `includes` and `inclusionTerm` notes.
    pub inclusion: Vec<String>,
    pub notes: Notes,
}

/// The compact, serializable form of the whole tabular.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableSource {
    /// e.g. "ICD-10-CM April 1, 2026"
    pub release: String,
    pub chapters: Vec<Chapter>,
    pub blocks: Vec<Block>,
    pub extension_sets: Vec<Vec<Extension>>,
    /// In tabular (tree pre-order) order.
    pub codes: Vec<SourceCode>,
    /// CMS-HCC mappings, newest model first.
    pub hcc: Vec<HccModel>,
}

impl TableSource {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&TABLE_FORMAT_VERSION.to_le_bytes());
        out.extend(postcard::to_stdvec(self).expect("postcard serialization of owned data cannot fail"));
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CodeTableError> {
        if bytes.len() < 12 || &bytes[..8] != MAGIC {
            return Err(CodeTableError::BadMagic);
        }
        let found = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        if found != TABLE_FORMAT_VERSION {
            return Err(CodeTableError::Version { found, expected: TABLE_FORMAT_VERSION });
        }
        postcard::from_bytes(&bytes[12..]).map_err(|e| CodeTableError::Corrupt(e.to_string()))
    }
}

/// One code of the expanded table.
#[derive(Debug, Clone, PartialEq)]
pub struct Code {
    pub code: String,
    pub description: String,
    pub billable: bool,
    pub chapter: u8,
    /// Index into [`CodeTable::blocks`].
    pub block: u16,
    /// Index of the parent code; `None` for a 3-character category.
    pub parent: Option<u32>,
    pub inclusion: Vec<String>,
    /// The code's own notes; [`CodeTable::notes_in_force`] adds its ancestors', block's and chapter's.
    pub notes: Notes,
}

/// Every ICD-10-CM code, in tabular order, with lookups.
#[derive(Debug, Clone)]
pub struct CodeTable {
    pub release: String,
    pub chapters: Vec<Chapter>,
    pub blocks: Vec<Block>,
    codes: Vec<Code>,
    by_code: HashMap<String, u32>,
    /// `codes[i+1..subtree_end[i]]` are the descendants of `codes[i]` (pre-order).
    subtree_end: Vec<u32>,
    /// CMS-HCC mappings, newest model first.
    pub hcc: Vec<HccModel>,
}

impl CodeTable {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CodeTableError> {
        Self::from_source(TableSource::from_bytes(bytes)?)
    }

    /// Expands 7th characters and links parents.
    pub fn from_source(src: TableSource) -> Result<Self, CodeTableError> {
        let mut codes: Vec<Code> = Vec::with_capacity(src.codes.len() * 2);
        let mut by_code: HashMap<String, u32> = HashMap::with_capacity(src.codes.len() * 2);
        for sc in src.codes {
            let block =
                src.blocks.get(sc.block as usize).ok_or_else(|| CodeTableError::Corrupt(format!("{}: block index {} out of range", sc.code, sc.block)))?;
            let chapter = block.chapter;
            let parent = parent_code(&sc.code).and_then(|p| by_code.get(&p).copied());
            if sc.code.len() > 3 && parent.is_none() {
                return Err(CodeTableError::Corrupt(format!("{}: parent code not found before it", sc.code)));
            }
            let idx = codes.len() as u32;
            let billable = !sc.has_children && sc.seventh.is_none();
            by_code.insert(sc.code.clone(), idx);
            let base = sc.code.clone();
            let base_desc = sc.description.clone();
            codes.push(Code {
                code: sc.code,
                description: sc.description,
                billable,
                chapter,
                block: sc.block,
                parent,
                inclusion: sc.inclusion,
                notes: sc.notes,
            });
            // A 7th character applies to leaves only: inner codes pass it down.
            if let (Some(set), false) = (sc.seventh, sc.has_children) {
                let exts = src.extension_sets.get(set as usize).ok_or_else(|| CodeTableError::Corrupt(format!("{base}: extension set {set} out of range")))?;
                for ext in exts {
                    let code = with_seventh(&base, ext.char);
                    by_code.insert(code.clone(), codes.len() as u32);
                    codes.push(Code {
                        code,
                        description: format!("{base_desc}, {}", ext.text),
                        billable: true,
                        chapter,
                        block: sc.block,
                        parent: Some(idx),
                        inclusion: Vec::new(),
                        notes: Notes::default(),
                    });
                }
            }
        }
        let subtree_end = subtree_ends(&codes);
        Ok(Self { release: src.release, chapters: src.chapters, blocks: src.blocks, codes, by_code, subtree_end, hcc: src.hcc })
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    pub fn codes(&self) -> &[Code] {
        &self.codes
    }

    pub fn billable(&self) -> impl Iterator<Item = &Code> {
        self.codes.iter().filter(|c| c.billable)
    }

    /// Looks a code up, accepting `j45909`, `J45.909` or ` J45.909 `.
    pub fn get(&self, code: &str) -> Option<&Code> {
        self.index_of(code).map(|i| &self.codes[i])
    }

    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.by_code.get(&normalize_code(code)).map(|&i| i as usize)
    }

    pub fn parent(&self, code: &Code) -> Option<&Code> {
        code.parent.map(|p| &self.codes[p as usize])
    }

    /// The code's ancestors, nearest first (subcategories, then the category).
    pub fn ancestors<'a>(&'a self, code: &'a Code) -> impl Iterator<Item = &'a Code> + 'a {
        std::iter::successors(self.parent(code), move |c| self.parent(c))
    }

    pub fn children(&self, idx: usize) -> impl Iterator<Item = usize> + '_ {
        let end = self.subtree_end[idx] as usize;
        (idx + 1..end).filter(move |&j| self.codes[j].parent == Some(idx as u32))
    }

    /// Pre-order range of `idx`'s descendants.
    pub fn descendants(&self, idx: usize) -> std::ops::Range<usize> {
        idx + 1..self.subtree_end[idx] as usize
    }

    pub fn chapter(&self, code: &Code) -> Option<&Chapter> {
        self.chapters.iter().find(|c| c.number == code.chapter)
    }

    pub fn block(&self, code: &Code) -> &Block {
        &self.blocks[code.block as usize]
    }

    /// A manifestation code (convention I.A.13): its title, an ancestor's or its block's says
    /// "in (other) diseases / conditions classified elsewhere" or "due to ... classified
    /// elsewhere" (F02.80 "Dementia in other diseases classified elsewhere", D63.1 under D63
    /// "Anemia in chronic diseases classified elsewhere", J91.0 under J91). Its underlying
    /// disease is coded first. The infectious agents "as the cause of diseases classified
    /// elsewhere" (B95-B97) and Y90-Y99 are supplementary codes, not manifestations.
    pub fn is_manifestation(&self, code: &Code) -> bool {
        let says = |title: &str| title.contains("classified elsewhere") && !title.contains("as the cause of") && !title.contains("causes of morbidity");
        std::iter::once(code).chain(self.ancestors(code)).any(|c| says(&c.description)) || says(&self.block(code).title)
    }

    /// The code's HCC in each model the table carries (newest model first).
    pub fn hcc(&self, code: &Code) -> Vec<HccFlag> {
        self.hcc.iter().flat_map(|m| m.flags(&code.code)).collect()
    }

    /// Every note that applies to `code`: its own, its ancestors' (nearest first), its
    /// block's and its chapter's, each with the place it is written (`E11`, `E08-E13`, `chapter 4`).
    pub fn notes_in_force<'a>(&'a self, code: &'a Code) -> Vec<(String, &'a Notes)> {
        let mut out: Vec<(String, &Notes)> = std::iter::once(code).chain(self.ancestors(code)).map(|c| (c.code.clone(), &c.notes)).collect();
        let block = self.block(code);
        out.push((block.id.clone(), &block.notes));
        if let Some(ch) = self.chapter(code) {
            out.push((format!("chapter {}", ch.number), &ch.notes));
        }
        out.retain(|(_, n)| !n.is_empty());
        out
    }
}

/// Upper-cases, trims and inserts the dot after the category: `j45909` -> `J45.909`.
pub fn normalize_code(code: &str) -> String {
    let s: String = code.trim().chars().filter(|c| *c != '.').map(|c| c.to_ascii_uppercase()).collect();
    if s.len() > 3 && s.is_ascii() {
        format!("{}.{}", &s[..3], &s[3..])
    } else {
        s
    }
}

/// `S00.01` + `A` -> `S00.01XA`: placeholder `X` pads to six characters.
pub fn with_seventh(base: &str, ch: char) -> String {
    let mut plain: String = base.chars().filter(|c| *c != '.').collect();
    while plain.len() < 6 {
        plain.push('X');
    }
    plain.push(ch);
    normalize_code(&plain)
}

/// The code one level up, by the shape of the code (`J45.909` -> `J45.90`).
fn parent_code(code: &str) -> Option<String> {
    let plain: String = code.chars().filter(|c| *c != '.').collect();
    if plain.len() <= 3 {
        return None;
    }
    let mut p = plain[..plain.len() - 1].to_string();
    while p.len() > 3 && p.ends_with('X') {
        p.pop();
    }
    Some(normalize_code(&p))
}

fn subtree_ends(codes: &[Code]) -> Vec<u32> {
    let n = codes.len();
    let mut end = vec![n as u32; n];
    // Stack of open ancestors; a code closes every open code that is not its ancestor.
    let mut stack: Vec<usize> = Vec::new();
    for (i, c) in codes.iter().enumerate() {
        while let Some(&top) = stack.last() {
            if c.parent == Some(top as u32) || is_ancestor(codes, top, c) {
                break;
            }
            end[top] = i as u32;
            stack.pop();
        }
        stack.push(i);
    }
    end
}

fn is_ancestor(codes: &[Code], anc: usize, c: &Code) -> bool {
    let mut p = c.parent;
    while let Some(i) = p {
        if i as usize == anc {
            return true;
        }
        p = codes[i as usize].parent;
    }
    false
}

/// Small hand-made tables for other modules' unit tests.
#[cfg(test)]
pub(crate) mod test_tables {
    use super::*;

    /// A one-block chapter-10 table from `(code, title, has children, inclusion terms)` rows.
    pub fn respiratory(rows: &[(&str, &str, bool, &[&str])]) -> CodeTable {
        let codes = rows
            .iter()
            .map(|(code, desc, has_children, inclusion)| SourceCode {
                code: code.to_string(),
                description: desc.to_string(),
                block: 0,
                has_children: *has_children,
                seventh: None,
                inclusion: inclusion.iter().map(|s| s.to_string()).collect(),
                notes: Notes::default(),
            })
            .collect();
        CodeTable::from_source(TableSource {
            release: "ICD-10-CM test".into(),
            chapters: vec![Chapter { number: 10, title: "Respiratory".into(), notes: Notes::default() }],
            blocks: vec![Block { id: "J00-J99".into(), title: "Respiratory".into(), chapter: 10, notes: Notes::default() }],
            extension_sets: vec![],
            codes,
            hcc: vec![],
        })
        .expect("test table is well formed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> TableSource {
        let sc = |code: &str, desc: &str, has_children: bool, seventh: Option<u16>| SourceCode {
            code: code.into(),
            description: desc.into(),
            block: 0,
            has_children,
            seventh,
            inclusion: vec![],
            notes: Notes::default(),
        };
        TableSource {
            release: "test".into(),
            chapters: vec![Chapter { number: 19, title: "Injury".into(), notes: Notes::default() }],
            blocks: vec![Block { id: "S00-S09".into(), title: "Injuries to the head".into(), chapter: 19, notes: Notes::default() }],
            extension_sets: vec![vec![Extension { char: 'A', text: "initial encounter".into() }, Extension { char: 'D', text: "subsequent encounter".into() }]],
            codes: vec![
                sc("S00", "Superficial injury of head", true, Some(0)),
                sc("S00.0", "Superficial injury of scalp", true, Some(0)),
                sc("S00.01", "Abrasion of scalp", false, Some(0)),
                sc("S01", "Open wound of head", false, None),
            ],
            hcc: vec![],
        }
    }

    #[test]
    fn seventh_characters_expand_with_placeholder() {
        let t = CodeTable::from_source(tiny()).unwrap();
        let c = t.get("s0001xa").unwrap();
        assert_eq!(c.code, "S00.01XA");
        assert_eq!(c.description, "Abrasion of scalp, initial encounter");
        assert!(c.billable);
        assert!(!t.get("S00.01").unwrap().billable, "a code that needs a 7th character is not billable");
        assert_eq!(t.parent(c).unwrap().code, "S00.01");
        let anc: Vec<_> = t.ancestors(c).map(|a| a.code.as_str()).collect();
        assert_eq!(anc, ["S00.01", "S00.0", "S00"]);
        assert_eq!(t.billable().count(), 3, "S00.01XA, S00.01XD and S01");
    }

    #[test]
    fn subtrees_are_contiguous() {
        let t = CodeTable::from_source(tiny()).unwrap();
        let s00 = t.index_of("S00").unwrap();
        let codes: Vec<_> = t.descendants(s00).map(|i| t.codes()[i].code.as_str()).collect();
        assert_eq!(codes, ["S00.0", "S00.01", "S00.01XA", "S00.01XD"]);
        let kids: Vec<_> = t.children(s00).collect();
        assert_eq!(kids.len(), 1);
        assert!(t.descendants(t.index_of("S01").unwrap()).is_empty());
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_are_refused() {
        let src = tiny();
        let bytes = src.to_bytes();
        assert_eq!(TableSource::from_bytes(&bytes).unwrap(), src);
        assert!(matches!(TableSource::from_bytes(b"nonsense bytes"), Err(CodeTableError::BadMagic)));
        let mut old = bytes.clone();
        old[8] = 99;
        assert!(matches!(TableSource::from_bytes(&old), Err(CodeTableError::Version { found: 99, .. })));
        let truncated = &bytes[..bytes.len() / 2];
        assert!(matches!(TableSource::from_bytes(truncated), Err(CodeTableError::Corrupt(_))));
    }

    #[test]
    fn normalizes_code_spelling() {
        assert_eq!(normalize_code(" j45909 "), "J45.909");
        assert_eq!(normalize_code("I10"), "I10");
        assert_eq!(with_seventh("T14.8", 'A'), "T14.8XXA");
        assert_eq!(with_seventh("S72.001", 'A'), "S72.001A");
        assert_eq!(parent_code("S00.01XA").as_deref(), Some("S00.01"));
    }
}
