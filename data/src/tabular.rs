//! Parses the CMS ICD-10-CM tabular XML (`icd10cm-tabular-*.xml`) into a [`TableSource`].
//!
//! Streaming (quick-xml), one pass: chapters, sections (blocks), nested `<diag>`
//! codes with their inclusion terms, excludes notes and 7th-character definitions.
//! A 7th-character definition applies to the code that holds it and all codes below.

use icd_core::table::{Block, Chapter, Extension, Notes, SourceCode, TableSource};
use quick_xml::events::Event;
use quick_xml::Reader;

#[derive(Debug, thiserror::Error)]
pub enum TabularError {
    #[error("{path}: XML error at byte {pos}: {message}")]
    Xml { path: String, pos: u64, message: String },
    #[error("{path}: line {line}: {message}")]
    Structure { path: String, line: usize, message: String },
}

/// A `<diag>` being read; `seventh_own` is its own `<sevenChrDef>`, if any.
struct OpenDiag {
    index: usize,
    seventh_own: Option<u16>,
}

pub fn parse(xml: &str, path: &str, release: &str) -> Result<TableSource, TabularError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);

    let mut src =
        TableSource { release: release.to_string(), chapters: Vec::new(), blocks: Vec::new(), extension_sets: Vec::new(), codes: Vec::new(), hcc: Vec::new() };
    let mut stack: Vec<String> = Vec::new();
    let mut diags: Vec<OpenDiag> = Vec::new();
    // Resolved 7th-character set of each code (own or inherited).
    let mut seventh_of: Vec<Option<u16>> = Vec::new();
    let mut pending_ext: Vec<Extension> = Vec::new();
    let mut restrictions: Vec<Restriction> = Vec::new();
    let mut ext_char: Option<char> = None;

    let line_at = |pos: u64| xml.as_bytes()[..(pos as usize).min(xml.len())].iter().filter(|b| **b == b'\n').count() + 1;
    let structure = |pos: u64, message: String| TabularError::Structure { path: path.to_string(), line: line_at(pos), message };

    loop {
        let pos = reader.buffer_position();
        let ev = reader.read_event().map_err(|e| TabularError::Xml { path: path.to_string(), pos: reader.error_position(), message: e.to_string() })?;
        match ev {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                match name.as_str() {
                    "chapter" => src.chapters.push(Chapter { number: 0, title: String::new(), notes: Notes::default() }),
                    "section" => {
                        let id = e
                            .try_get_attribute("id")
                            .ok()
                            .flatten()
                            .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                            .ok_or_else(|| structure(pos, "<section> without id".into()))?;
                        let chapter = src.chapters.last().ok_or_else(|| structure(pos, "<section> outside a chapter".into()))?.number;
                        src.blocks.push(Block { id, title: String::new(), chapter, notes: Notes::default() });
                    }
                    "diag" => {
                        if src.blocks.is_empty() {
                            return Err(structure(pos, "<diag> outside a section".into()));
                        }
                        if let Some(parent) = diags.last() {
                            src.codes[parent.index].has_children = true;
                        }
                        let inherited = diags.last().and_then(|d| seventh_of[d.index]);
                        src.codes.push(SourceCode {
                            code: String::new(),
                            description: String::new(),
                            block: (src.blocks.len() - 1) as u16,
                            has_children: false,
                            seventh: None,
                            inclusion: Vec::new(),
                            notes: Notes::default(),
                        });
                        seventh_of.push(inherited);
                        diags.push(OpenDiag { index: src.codes.len() - 1, seventh_own: None });
                    }
                    "sevenChrDef" => pending_ext.clear(),
                    "extension" => {
                        ext_char = e.try_get_attribute("char").ok().flatten().and_then(|a| a.unescape_value().ok().and_then(|v| v.chars().next()));
                        if ext_char.is_none() {
                            return Err(structure(pos, "<extension> without a char attribute".into()));
                        }
                    }
                    _ => {}
                }
                stack.push(name);
            }
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                match name.as_str() {
                    "diag" => {
                        let d = diags.pop().expect("balanced diag");
                        let c = &src.codes[d.index];
                        if c.code.is_empty() || c.description.is_empty() {
                            return Err(structure(pos, format!("<diag> without name or desc (after code {:?})", c.code)));
                        }
                    }
                    "sevenChrDef" if stack.last().map(String::as_str) == Some("diag") => {
                        let set = src.extension_sets.len() as u16;
                        src.extension_sets.push(std::mem::take(&mut pending_ext));
                        let d = diags.last_mut().expect("sevenChrDef inside diag");
                        d.seventh_own = Some(set);
                        seventh_of[d.index] = Some(set);
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| structure(pos, e.to_string()))?;
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let parent = stack.iter().rev().nth(1).map(String::as_str);
                let here = stack.last().map(String::as_str);
                match (parent, here) {
                    (Some("chapter"), Some("name")) => {
                        let n = text.parse().map_err(|_| structure(pos, format!("chapter number {text:?} is not a number")))?;
                        src.chapters.last_mut().expect("in chapter").number = n;
                    }
                    (Some("chapter"), Some("desc")) => src.chapters.last_mut().expect("in chapter").title = text,
                    (Some("section"), Some("desc")) => src.blocks.last_mut().expect("in section").title = text,
                    (Some("diag"), Some("name")) => src.codes[diags.last().expect("in diag").index].code = text,
                    (Some("diag"), Some("desc")) => src.codes[diags.last().expect("in diag").index].description = text,
                    (Some("sevenChrDef"), Some("extension")) => pending_ext.push(Extension { char: ext_char.take().expect("extension char"), text }),
                    (Some("notes"), Some("note")) => restrictions.extend(Restriction::from_note(&text)),
                    (Some(note_kind), Some("note")) => match stack.iter().rev().nth(2).map(String::as_str) {
                        Some("diag") => {
                            let c = &mut src.codes[diags.last().expect("in diag").index];
                            if matches!(note_kind, "inclusionTerm" | "includes") {
                                c.inclusion.push(text);
                            } else if let Some(list) = c.notes.list_mut(note_kind) {
                                list.push(text);
                            }
                        }
                        // A block's or chapter's notes apply to every code in it.
                        Some("section") => src.blocks.last_mut().expect("in section").notes.list_mut(note_kind).into_iter().for_each(|l| l.push(text.clone())),
                        Some("chapter") => {
                            src.chapters.last_mut().expect("in chapter").notes.list_mut(note_kind).into_iter().for_each(|l| l.push(text.clone()))
                        }
                        _ => {}
                    },
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !diags.is_empty() {
        return Err(TabularError::Structure { path: path.into(), line: line_at(xml.len() as u64), message: "file ends inside a <diag>".into() });
    }
    for (c, s) in src.codes.iter_mut().zip(seventh_of) {
        c.seventh = s;
    }
    for r in &restrictions {
        r.apply(&mut src);
    }
    Ok(src)
}

/// A 7th-character exception written only as prose in a `<notes>` element, e.g. for S06:
/// "7th characters D and S do not apply to codes in category S06 with 6th character 7 - …, or 8 - …".
#[derive(Debug, PartialEq)]
struct Restriction {
    category: String,
    excluded: Vec<char>,
    sixth: Vec<char>,
}

impl Restriction {
    fn from_note(note: &str) -> Option<Self> {
        let rest = note.strip_prefix("7th characters ")?;
        let (chars, rest) = rest.split_once(" do not apply to codes in category ")?;
        let excluded: Vec<char> = chars.split(" and ").filter_map(|c| c.trim().chars().next()).collect();
        let (category, rest) = rest.split_once(' ')?;
        let sixth: Vec<char> =
            rest.split("6th character ").skip(1).chain(rest.split(", or ").skip(1)).filter_map(|s| s.chars().next().filter(char::is_ascii_digit)).collect();
        (!excluded.is_empty() && !sixth.is_empty()).then(|| Self { category: category.to_string(), excluded, sixth })
    }

    /// Gives the matching codes a copy of their extension set without the excluded characters.
    fn apply(&self, src: &mut TableSource) {
        let mut narrowed: std::collections::HashMap<u16, u16> = std::collections::HashMap::new();
        for c in src.codes.iter_mut() {
            let plain: String = c.code.chars().filter(|ch| *ch != '.').collect();
            let (Some(set), Some(sixth)) = (c.seventh, plain.chars().nth(5)) else { continue };
            if !plain.starts_with(&self.category) || !self.sixth.contains(&sixth) {
                continue;
            }
            let new = *narrowed.entry(set).or_insert_with(|| {
                let kept = src.extension_sets[set as usize].iter().filter(|e| !self.excluded.contains(&e.char)).cloned().collect();
                src.extension_sets.push(kept);
                (src.extension_sets.len() - 1) as u16
            });
            c.seventh = Some(new);
        }
    }
}

/// `icd10cm-tabular-April-1-2026.xml` -> `ICD-10-CM April 1, 2026`.
pub fn release_from_file_name(name: &str) -> String {
    let stem = name.trim_end_matches(".xml");
    let parts: Vec<&str> = stem.split('-').collect();
    match parts.as_slice() {
        [.., month, day, year] if year.len() == 4 && day.parse::<u8>().is_ok() => format!("ICD-10-CM {month} {day}, {year}"),
        _ => format!("ICD-10-CM ({stem})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use icd_core::CodeTable;

    const XML: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular><version>2026</version>
  <chapter><name>19</name><desc>Injury, poisoning (S00-T88)</desc>
    <useAdditionalCode><note>code to identify any retained foreign body, if applicable (Z18.-)</note></useAdditionalCode>
    <excludes1><note>birth trauma (P10-P15)</note></excludes1>
    <section id="S00-S09"><desc>Injuries to the head (S00-S09)</desc>
      <codeAlso><note>any associated infection</note></codeAlso>
      <diag><name>S00</name><desc>Superficial injury of head</desc>
        <excludes1><note>diffuse cerebral contusion (S06.2-)</note></excludes1>
        <codeFirst><note>any associated intracranial injury (S06.-)</note></codeFirst>
        <sevenChrDef><extension char="A">initial encounter</extension><extension char="D">subsequent encounter</extension></sevenChrDef>
        <diag><name>S00.0</name><desc>Superficial injury of scalp</desc>
          <diag><name>S00.00</name><desc>Unspecified superficial injury of scalp</desc>
            <inclusionTerm><note>Scalp injury &amp; bruise NOS</note></inclusionTerm></diag>
        </diag>
      </diag>
      <diag><name>S01</name><desc>Open wound of head</desc></diag>
    </section>
  </chapter>
</ICD10CM.tabular>"#;

    #[test]
    fn parses_hierarchy_notes_and_seventh_characters() {
        let src = parse(XML, "t.xml", "test").unwrap();
        let chapter_notes = Notes {
            excludes1: vec!["birth trauma (P10-P15)".into()],
            use_additional: vec!["code to identify any retained foreign body, if applicable (Z18.-)".into()],
            ..Notes::default()
        };
        assert_eq!(src.chapters, vec![Chapter { number: 19, title: "Injury, poisoning (S00-T88)".into(), notes: chapter_notes }]);
        assert_eq!(src.blocks[0].id, "S00-S09");
        assert_eq!(src.blocks[0].notes.code_also, ["any associated infection"]);
        let codes: Vec<_> = src.codes.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["S00", "S00.0", "S00.00", "S01"]);
        assert_eq!(src.codes[0].notes.excludes1, ["diffuse cerebral contusion (S06.2-)"]);
        assert_eq!(src.codes[0].notes.code_first, ["any associated intracranial injury (S06.-)"]);
        assert!(src.codes[3].notes.is_empty());
        assert_eq!(src.codes[2].inclusion, ["Scalp injury & bruise NOS"]);
        assert_eq!(src.codes[2].seventh, Some(0), "inherited from S00");
        assert_eq!(src.codes[3].seventh, None);
        let t = CodeTable::from_source(src).unwrap();
        let billable: Vec<_> = t.billable().map(|c| c.code.as_str()).collect();
        assert_eq!(billable, ["S00.00XA", "S00.00XD", "S01"]);
        // Notes in force: the code's own, its ancestors', its block's and its chapter's.
        let places: Vec<_> = t.notes_in_force(t.get("S00.00XA").unwrap()).into_iter().map(|(at, _)| at).collect();
        assert_eq!(places, ["S00", "S00-S09", "chapter 19"]);
    }

    #[test]
    fn broken_xml_names_file_and_place() {
        let err = parse(
            "<ICD10CM.tabular><chapter><name>1</name><desc>x</desc><section id=\"A\"><diag><name>A00</name></diag></section></chapter></ICD10CM.tabular>",
            "bad.xml",
            "t",
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("bad.xml: line 1: <diag> without name or desc"), "{err}");
        let err = parse("<a><b></a>", "bad2.xml", "t").unwrap_err();
        assert!(err.to_string().starts_with("bad2.xml: "), "{err}");
    }

    #[test]
    fn prose_seventh_character_exceptions_are_honoured() {
        let note = "7th characters D and S do not apply to codes in category S06 with 6th character 7 - death due to brain injury prior to regaining consciousness, or 8 - death due to other cause prior to regaining consciousness.";
        let r = Restriction::from_note(note).unwrap();
        assert_eq!(r, Restriction { category: "S06".into(), excluded: vec!['D', 'S'], sixth: vec!['7', '8'] });
        assert_eq!(Restriction::from_note("The appropriate 7th character is to be added"), None);
    }

    #[test]
    fn release_names() {
        assert_eq!(release_from_file_name("icd10c-tabular-April-1-2026.xml"), "ICD-10-CM April 1, 2026");
    }
}
