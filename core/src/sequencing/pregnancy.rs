//! A pregnant patient's codes (guideline I.C.15): her conditions as chapter 15 codes them,
//! the trimester her weeks of gestation say, and what a complicated pregnancy is not.

use super::{documented, list_at, place, replace_in_place, Ranked};
use crate::assertion::{self, Assertion};
use crate::candidates::Statement;
use crate::schema::prediction::CodedLabel;
use crate::CodeTable;
use std::sync::OnceLock;

/// A pregnant patient's conditions as chapter 15 codes them, by code prefix
/// (`core/data/in-pregnancy.tsv`, from the tabular list's categories and their notes).
const SHIPPED_IN_PREGNANCY: &str = include_str!("../../data/in-pregnancy.tsv");

/// One row of the in-pregnancy table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPregnancy {
    /// A code prefix outside chapter 15.
    pub prefix: String,
    /// The chapter 15 code whose children name the trimester; `None` leaves the condition as
    /// it is (a pulmonary embolism is O88, which this table does not give).
    pub stem: Option<String>,
    /// The condition's own code follows the O code ("use additional code to identify the
    /// condition"); otherwise the O code says the condition and replaces it.
    pub also: bool,
}

fn in_pregnancy() -> &'static [InPregnancy] {
    static TABLE: OnceLock<Vec<InPregnancy>> = OnceLock::new();
    TABLE.get_or_init(|| parse_in_pregnancy(SHIPPED_IN_PREGNANCY).expect("the shipped in-pregnancy table is well formed (tested)"))
}

/// Parses the in-pregnancy table (`PREFIX<TAB>O-STEM<TAB>HOW`), longest prefixes first; an
/// error names the line.
pub fn parse_in_pregnancy(tsv: &str) -> Result<Vec<InPregnancy>, String> {
    const EXPECTED: &str = "PREFIX<TAB>O-STEM<TAB>HOW";
    let mut out = Vec::new();
    for row in crate::knowledge::rows("in-pregnancy.tsv", tsv, EXPECTED) {
        let (n, prefix, rest) = row?;
        let bad = |what: &str| format!("in-pregnancy.tsv line {n}: {what}");
        let (stem, how) = rest.split_once('\t').ok_or_else(|| bad(&format!("expected {EXPECTED}")))?;
        let (prefix, stem, how) = (prefix.trim(), stem.trim(), how.trim());
        if !prefix.starts_with(|c: char| c.is_ascii_uppercase()) || prefix.starts_with('O') {
            return Err(bad("the prefix must be a code prefix outside chapter 15"));
        }
        let stem = match (stem, how) {
            ("-", "-") => None,
            (o, "in" | "also") if o.starts_with('O') && o.len() >= 3 => Some(o.to_string()),
            _ => return Err(bad("expected an O code and \"in\" or \"also\", or \"-\" twice")),
        };
        out.push(InPregnancy { prefix: prefix.to_string(), stem, also: how == "also" });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
    Ok(out)
}

/// Words that say the patient is pregnant now. "Pregnant" alone may tell a past pregnancy
/// ("when she was pregnant with her son"), so it counts only in these phrases.
const PREGNANT_NOW: &[&str] = &[
    "is pregnant",
    "currently pregnant",
    "now pregnant",
    "weeks pregnant",
    "pregnant at ",
    "pregnant female",
    "pregnant woman",
    "pregnant patient",
    "in pregnancy",
    "of pregnancy",
    "intrauterine pregnancy",
    "antepartum",
    "prenatal care",
    "prenatal visit",
    "weeks gestation",
    "weeks' gestation",
    "weeks of gestation",
    "wks gestation",
];
/// Words right before "of pregnancy" or "in pregnancy" that say none is under way.
const NO_PREGNANCY_BEFORE: &[&str] =
    &["possibility", "chance", "termination", "risk", "prevention", "history", "loss", "evidence", "signs", "test", "tests", "avoid"];
/// Words shortly before a gestation that make it a birth's ("born at 32 weeks gestation").
const BIRTH_BEFORE: &[&str] = &["born", "birth", "deliver", "ex-", "former"];

/// Whether the note says the patient is pregnant now: a phrase of [`PREGNANT_NOW`], neither
/// denied, a relative's nor past. "In pregnancy" and "of pregnancy" count only in a diagnostic
/// statement: a plan's "contraindicated in pregnancy" tells of no pregnancy.
fn pregnant_now(note: &assertion::Note, lower: &str, statements: &[Statement]) -> bool {
    PREGNANT_NOW.iter().any(|cue| {
        lower.match_indices(cue).any(|(at, _)| {
            let before = lower[..at].trim_end();
            let word_before = before.rsplit(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
            let window = &before[before.len().saturating_sub(40)..];
            let says = if cue.ends_with("pregnancy") && !cue.starts_with("intra") {
                !NO_PREGNANCY_BEFORE.contains(&word_before) && statements.iter().any(|s| s.span.0 <= at && at < s.span.1)
            } else if cue.contains("gestation") {
                !BIRTH_BEFORE.iter().any(|w| window.contains(w))
            } else {
                true
            };
            says && matches!(note.mention(at..at + cue.len()), Assertion::Present | Assertion::Uncertain)
        })
    })
}

/// A delivery, the puerperium or a newborn: their conditions take other codes than a
/// pregnancy's (the "complicating childbirth" and "puerperium" ones, chapter 16).
fn not_antepartum(table: &CodeTable, m: &CodedLabel) -> bool {
    // O60-O77 labour and delivery, O80-O82 delivery, O85-O92 the puerperium.
    let obstetric = m.code.strip_prefix('O').and_then(|c| c.get(..2)).and_then(|c| c.parse::<u8>().ok());
    newborn(table, m) || ["Z37", "Z39"].iter().any(|p| m.code.starts_with(p)) || obstetric.is_some_and(|c| (60..=92).contains(&c))
}

/// A newborn's code (chapter 16, or the birth episode's Z38).
fn newborn(table: &CodeTable, m: &CodedLabel) -> bool {
    table.get(&m.code).map_or(m.chapter, |c| c.chapter) == 16 || m.code.starts_with("Z38")
}

/// A condition of a pregnant patient complicates the pregnancy unless the provider says
/// otherwise (guideline I.C.15.a.1), and chapter 15 codes it first: pyelonephritis is O23.0-,
/// essential hypertension O10.01-, hypothyroidism O99.28- followed by E03.9. Each documented
/// code the table names becomes its O code of unspecified trimester, in its place (the
/// trimester comes after, in [`pregnancy_codes`]); an "also" row keeps the condition's code
/// right after it. Not when the provider calls the pregnancy incidental (Z33.1), nor for a
/// delivery, the puerperium or a newborn.
pub(super) fn conditions_in_pregnancy(table: &CodeTable, note: &assertion::Note, lower: &str, statements: &[Statement], ranked: &mut Ranked) {
    // A delivery or a newborn among the first codes (a low table match of a newborn's code
    // tells nothing).
    let fifth = fifth_key(ranked);
    let other_episode = ranked.iter().any(|(k, m)| (*k >= fifth && documented(m) && not_antepartum(table, m)) || m.code == "Z33.1");
    if other_episode || incidental_pregnancy(lower) || !pregnant_now(note, lower, statements) {
        return;
    }
    let conditions: Vec<(f32, CodedLabel)> =
        ranked.iter().filter(|(_, m)| documented(m) && table.get(&m.code).is_some_and(|c| c.chapter != 15)).cloned().collect();
    for (key, m) in conditions {
        let Some(row) = in_pregnancy().iter().find(|r| m.code.starts_with(r.prefix.as_str())) else { continue };
        let Some(o) = row.stem.as_deref().and_then(|stem| unspecified_trimester(table, stem)) else { continue };
        // The pregnancy's own code of that kind said already (gestational hypertension or
        // diabetes is no pre-existing one; a kidney infection already O23).
        if ranked.iter().any(|(_, x)| documented(x) && x.code != o.code && same_kind(&x.code, &o.code)) {
            continue;
        }
        if row.also {
            // Just above the condition, which follows it.
            let label =
                CodedLabel { evidence: m.evidence.clone(), source: m.source, ..CodedLabel::new(o.code.clone(), o.description.clone(), o.chapter, m.score) };
            place(ranked, key + 1e-5, label);
        } else {
            replace_in_place(table, ranked, |x| x.code == m.code, &o.code);
        }
    }
}

/// The rank key of the fifth code: the codes a coder reads first have one at least as high.
fn fifth_key(ranked: &Ranked) -> f32 {
    let mut keys: Vec<f32> = ranked.iter().map(|(k, _)| *k).collect();
    keys.sort_by(|a, b| b.total_cmp(a));
    keys.get(4).copied().unwrap_or(f32::NEG_INFINITY)
}

/// Two chapter 15 codes of one kind: both hypertension (O10-O16), diabetes (O24) or a
/// genitourinary infection (O23).
fn same_kind(a: &str, b: &str) -> bool {
    fn kind(c: &str) -> Option<&'static str> {
        match c.get(..3)? {
            h if ("O10"..="O16").contains(&h) => Some("O10"),
            "O23" => Some("O23"),
            "O24" => Some("O24"),
            _ => None,
        }
    }
    kind(a).is_some() && kind(a) == kind(b)
}

/// The code of `stem`'s subtree for a pregnancy of unspecified trimester ("Infections of
/// kidney in pregnancy, unspecified trimester"), or `stem` itself when it is billable.
fn unspecified_trimester<'t>(table: &'t CodeTable, stem: &str) -> Option<&'t crate::Code> {
    let idx = table.index_of(stem)?;
    let codes = table.codes();
    table.descendants(idx).map(|j| &codes[j]).find(|c| c.description.ends_with("unspecified trimester")).or_else(|| Some(&codes[idx]).filter(|c| c.billable))
}

/// A pregnancy's codes (guideline I.C.15):
/// - the trimester is the weeks of gestation the note gives (I.C.15.a.3: first under 14 weeks
///   0 days, second to under 28 weeks 0 days, third from 28 weeks): a code of another or of
///   an "unspecified trimester" becomes its sibling of that trimester, in its place;
/// - with a documented complication, Z34 ("supervision of normal pregnancy", I.C.15.b.1) and
///   O80 ("full-term uncomplicated delivery", I.C.15.b.4) go, as do I10-I16 beside a
///   gestational hypertension or pre-eclampsia (O13, O14, O16: the pregnancy's own code);
/// - Z3A (weeks of gestation) comes after the pregnancy's codes ("code first" O09-O9A).
pub(super) fn pregnancy_codes(table: &CodeTable, text: &str, lower: &str, ranked: &mut Ranked) {
    // The table's chapter: a model's label may not carry one.
    let ch15 = |m: &CodedLabel| m.chapter == 15 || table.get(&m.code).is_some_and(|c| c.chapter == 15);
    if !ranked.iter().any(|(_, m)| ch15(m)) {
        return;
    }
    // Read before the trimester's siblings replace codes: a sibling the model also listed
    // keeps the model's score, not the documented code's.
    let complicated = ranked.iter().any(|(_, m)| documented(m) && ch15(m) && m.code != "O80" && !m.code.starts_with("O09"));
    let gestational = ranked.iter().any(|(_, m)| documented(m) && ["O13", "O14", "O16"].iter().any(|c| m.code.starts_with(c)));
    let gestation = gestation(lower);
    if let Some(trimester) = gestation.map(|(w, _)| match w {
        0..=13 => "first trimester",
        14..=27 => "second trimester",
        _ => "third trimester",
    }) {
        let codes: Vec<String> = ranked.iter().filter(|(_, m)| ch15(m)).map(|(_, m)| m.code.clone()).collect();
        for code in codes {
            let Some(title) = table.get(&code).map(|c| c.description.clone()) else { continue };
            let Some(other) = ["unspecified trimester", "first trimester", "second trimester", "third trimester"].into_iter().find(|t| title.ends_with(t))
            else {
                continue;
            };
            if other == trimester {
                continue;
            }
            let want = format!("{}{trimester}", &title[..title.len() - other.len()]);
            // Siblings differ in the last character (O13.9 / O13.3, O26.899 / O26.893).
            let stem = &code[..code.len() - 1];
            let sibling = (0..=9).map(|d| format!("{stem}{d}")).find(|c| table.get(c).is_some_and(|e| e.description == want));
            if let Some(sibling) = sibling {
                replace_in_place(table, ranked, |m| m.code == code, &sibling);
            }
        }
    }
    // An incidental pregnancy (Z33.1) is none with a complication: its Excludes1 names O00-O9A.
    if complicated {
        ranked.retain(|(_, m)| {
            let hypertension = m.code.get(..3).is_some_and(|c| ("I10".."I17").contains(&c));
            m.code != "O80" && m.code != "Z33.1" && !m.code.starts_with("Z34") && !(gestational && hypertension)
        });
    }
    // The weeks of gestation the note gives, on the mother's record (Z3A), last: when one of
    // the first codes is the pregnancy's and none a newborn's.
    let fifth = fifth_key(ranked);
    let first = |f: &dyn Fn(&CodedLabel) -> bool| ranked.iter().any(|(k, m)| *k >= fifth && documented(m) && f(m));
    let mothers = first(&|m| ch15(m)) && !first(&|m| newborn(table, m)) && !ranked.iter().any(|(_, m)| m.code.starts_with("Z3A"));
    if let Some((weeks, (start, end))) = gestation.filter(|_| mothers) {
        let code = match weeks {
            0..=7 => "Z3A.01".to_string(),
            8..=42 => format!("Z3A.{weeks:02}"),
            _ => "Z3A.49".to_string(),
        };
        let last = ranked.iter().map(|(k, _)| *k).fold(f32::INFINITY, f32::min);
        list_at(table, &code, text, (start, end), last - 1e-3, ranked);
    }
    // Z3A (weeks of gestation) says "code first" the pregnancy's own codes: never above them.
    let first = ranked.iter().filter(|(_, m)| ch15(m)).map(|(k, _)| *k).fold(f32::NEG_INFINITY, f32::max);
    for (k, m) in ranked.iter_mut() {
        if m.code.starts_with("Z3A") && *k >= first {
            *k = first * 0.99;
        }
    }
}

/// The weeks of gestation the note first gives: "39 weeks", "39 weeks 1 day", "39w1d",
/// "39 wks", "39+1 weeks", "39 4/7 weeks"; ages ("weeks old") and durations ("for 2 weeks",
/// "in 6 weeks") are not gestations, and a count outside 4..=44 is not one either.
/// With the byte range that says them ("22 weeks", "32w4d").
fn gestation(lower: &str) -> Option<(u32, (usize, usize))> {
    let bytes = lower.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Not inside a number, a fraction or a range's end ("4-6 weeks" of a brace).
        let range_end = i > 1 && bytes[i - 1] == b'-' && bytes[i - 2].is_ascii_digit();
        if !bytes[i].is_ascii_digit() || range_end || (i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'/' || bytes[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let Ok(n) = lower[start..i].parse::<u32>() else { continue };
        // Skip a "+1", " 4/7" or "w1d" style remainder after the number of weeks.
        let rest = &lower[i..];
        let rest = rest.strip_prefix('+').map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit())).unwrap_or(rest);
        let rest = rest.trim_start();
        let rest = match rest.split_once(' ') {
            Some((frac, r)) if frac.contains('/') && frac.chars().all(|c| c.is_ascii_digit() || c == '/') => r,
            _ => rest,
        };
        let compact = rest.starts_with('w')
            && rest[1..].starts_with(|c: char| c.is_ascii_digit())
            && rest[1..].trim_start_matches(|c: char| c.is_ascii_digit()).starts_with('d');
        let unit = ["weeks", "week", "wks", "wk"].into_iter().find(|u| rest.starts_with(u) && !rest[u.len()..].starts_with(|c: char| c.is_ascii_alphabetic()));
        if !(compact || unit.is_some()) || !(4..=44).contains(&n) {
            continue;
        }
        let after = unit.map_or("", |u| rest[u.len()..].trim_start());
        let before = lower[..start].trim_end();
        let duration = ["for", "in", "past", "last", "over", "x", "every", "within", "after", "than"].iter().any(|w| before.ends_with(&format!(" {w}")));
        let age = after.starts_with("old") || after.starts_with("-old") || rest.starts_with("weeks-old") || after.starts_with("ago");
        if !duration && !age {
            let said = unit.map_or_else(|| 1 + rest[1..].find('d').unwrap_or(0) + 1, str::len);
            return Some((n, (start, lower.len() - rest.len() + said)));
        }
    }
    None
}

/// The provider calls the pregnancy incidental to the encounter (Z33.1, "Pregnant state,
/// incidental"): "incidental" in the same line as "pregnan", within a few words of it.
fn incidental_pregnancy(lower: &str) -> bool {
    lower.lines().any(|line| {
        line.match_indices("incidental").any(|(at, _)| {
            let near = |i: usize| (0..=i).rev().find(|&j| line.is_char_boundary(j)).unwrap_or(0);
            let (a, b) = (near(at.saturating_sub(40)), near((at + 50).min(line.len())));
            line[a..b].contains("pregnan")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_in_pregnancy_table_parses_and_names_o_stems() {
        let rows = parse_in_pregnancy(SHIPPED_IN_PREGNANCY).unwrap();
        assert!(rows.len() >= 20, "{} rows", rows.len());
        assert!(rows.windows(2).all(|w| w[0].prefix.len() >= w[1].prefix.len()), "longest prefix first");
        let row = |code: &str| rows.iter().find(|r| code.starts_with(r.prefix.as_str())).unwrap();
        assert_eq!((row("N10").stem.as_deref(), row("N10").also), (Some("O23.0"), false));
        assert_eq!((row("E03.9").stem.as_deref(), row("E03.9").also), (Some("O99.28"), true));
        assert_eq!(row("E66.01").stem.as_deref(), Some("O99.21"), "E66 before E6");
        assert_eq!(row("I26.99").stem, None, "a pulmonary embolism is left alone, not O99.41");
        assert_eq!((row("E08.65").stem.as_deref(), row("E08.65").also), (Some("O24.81"), true), "O24.8 names E08");
        assert_eq!(row("E09.9").stem.as_deref(), Some("O24.81"), "O24.8 names E09");
        assert!(parse_in_pregnancy("N10\tO23.0").unwrap_err().contains("line 1"));
        assert!(parse_in_pregnancy("# c\nN10\tO23.0\tmaybe").unwrap_err().contains("line 2"));
        assert!(parse_in_pregnancy("O10\tO10.01\tin").unwrap_err().contains("outside chapter 15"));
    }

    #[test]
    fn only_an_incidental_pregnancy_is_incidental() {
        assert!(incidental_pregnancy("assessment: ankle sprain. pregnancy incidental to this visit."));
        assert!(incidental_pregnancy("incidental pregnancy, 10 weeks."));
        assert!(!incidental_pregnancy("pregnant at 20 weeks.\nct: incidental to the fall, a small renal cyst."));
        assert!(!incidental_pregnancy("an incidental thyroid nodule, to follow up in six months.\nshe is pregnant at 20 weeks."));
    }

    #[test]
    fn pregnant_now_is_said_not_past_denied_or_a_birth() {
        let said = |text: &str| pregnant_now(&assertion::Note::new(text), &text.to_ascii_lowercase(), &crate::candidates::statements(text));
        assert!(said("Acute pyelonephritis in pregnancy at 22 weeks."));
        assert!(said("She is pregnant, G2 P1, with dysuria."));
        assert!(said("Intrauterine pregnancy at 8 weeks 2 days."));
        assert!(!said("She is not pregnant. Urine pregnancy test negative."));
        assert!(!said("No possibility of pregnancy; she had a hysterectomy."));
        assert!(!said("Born at 32 weeks gestation, now 4 years old."));
        assert!(!said("FAMILY HISTORY: Sister had hypertension in pregnancy."));
        assert!(!said("She had one urinary infection when she was pregnant with her son."));
        assert!(!said("ASSESSMENT: Epilepsy.\nPLAN: Levetiracetam is a preferred agent in pregnancy."));
    }

    #[test]
    fn gestational_weeks_are_read_but_ages_and_durations_are_not() {
        let gestational_weeks = |text: &str| gestation(text).map(|(weeks, _)| weeks);
        assert_eq!(gestational_weeks("g2p1 at 39 weeks 1 day by ultrasound"), Some(39));
        assert_eq!(gestational_weeks("g1p0 at 32w4d presents"), Some(32));
        assert_eq!(gestational_weeks("iup at 27 4/7 weeks"), Some(27));
        assert_eq!(gestational_weeks("at 12+3 wks"), Some(12));
        assert_eq!(gestational_weeks("a 6 weeks old infant; cough for 2 weeks; return in 6 weeks"), None);
        assert_eq!(gestational_weeks("seen 3 weeks ago, lmp 52 weeks"), None);
        assert_eq!(gestational_weeks("ankle brace for 4-6 weeks"), None);
        let text = "g1p0 at 32w4d presents; iup at 27 4/7 weeks";
        let (_, (a, b)) = gestation(text).unwrap();
        assert_eq!(&text[a..b], "32w4d");
        let (_, (a, b)) = gestation(&text[20..]).unwrap();
        assert_eq!(&text[20..][a..b], "27 4/7 weeks");
    }
}
