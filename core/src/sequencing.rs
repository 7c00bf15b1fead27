//! The Official Guidelines' sequencing and combination rules, applied to the fused list
//! ([`crate::candidates::fuse_with`]): which code a coder lists first when the words alone
//! would rank another, and which code replaces two.
//!
//! Each rule reads the ranked list (key, code) and the note, and moves or replaces codes:
//! - a model code whose condition the note never names leaves the list ([`unnamed_model_codes`]);
//! - the postoperative, principal or discharge diagnosis's or the impression's first
//!   confident code above a model code no statement confirms ([`stated_first`]);
//! - a complaint's symptom below the assessment's diagnosis of its body system
//!   ([`symptom_explained`]);
//! - a stated complication of care above the model's aftercare code ([`complication_over_aftercare`]);
//! - a manifestation's stated cause in place of its "Unspecified ..." code ([`cause_named`]);
//! - the encounter's own Z code first when the first reason given is a screening, the
//!   chemotherapy, immunotherapy or radiotherapy, or aftercare ([`encounter_first`]), or
//!   when a note with no reason of its own tells such a treatment given today
//!   ([`treatment_given_today`]);
//! - hypoglycemia in a diabetic is the diabetes code "with hypoglycemia" ([`diabetes_with_hypoglycemia`]);
//! - a diabetic's kidney disease, polyneuropathy, foot ulcer and the like are the diabetes
//!   code "with" them ([`diabetes_with_complications`]);
//! - coronary atherosclerosis with angina, COPD or influenza with pneumonia, COVID-19 with
//!   pneumonia are their combination codes ([`presumed_links`]);
//! - sepsis before its localized infection, COVID-19 before its manifestations ([`systemic_first`]);
//! - hypertension with heart failure or chronic kidney disease is I11–I13 ([`hypertension_with_heart_and_kidney`]);
//! - a check after completed treatment is Z08 or Z09 first ([`followup_after_treatment`]);
//! - "HIV positive" without HIV disease is Z21, not B20 ([`hiv_status`]);
//! - the primary malignancy before its secondaries ([`primary_before_secondary`]);
//! - a newborn's birth stay is coded Z38 first ([`birth_episode`]);
//! - a pregnant patient's conditions are chapter 15 codes ([`pregnancy::conditions_in_pregnancy`]);
//! - a pregnancy's codes take the trimester its weeks of gestation say, and a complicated
//!   pregnancy is neither "normal" (Z34) nor an uncomplicated delivery (O80)
//!   ([`pregnancy::pregnancy_codes`]);
//! - a manifestation code is never first ([`manifestation_not_first`]).
//!
//! A rule that cannot tell leaves the list as it is.

use crate::assertion::{self, Assertion};
use crate::candidates::{self, Candidate, Statement, LOW_MODEL_SCORE};
use crate::schema::prediction::{CodedLabel, EvidenceSpan, Source};
use crate::search::tokenize;
use crate::sections::SectionKind;
use crate::CodeTable;
use std::sync::OnceLock;

mod pregnancy;

/// The fused list before its final sort: (rank key, code).
pub(crate) type Ranked = Vec<(f32, CodedLabel)>;

/// Every rule, in order: a later rule may place its code above an earlier one's.
pub(crate) fn apply(table: &CodeTable, text: &str, candidates: &[Candidate], ranked: &mut Ranked) {
    // The first reason given for the encounter (chief complaint, indication), in lower case.
    // ASCII lower case keeps every byte offset: `lower[a..b]` is `text[a..b]`'s.
    let lower = text.to_ascii_lowercase();
    // The first reason given for the encounter (chief complaint, indication).
    let note = assertion::Note::new(text);
    let statements = candidates::statements_in(text, note.sections(), &candidates::Weights::SHIPPED);
    let reason: Option<(usize, usize)> = statements.iter().find(|s| s.reason).map(|s| s.item);
    unnamed_model_codes(&note, &lower, ranked);
    stated_first(table, &statements, candidates, ranked);
    symptom_explained(table, &statements, candidates, ranked);
    complication_over_aftercare(table, candidates, ranked);
    cause_named(table, candidates, ranked);
    encounter_first(table, candidates, ranked);
    treatment_given_today(table, text, &lower, candidates, ranked);
    followup_after_treatment(table, text, &note, &lower, reason, candidates, ranked);
    diabetes_with_hypoglycemia(table, ranked);
    diabetes_with_complications(table, &lower, ranked);
    presumed_links(table, ranked);
    systemic_first(table, ranked);
    hypertension_with_heart_and_kidney(table, &lower, ranked);
    hiv_status(table, &note, &lower, ranked);
    primary_before_secondary(table, reason.map(|(a, b)| &lower[a..b]), procedure_line(note.sections(), &lower), candidates, ranked);
    birth_episode(table, text, &lower, candidates, ranked);
    pregnancy::conditions_in_pregnancy(table, &note, &lower, &statements, ranked);
    pregnancy::pregnancy_codes(table, text, &lower, ranked);
    manifestation_not_first(table, ranked);
}

/// Conditions a model code needs the note to name, by code prefix, with the words that name
/// them (`core/data/named-by.tsv`, written from clinical knowledge and the tabular's
/// inclusion terms, never from real notes).
const SHIPPED_NAMED_BY: &str = include_str!("../data/named-by.tsv");

/// One row of the named-by table: a code prefix and the cues that name its condition.
pub type NamedBy = (String, Vec<String>);

fn named_by() -> &'static [NamedBy] {
    static TABLE: OnceLock<Vec<NamedBy>> = OnceLock::new();
    TABLE.get_or_init(|| parse_named_by(SHIPPED_NAMED_BY).expect("the shipped named-by table is well formed (tested)"))
}

/// Parses the named-by table (`PREFIX<TAB>cue|cue|...`), longest prefixes first; an error
/// names the line.
pub fn parse_named_by(tsv: &str) -> Result<Vec<NamedBy>, String> {
    let mut rows = Vec::new();
    for row in crate::knowledge::rows("named-by.tsv", tsv, "PREFIX<TAB>cue|cue|...") {
        let (n, prefix, cues) = row?;
        let cues: Vec<String> = cues.split('|').map(|c| c.trim().to_string()).collect();
        if prefix.trim().is_empty() || cues.iter().any(|c| c.is_empty() || c.to_ascii_lowercase() != *c) {
            return Err(format!("named-by.tsv line {n}: an empty prefix, an empty cue or a cue not in lower case"));
        }
        rows.push((prefix.trim().to_string(), cues));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0.len()));
    Ok(rows)
}

/// The model reads the whole note and learnt its labels from synthetic notes: it may give a
/// code whose condition the note never names ("Type 2 diabetes mellitus with foot ulcer" for a
/// pressure ulcer in a note that never says diabetes). Coders code only what the provider
/// documents (I.B, IV.C): such a model-only code leaves the list. A denied mention or a
/// relative's ("No diabetes on glucose tolerance testing", "mother with diabetes") names no
/// condition of the patient's. (Leaving out uncertain mentions outside an inpatient stay too
/// cost correct codes on the hand-written, synthetic and real sets: tried and dropped.)
fn unnamed_model_codes(note: &assertion::Note, lower: &str, ranked: &mut Ranked) {
    let at_word = |at: usize| at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric();
    let word_ends = |end: usize| end == lower.len() || !lower.as_bytes()[end].is_ascii_alphanumeric();
    // Whole words for the short abbreviations, word starts otherwise.
    let named = |cues: &[String]| {
        cues.iter().any(|c| {
            let mut words = c.split(' ');
            let first = words.next().unwrap_or_default();
            lower.match_indices(first).any(|(at, _)| {
                let Some(end) = words.clone().try_fold(at + first.len(), |end, word| next_cue_word(lower, end, word)) else { return false };
                at_word(at) && (c.len() > 4 || word_ends(end)) && !matches!(note.mention(at..end), Assertion::Negated | Assertion::Family)
            })
        })
    };
    // The longest prefix's row decides.
    let unnamed = |m: &CodedLabel| {
        m.source == Source::Model && named_by().iter().find(|(prefix, _)| m.code.starts_with(prefix.as_str())).is_some_and(|(_, cues)| !named(cues))
    };
    ranked.retain(|(_, m)| !unnamed(m));
}

/// Where a cue's next `word` ends when it starts the next word of `lower` after byte `end`, or
/// the word after that: a modifier may stand between a cue's words ("pulmonary arterial
/// hypertension" names pulmonary hypertension), within one phrase (spaces and one line break
/// between, no punctuation).
fn next_cue_word(lower: &str, end: usize, word: &str) -> Option<usize> {
    let gap = |from: usize| {
        let rest = &lower[from..];
        let skipped = rest.trim_start_matches([' ', '\t']);
        let skipped = skipped.strip_prefix('\n').map_or(skipped, |r| r.trim_start_matches([' ', '\t']));
        (skipped.len() < rest.len()).then_some(lower.len() - skipped.len())
    };
    let start = gap(end)?;
    if lower[start..].starts_with(word) {
        return Some(start + word.len());
    }
    // One word between: letters, digits, hyphens.
    let between = lower[start..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).map_or(lower.len(), |n| start + n);
    let next = gap(between).filter(|_| between > start)?;
    lower[next..].starts_with(word).then_some(next + word.len())
}

/// The postoperative diagnosis is the procedure's first-listed (guideline IV.M), the principal
/// or discharge diagnosis the stay's (II), and a study's impression what it found: the first
/// item's confident code goes above a model code that no statement confirms (the model reads
/// the whole report, "femoral neck osteotomy" included). Outside the postoperative diagnosis
/// the code must be specific: an "unspecified" or "Other" code of the first item does not
/// outrank the model's (on the synthetic notes it lost eight where the model was right).
/// A principal, discharge or postoperative first item, or an impression's, also goes above a
/// code that only later statements confirm, specific or not ("IMPRESSION: 1. Elevated PSA.
/// 2. BPH with LUTS": R97.20, then N40.1).
fn stated_first(table: &CodeTable, statements: &[Statement], candidates: &[Candidate], ranked: &mut Ranked) {
    let concluding = |s: &&Statement| s.post || (s.settled && !s.provisional) || s.kind == Some(SectionKind::Impression);
    let Some(first) = statements.iter().filter(|s| concluding(s) && s.item == s.span).min_by_key(|s| s.item.0) else { return };
    let within = |c: &&Candidate| first.item.0 <= c.span.0 && c.span.1 <= first.item.1;
    let confident = |c: &&Candidate| c.assertion == Assertion::Present && c.score >= candidates::LOW_MATCH;
    let Some(best) = candidates.iter().filter(within).filter(confident).max_by(|a, b| a.score.total_cmp(&b.score)) else { return };
    let code = &table.codes()[best.index].code;
    let Some((top_key, top)) = leader(ranked) else { return };
    if &top.code == code {
        return;
    }
    // A principal, discharge or postoperative diagnosis, or an impression, goes first (II,
    // IV.A, IV.M) above a code a later statement confirms too ("SECONDARY DIAGNOSES: Migraine
    // without aura"), however unspecified it is ("Meningitis, most likely viral": A87.9).
    let later_only = || candidates.iter().filter(|c| table.codes()[c.index].code == top.code).all(|c| c.span.0 >= first.item.1);
    let over_later = top.source == Source::Both && (first.settled || first.post || first.kind == Some(SectionKind::Impression)) && later_only();
    if !first.post && !over_later && candidates::vague(&table.codes()[best.index].description) {
        return;
    }
    if top.source != Source::Model && !over_later {
        return;
    }
    raise_above(top_key, code, ranked);
}

/// Symptom blocks of chapter 18 and the chapters whose diagnoses explain them: abdominal
/// pain and vomiting are integral to a bowel obstruction, dyspnea to heart failure. Bounds
/// are code prefixes. Bleeding of the gut is coded as a sign outside chapter 18 (K62.5
/// "Hemorrhage of anus and rectum", K92.0-K92.2 hematemesis, melena, GI hemorrhage NOS): the
/// lesion found to bleed (hemorrhoids, an ulcer, a tumour) explains it.
const EXPLAINED_BY: &[(&str, &str, &[u8])] = &[
    ("K62.5", "K62.5", &[2, 11]),
    ("K92.0", "K92.2", &[2, 11]),
    ("R00", "R03", &[9]),
    ("R04", "R09", &[9, 10]),
    ("R10", "R19", &[11, 14]),
    ("R20", "R23", &[12]),
    ("R25", "R29", &[6, 13]),
    ("R30", "R39", &[14]),
    ("R40", "R46", &[5, 6]),
    ("R51", "R51", &[6]),
    ("R55", "R55", &[9]),
];

/// The chapters whose diagnoses explain `code`, when it is a symptom or sign of [`EXPLAINED_BY`].
fn explained_by(code: &str) -> Option<&'static [u8]> {
    let within = |a: &str, b: &str| code.get(..a.len()).is_some_and(|c| a <= c) && code.get(..b.len()).is_some_and(|c| c <= b);
    EXPLAINED_BY.iter().find(|(a, b, _)| within(a, b)).map(|(_, _, ch)| *ch)
}

/// A symptom listed first (from the chief complaint) yields to the definitive diagnosis that the
/// assessment's or impression's first item states, when that diagnosis is of the body system
/// the symptom belongs to: signs and symptoms integral to a diagnosis are not coded, and the
/// diagnosis is the reason for the encounter (guideline I.B.5, IV.D).
fn symptom_explained(table: &CodeTable, statements: &[Statement], candidates: &[Candidate], ranked: &mut Ranked) {
    let Some((top_key, top)) = leader(ranked) else { return };
    let Some(chapters) = explained_by(&top.code) else {
        return;
    };
    let concluding =
        |s: &&Statement| !s.pre && !s.provisional && matches!(s.kind, Some(SectionKind::Assessment | SectionKind::Impression | SectionKind::Diagnosis));
    let Some(first) = statements.iter().filter(concluding).min_by_key(|s| s.item.0) else { return };
    let within = |c: &&Candidate| first.item.0 <= c.span.0 && c.span.1 <= first.item.1;
    // An item that states a symptom or a sign itself ("Headaches", "Hematochezia") is no
    // definitive diagnosis.
    let sign = |c: &Candidate| table.codes()[c.index].chapter == 18 || explained_by(&table.codes()[c.index].code).is_some();
    if candidates.iter().filter(within).any(sign) {
        return;
    }
    let explains = |c: &&Candidate| c.assertion == Assertion::Present && chapters.contains(&table.codes()[c.index].chapter);
    let Some(best) = candidates.iter().filter(within).filter(explains).max_by(|a, b| a.score.total_cmp(&b.score)) else { return };
    raise_above(top_key, &table.codes()[best.index].code, ranked);
}

/// Aftercare is the healing after completed treatment; a complication of the care that a
/// statement names (T80-T88, "infection of the knee prosthesis") is what is treated, and is
/// coded instead (I.C.21.c.7, I.C.19.g): its confident code goes above a model aftercare code
/// (Z47, Z48) that no statement confirms.
fn complication_over_aftercare(table: &CodeTable, candidates: &[Candidate], ranked: &mut Ranked) {
    let Some((top_key, top)) = leader(ranked) else { return };
    if top.source != Source::Model || !(top.code.starts_with("Z47") || top.code.starts_with("Z48")) {
        return;
    }
    let complication = |c: &&Candidate| {
        let code = &table.codes()[c.index].code;
        c.assertion == Assertion::Present && c.score >= candidates::LOW_MATCH && code.get(..3).is_some_and(|k| ("T80"..="T88").contains(&k))
    };
    let Some(best) = candidates.iter().filter(complication).max_by(|a, b| a.score.total_cmp(&b.score)) else { return };
    raise_above(top_key, &table.codes()[best.index].code, ranked);
}

/// A statement that names a manifestation's cause ("Alzheimer's disease with moderate
/// dementia") is coded as the cause, then the manifestation "in other diseases classified
/// elsewhere", whose "code first" note lists that cause (I.A.13): the manifestation's
/// "Unspecified ..." code (F03 "Unspecified dementia", dementia of no stated cause) is not
/// what it says, and the cause takes its place in the list.
fn cause_named(table: &CodeTable, candidates: &[Candidate], ranked: &mut Ranked) {
    let codes = table.codes();
    for m in candidates.iter().filter(|c| c.assertion == Assertion::Present) {
        let code = &codes[m.index];
        if !table.is_manifestation(code) {
            continue;
        }
        let lineage: Vec<&crate::Code> = std::iter::once(code).chain(table.ancestors(code)).collect();
        let notes: Vec<&String> = lineage.iter().flat_map(|c| c.notes.code_first.iter()).collect();
        let cited = |code: &str| notes.iter().any(|n| crate::rules::note_cites(n, code));
        let overlaps = |c: &Candidate| c.span.0 < m.span.1 && m.span.0 < c.span.1;
        let stated: Vec<&str> = candidates
            .iter()
            .filter(|c| c.assertion == Assertion::Present && overlaps(c) && cited(&codes[c.index].code))
            .map(|c| codes[c.index].code.as_str())
            .collect();
        // The fused list's best of them: the one the model agrees with, if any.
        let Some(cause) = ranked.iter().filter(|(_, d)| stated.contains(&d.code.as_str())).max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, d)| d.code.clone())
        else {
            continue;
        };
        // The manifestation's head word: "Dementia in other diseases ..." names "dementia".
        let top_title = lineage.last().map_or("", |c| c.description.as_str());
        let Some(head) = tokenize(top_title).next() else { continue };
        let unspecified = |d: &CodedLabel| {
            let mut words = tokenize(&d.description);
            words.next().as_deref() == Some("unspecified")
                && words.next().as_deref() == Some(head.as_str())
                && candidates::category(&d.code) != candidates::category(&code.code)
        };
        let Some(place) = ranked.iter().filter(|(_, d)| unspecified(d)).map(|(k, _)| *k).reduce(f32::max) else { continue };
        ranked.retain(|(_, d)| !unspecified(d));
        raise_above(place - 1e-4, &cause, ranked);
    }
}

/// A manifestation code is never first-listed (I.A.13: "code first" its underlying disease):
/// when one leads the list, the best-ranked code its "code first" notes cite goes above it
/// (N18.4 above D63.1 "Anemia in chronic kidney disease"), or else the best-ranked documented
/// code that is no manifestation. Last of the rules, so that no later move undoes it.
fn manifestation_not_first(table: &CodeTable, ranked: &mut Ranked) {
    let Some((key, first)) = leader(ranked) else { return };
    let Some(code) = table.get(&first.code).filter(|c| table.is_manifestation(c)) else { return };
    let notes: Vec<&String> = table.notes_in_force(code).into_iter().flat_map(|(_, n)| n.code_first.iter()).collect();
    let other = |m: &CodedLabel| m.code != code.code && documented(m) && table.get(&m.code).is_some_and(|c| !table.is_manifestation(c));
    let best = |cited: bool| {
        ranked
            .iter()
            .filter(|(_, m)| other(m) && (!cited || notes.iter().any(|n| crate::rules::note_cites(n, &m.code))))
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, m)| m.code.clone())
    };
    if let Some(cause) = best(true).or_else(|| best(false)) {
        raise_above(key, &cause, ranked);
    }
}

/// The list's first code and its key.
fn leader(ranked: &Ranked) -> Option<(f32, &CodedLabel)> {
    ranked.iter().max_by(|a, b| a.0.total_cmp(&b.0)).map(|(k, m)| (*k, m))
}

/// Places `code`, when listed, just above the key `top`.
fn raise_above(top: f32, code: &str, ranked: &mut Ranked) {
    if let Some((k, _)) = ranked.iter_mut().find(|(_, m)| m.code == code) {
        *k = k.max(top + 1e-4);
    }
}

/// The highest key of the list (0 when empty).
fn top(ranked: &Ranked) -> f32 {
    ranked.iter().map(|(k, _)| *k).fold(0.0, f32::max)
}

/// Titles of the Z codes that are the encounter itself: listed first when the first reason
/// given names them (screening I.C.21.c.5, "specifically the screening"; chemotherapy,
/// immunotherapy and radiotherapy I.C.2.e.2; aftercare I.C.21.c.7).
const ENCOUNTER_TITLES: &[&str] = &[
    "Encounter for screening",
    "Encounter for antineoplastic",
    "Aftercare following",
    "Encounter for surgical aftercare",
    "Encounter for removal of sutures",
    "Encounter for change or removal of",
];

/// The reason for the encounter names its own Z code: that code is listed first and what the
/// encounter found or treats after it.
fn encounter_first(table: &CodeTable, candidates: &[Candidate], ranked: &mut Ranked) {
    let codes = table.codes();
    let own: Vec<&str> = candidates
        .iter()
        .filter(|c| c.reason && c.assertion == Assertion::Present)
        .map(|c| &codes[c.index])
        .filter(|code| ENCOUNTER_TITLES.iter().any(|t| code.description.starts_with(t)))
        .map(|code| code.code.as_str())
        .collect();
    if own.is_empty() {
        return;
    }
    let top = top(ranked);
    for (k, _) in ranked.iter_mut().filter(|(_, m)| own.contains(&m.code.as_str())) {
        *k = top + 1e-3 * (1.0 + *k);
    }
}

/// Antineoplastic treatments given at an encounter, by their Z code (I.C.2.e.2): words that
/// name the treatment in a sentence that says it was given today.
const TREATMENTS: &[(&str, &[&str])] = &[
    ("Z51.0", &["radiation", "radiotherapy", "imrt", "sbrt", "fraction"]),
    ("Z51.11", &["chemotherapy"]),
    ("Z51.12", &["immunotherapy", "pembrolizumab", "nivolumab", "ipilimumab", "atezolizumab", "durvalumab", "cemiplimab", "avelumab"]),
];
/// A sentence that says a treatment was given, and today.
const GIVEN: &[&str] = &["administered", "infused", "given", "delivered", "received", "fraction today", "today's fraction"];
/// A sentence about a treatment to come, held or not given.
const NOT_GIVEN: &[&str] =
    &[" will ", " plan", " to start", " schedul", " next ", " held", " hold ", " defer", " not ", " no ", " consent", " simulation", " ejection"];
/// Notes that plan treatment rather than give it: consultations and planning visits.
const PLANNING: &[&str] = &["consult", "simulation", "new patient", "second opinion"];

/// A note with no reason of its own that tells a radiotherapy fraction, a chemotherapy or an
/// immunotherapy given today is that treatment's encounter: its Z code goes first (I.C.2.e.2;
/// a chief complaint that names it is [`encounter_first`]'s). A reason that proposes a code
/// ("nausea") makes the visit that code's; a consultation that plans treatment gives none.
fn treatment_given_today(table: &CodeTable, text: &str, lower: &str, candidates: &[Candidate], ranked: &mut Ranked) {
    if candidates.iter().any(|c| c.reason) {
        return;
    }
    let opening = &lower[..lower.char_indices().nth(OPENING).map_or(lower.len(), |(i, _)| i)];
    if PLANNING.iter().any(|w| opening.contains(w)) {
        return;
    }
    let mut given: Vec<(&str, (usize, usize))> = Vec::new();
    let mut start = 0;
    for sentence in lower.split_inclusive(['.', '\n', ';']) {
        let span = (start, start + sentence.trim_end_matches(['.', '\n', ';']).len());
        start += sentence.len();
        let today = sentence.contains("today") || sentence.contains("this visit");
        let spaced = format!(" {sentence}");
        if !today || !GIVEN.iter().any(|w| sentence.contains(w)) || NOT_GIVEN.iter().any(|w| spaced.contains(w)) {
            continue;
        }
        for (code, words) in TREATMENTS {
            if words.iter().any(|w| sentence.contains(w)) && !given.iter().any(|(c, _)| c == code) {
                given.push((code, span));
            }
        }
    }
    // More than one given: each is listed first in any order (I.C.2.e.2); the note's order.
    for (code, (a, b)) in given.into_iter().rev() {
        let a = a + (text[a..b].len() - text[a..b].trim_start().len());
        ranked.retain(|(_, m)| m.code != code);
        list_first(table, code, text, (a, b), ranked);
    }
}

/// Words of a reason that is a check after completed treatment ("follow-up after completing
/// anticoagulation"), not the care of an ongoing disease ("diabetes follow-up").
const AFTER_TREATMENT: &[&str] = &[
    "after completed",
    "after completing",
    "after completion",
    "after treatment",
    "after resection",
    "after chemotherapy",
    "after radiation",
    "post-treatment",
    "posttreatment",
    "completed treatment",
    "completed therapy",
    "completion of therapy",
    "completion of treatment",
];

/// Words that say a condition was removed or treated.
const TREATED: &[&str] = &["removed", "resect", "excis", "polypectomy", "treated", "completed", "completion", "status post", "s/p", "after"];

/// A visit to check on a condition whose treatment is complete is coded Z08 (after a
/// malignancy) or Z09 (any other condition) first (I.C.21.c.8), unless the condition has
/// recurred: then its own code is first.
fn followup_after_treatment(
    table: &CodeTable,
    text: &str,
    note: &assertion::Note,
    lower: &str,
    reason: Option<(usize, usize)>,
    candidates: &[Candidate],
    ranked: &mut Ranked,
) {
    let Some((start, end)) = reason else { return };
    let r = &lower[start..end];
    // "Surveillance" alone may watch an untreated condition ("surveillance of a known
    // aneurysm"): the reason's paragraph must say what was removed or treated.
    let paragraph = lower[start..].split("\n\n").next().unwrap_or("");
    let treated = TREATED.iter().any(|c| paragraph.contains(c));
    let after_treatment = AFTER_TREATMENT.iter().any(|c| r.contains(c)) || (r.contains("surveillance") && treated);
    if !after_treatment {
        return;
    }
    // A recurrence the note states (not "no evidence of recurrence").
    let recurred = lower
        .match_indices("recurren")
        .any(|(at, _)| !denied_before(lower, at) && !matches!(note.mention(at..at + 8), Assertion::Negated | Assertion::Hypothetical | Assertion::Family));
    if recurred {
        return;
    }
    let codes = table.codes();
    let malignant = candidates::MALIGNANT.iter().any(|w| r.contains(w)) || candidates.iter().any(|c| c.reason && malignancy(&codes[c.index].code).is_some());
    let code = if malignant { "Z08" } else { "Z09" };
    ranked.retain(|(_, m)| m.code != code);
    list_first(table, code, text, (start, end), ranked);
}

/// Lists `code` first, at [`RULE_SCORE`], with the words that decided it as evidence.
fn list_first(table: &CodeTable, code: &str, text: &str, span: (usize, usize), ranked: &mut Ranked) {
    let key = top(ranked) + 1e-3;
    list_at(table, code, text, span, key, ranked);
}

/// Lists a table code the rules found, at rank key `key`, with the words that say it.
fn list_at(table: &CodeTable, code: &str, text: &str, (start, end): (usize, usize), key: f32, ranked: &mut Ranked) {
    let Some(entry) = table.get(code) else { return };
    let evidence = EvidenceSpan { start, end, text: text[start..end].to_string(), weight: 1.0, assertion: Assertion::Present };
    ranked.push((
        key,
        CodedLabel {
            evidence: vec![evidence],
            source: Source::Table,
            ..CodedLabel::new(entry.code.clone(), entry.description.clone(), entry.chapter, RULE_SCORE)
        },
    ));
}

/// Hypoglycemia in a patient with diabetes is the diabetes code "with hypoglycemia" (E16.0–E16.2
/// exclude it: Excludes1 "diabetes with hypoglycemia"; the "with" convention, I.A.15): when
/// the list holds a documented diabetes code (E08–E13, not denied), its hypoglycemia codes
/// become that type's `.649`, in their place, with their evidence.
fn diabetes_with_hypoglycemia(table: &CodeTable, ranked: &mut Ranked) {
    let diabetes = ranked
        .iter()
        .filter(|(_, m)| documented(m))
        .find_map(|(_, m)| m.code.get(..3).filter(|c| ["E08", "E09", "E10", "E11", "E13"].contains(c)).map(str::to_string));
    let Some(category) = diabetes else { return };
    let is_hypo = |m: &CodedLabel| ["E16.0", "E16.1", "E16.2"].contains(&m.code.as_str()) && m.demoted.is_none();
    replace_in_place(table, ranked, is_hypo, &format!("{category}.649"));
}

/// How a condition the "with" convention links to diabetes stands beside the combination code.
#[derive(Clone, Copy, PartialEq)]
enum Linked {
    /// The combination says it all, and the condition's own code goes: its Excludes1 names
    /// diabetes (R73), or the combination's title is the condition said of a diabetic
    /// (E11.42 "with diabetic polyneuropathy" for G62.9).
    Included,
    /// Both codes, the combination first: its "use additional code" note (E11.22: the CKD
    /// stage; E11.621: the ulcer's site; E11.69: the complication) or the condition's "code
    /// first" note (K31.84: E11.43) says so.
    After,
    /// Both codes, in the order the note gives them (Coding Clinic: E11.51 with I70.2-).
    Beside,
}

/// The conditions the Alphabetic Index lists under "Diabetes, with" (the link presumed,
/// I.A.15; "as many codes from E08-E13 as needed", I.C.4.a), as (code prefix, the combination
/// code's ending, how the codes stand, whether a history mention counts: a chronic condition
/// the past history lists is still the patient's). First match wins, so longer prefixes come
/// first. Left out: cataract and mononeuropathy (carpal tunnel), which coders do not link
/// without the provider's word.
const DIABETES_WITH: &[(&str, &str, Linked, bool)] = &[
    ("N18", ".22", Linked::After, true),
    ("G62.9", ".42", Linked::Included, true),
    ("K31.84", ".43", Linked::After, true),
    ("H35.00", ".319", Linked::Included, true),
    ("I70.26", ".52", Linked::Beside, false),
    ("I70.2", ".51", Linked::Beside, true),
    ("I73.9", ".51", Linked::Included, true),
    ("I96", ".52", Linked::Included, false),
    ("L97.4", ".621", Linked::After, false),
    ("L97.5", ".621", Linked::After, false),
    ("L97", ".622", Linked::After, false),
    ("L98.4", ".622", Linked::After, false),
    ("R73.9", ".65", Linked::Included, false),
    ("M86", ".69", Linked::After, false),
    ("K05.2", ".630", Linked::Beside, true),
    ("K05.3", ".630", Linked::Beside, true),
    ("K05.4", ".630", Linked::Beside, true),
    ("K05.5", ".630", Linked::Beside, true),
    ("K05.6", ".630", Linked::Beside, true),
];

/// Words that give a condition another cause than diabetes ("CKD due to obstructive
/// uropathy", "alcoholic neuropathy"): the provider has said they are unrelated (I.A.15).
const OTHER_CAUSE: &[&str] = &["due to", "secondary to", "caused by", "related to", "induced", "hypertensive", "alcoholic", "from "];

/// A condition the "with" convention links to diabetes is coded with the diabetes code "with"
/// it (I.A.15, I.C.4.a): "Type 2 diabetes. CKD stage 3a. Peripheral neuropathy." is E11.22,
/// N18.31, E11.42, not E11.9 "without complications". When the list holds a documented
/// diabetes code (E08–E13), each documented condition of [`DIABETES_WITH`] gives that type's
/// combination code: the first takes the place of a "without complications" or "with
/// unspecified complications" code, the others go just above their condition (or in its place,
/// when the combination includes it). Nothing changes when the note says the conditions are
/// unrelated, the diabetes is "without complications" in so many words, or the condition's
/// statement names another cause.
fn diabetes_with_complications(table: &CodeTable, lower: &str, ranked: &mut Ranked) {
    const DIABETES: &[&str] = &["E08", "E09", "E10", "E11", "E13"];
    let unrelated = ["unrelated to diabetes", "not related to diabetes", "not due to diabetes", "not diabetic", "non-diabetic", "nondiabetic"];
    if unrelated.iter().any(|c| lower.contains(c)) {
        return;
    }
    // The best-ranked diabetes code: its key, code, source, score and evidence.
    let Some((anchor_key, anchor)) = ranked
        .iter()
        .filter(|(_, m)| documented(m) && m.code.get(..3).is_some_and(|c| DIABETES.contains(&c)) && !m.code.contains('A'))
        .max_by(|a, b| a.0.total_cmp(&b.0))
    else {
        return;
    };
    if evidence_says(anchor, &["without complication", "uncomplicated"]) {
        return;
    }
    let (anchor_key, anchor_code, anchor_source, anchor_score, anchor_evidence) =
        (*anchor_key, anchor.code.clone(), anchor.source, anchor.score, anchor.evidence.clone());
    let category = candidates::category(&anchor_code).to_string();
    let vague = anchor_code.ends_with(".9") || anchor_code.ends_with(".8");
    // The linked conditions, best-ranked first: (key, code, score, evidence, combination, link).
    let mut parts: Vec<(f32, String, f32, Vec<EvidenceSpan>, String, Linked)> = Vec::new();
    for (k, m) in ranked.iter() {
        let Some(&(_, ending, linked, chronic)) = DIABETES_WITH.iter().find(|(prefix, ..)| m.code.starts_with(prefix)) else { continue };
        let current =
            m.evidence.iter().all(|e| e.assertion == Assertion::Present || (chronic && e.assertion == Assertion::Historical)) && (chronic || !said_past(m));
        // The cause it names is no other than diabetes ("CKD due to diabetes", "due to DM").
        let names_diabetes =
            m.evidence.iter().any(|e| tokenize(&e.text).any(|w| w.starts_with("diabet") || ["dm", "dm1", "dm2", "t1dm", "t2dm"].contains(&w.as_str())));
        let other_cause = evidence_says(m, OTHER_CAUSE) && !names_diabetes;
        let combination = format!("{category}{ending}");
        if documented(m) && current && !other_cause && table.get(&combination).is_some() {
            parts.push((*k, m.code.clone(), m.score, m.evidence.clone(), combination, linked));
        }
    }
    if parts.is_empty() {
        return;
    }
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut anchor_free = vague;
    for (part_key, part_code, part_score, part_evidence, combination, linked) in parts {
        let entry = table.get(&combination).expect("checked above");
        let mut evidence = anchor_evidence.clone();
        evidence.extend(part_evidence);
        let mut key = match linked {
            Linked::Included => part_key,
            Linked::After => part_key + 1e-4,
            Linked::Beside => part_key - 1e-4,
        };
        if anchor_free {
            // The first combination takes the vague code's place (or its condition's, if better).
            key = key.max(anchor_key);
            ranked.retain(|(_, m)| m.code != anchor_code);
            anchor_free = false;
        }
        let label = CodedLabel {
            evidence,
            source: anchor_source,
            ..CodedLabel::new(entry.code.clone(), entry.description.clone(), entry.chapter, anchor_score.max(part_score))
        };
        place(ranked, key, label);
        if linked == Linked::Included {
            ranked.retain(|(_, m)| m.code != part_code);
        }
    }
    // "Without complications" contradicts the combinations now listed.
    ranked.retain(|(_, m)| !(candidates::category(&m.code) == category && m.code.ends_with(".9")));
}

/// One combination the classification presumes: a listed code of `anchors` and one of `parts`
/// are coded `combination`; `anchor_goes` and `part_goes` say which of the two the combination
/// includes (and so replaces), and `unless_caused` that a part whose statement names another
/// cause ("angina due to aortic stenosis") is not linked; `anchor_first` that the
/// combination's "code first underlying disease" note puts a kept anchor above it.
struct Link {
    anchors: &'static [&'static str],
    parts: &'static [&'static str],
    combination: &'static str,
    anchor_goes: bool,
    part_goes: bool,
    unless_caused: bool,
    anchor_first: bool,
}

const PNEUMONIA: &[&str] = &["J12.9", "J18"];
const LOWER_RESPIRATORY_INFECTION: &[&str] = &["J10.0", "J11.0", "J12", "J13", "J14", "J15", "J16", "J17", "J18", "J20", "J21", "J22"];

/// The combinations the guidelines and the Index's "with" presume (I.A.15), by code prefix.
const PRESUMED_LINKS: &[Link] = &[
    // Native coronary atherosclerosis with angina: "a causal relationship can be assumed ...
    // unless the documentation indicates the angina is due to something other than the
    // atherosclerosis" (I.C.9.b); I25.11- includes the angina.
    Link { anchors: &["I25.10"], parts: &["I20.0"], combination: "I25.110", anchor_goes: true, part_goes: true, unless_caused: true, anchor_first: false },
    Link { anchors: &["I25.10"], parts: &["I20.1"], combination: "I25.111", anchor_goes: true, part_goes: true, unless_caused: true, anchor_first: false },
    Link { anchors: &["I25.10"], parts: &["I20.2"], combination: "I25.112", anchor_goes: true, part_goes: true, unless_caused: true, anchor_first: false },
    Link { anchors: &["I25.10"], parts: &["I20.8"], combination: "I25.118", anchor_goes: true, part_goes: true, unless_caused: true, anchor_first: false },
    Link { anchors: &["I25.10"], parts: &["I20.9"], combination: "I25.119", anchor_goes: true, part_goes: true, unless_caused: true, anchor_first: false },
    // COPD with a lower respiratory infection is J44.0, "code also to identify the infection";
    // with an exacerbation too, J44.0 and J44.1 both.
    Link {
        anchors: &["J44.9"],
        parts: LOWER_RESPIRATORY_INFECTION,
        combination: "J44.0",
        anchor_goes: true,
        part_goes: false,
        unless_caused: false,
        anchor_first: false,
    },
    Link {
        anchors: &["J44.1"],
        parts: LOWER_RESPIRATORY_INFECTION,
        combination: "J44.0",
        anchor_goes: false,
        part_goes: false,
        unless_caused: false,
        anchor_first: false,
    },
    // Influenza with pneumonia (Index: Influenza, with, pneumonia): J10.0- / J11.0- include it.
    Link {
        anchors: &["J10.1", "J10.2", "J10.8"],
        parts: PNEUMONIA,
        combination: "J10.00",
        anchor_goes: true,
        part_goes: true,
        unless_caused: false,
        anchor_first: false,
    },
    Link {
        anchors: &["J11.1", "J11.2", "J11.8"],
        parts: PNEUMONIA,
        combination: "J11.00",
        anchor_goes: true,
        part_goes: true,
        unless_caused: false,
        anchor_first: false,
    },
    // COVID-19 pneumonia is U07.1 and J12.82 (I.C.1.g.1.c).
    Link { anchors: &["U07.1"], parts: PNEUMONIA, combination: "J12.82", anchor_goes: false, part_goes: true, unless_caused: false, anchor_first: false },
    // Esophageal varices in (due to) alcoholic or toxic liver disease, cirrhosis, portal
    // hypertension or schistosomiasis are secondary (Index: Varix, esophagus, in; I85.1-),
    // whose "code first underlying disease" puts the liver's code above them.
    Link { anchors: VARICES_CAUSE, parts: &["I85.00"], combination: "I85.10", anchor_goes: false, part_goes: true, unless_caused: false, anchor_first: true },
    Link { anchors: VARICES_CAUSE, parts: &["I85.01"], combination: "I85.11", anchor_goes: false, part_goes: true, unless_caused: false, anchor_first: true },
];

const VARICES_CAUSE: &[&str] = &["K70", "K71", "K74.6", "K76.6", "B65"];

/// Two documented conditions the classification codes as one ([`PRESUMED_LINKS`]) become
/// their combination code, where the better-ranked of the codes it includes was (or just below
/// the anchor, when it includes neither), with both codes' evidence; the codes it includes
/// leave the list, with the other readings of their statements. The anchor may be a
/// history mention (coronary disease in the past history); the part must be present now.
fn presumed_links(table: &CodeTable, ranked: &mut Ranked) {
    for link in PRESUMED_LINKS {
        let listed = |prefixes: &[&str], present_only: bool| {
            ranked
                .iter()
                .filter(|(_, m)| documented(m) && prefixes.iter().any(|p| m.code.starts_with(p)))
                .filter(|(_, m)| m.evidence.iter().all(|e| e.assertion == Assertion::Present || (!present_only && e.assertion == Assertion::Historical)))
                .max_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(k, m)| (*k, m.clone()))
        };
        let (Some((ka, anchor)), Some((kp, part))) = (listed(link.anchors, false), listed(link.parts, true)) else { continue };
        if said_past(&part) {
            continue;
        }
        if link.unless_caused && evidence_says(&part, OTHER_CAUSE) {
            continue;
        }
        let Some(entry) = table.get(link.combination) else { continue };
        let key = match (link.anchor_goes, link.part_goes) {
            (true, true) => ka.max(kp),
            (true, false) => ka,
            (false, true) => kp,
            (false, false) => ka - 1e-4,
        };
        let mut evidence = anchor.evidence.clone();
        evidence.extend(part.evidence.iter().cloned());
        let (kept, source) = if ka >= kp { (&anchor, anchor.source) } else { (&part, part.source) };
        let label = CodedLabel { evidence, source, ..CodedLabel::new(entry.code.clone(), entry.description.clone(), entry.chapter, kept.score) };
        // The codes it includes go, and the part's rival readings with them (J18.1 beside
        // J18.9, I20.9 beside I20.0).
        let anchor_of = |code: &str| link.anchors.iter().any(|p| code.starts_with(p));
        let part_of = |code: &str| candidates::category(code) == candidates::category(&part.code);
        ranked.retain(|(_, m)| !((link.anchor_goes && anchor_of(&m.code)) || (link.part_goes && part_of(&m.code))));
        place(ranked, key, label);
        if link.anchor_first && !link.anchor_goes {
            let at = ranked.iter().find(|(_, m)| m.code == entry.code).map_or(key, |(k, _)| *k);
            raise_above(at, &anchor.code, ranked);
        }
    }
}

/// A statement that puts its condition in the past in its own words ("Right lower lobe
/// pneumonia, resolved"), which the statement's assertion, read before its head, misses.
fn said_past(m: &CodedLabel) -> bool {
    const PAST: &[&str] = &["resolved", "healed", "history", "previous", "prior", "status post", "s/p"];
    m.evidence.iter().any(|e| {
        let text = e.text.to_ascii_lowercase();
        tokenize(&text).any(|w| PAST.contains(&w.as_str())) || text.contains("status post") || text.contains("s/p")
    })
}

/// Localized infections a sepsis may start from (I.C.1.d.4), by code prefix.
const LOCAL_INFECTIONS: &[&str] = &[
    "A04.7", "A08", "A09", "J09", "J10", "J11", "J12", "J13", "J14", "J15", "J16", "J17", "J18", "J20", "J22", "J44.0", "J85", "J86", "K35", "K57.0", "K57.2",
    "K57.4", "K57.8", "K61", "K63.0", "K65", "K75.0", "K81.0", "K83.0", "L02", "L03", "L08", "M00", "M46.2", "M86", "N10", "N15.1", "N30.0", "N30.9", "N39.0",
    "N41", "N45", "N70", "N73",
];

/// COVID-19's manifestations (I.C.1.g.1.a), by code prefix.
const COVID_MANIFESTATIONS: &[&str] = &["J12", "J18", "J20", "J22", "J40", "J80", "J96.0", "J98.8", "R05", "R06.0", "R09.02", "R43", "R50", "R53"];

/// The systemic infection goes first: a sepsis present with a localized infection is listed
/// before it (I.C.1.d.4, both present on admission), and COVID-19 before its manifestations
/// (I.C.1.g.1.a; not in pregnancy, where O98.5- comes first). The systemic code must come
/// from a statement that says it as present; "urosepsis" is no sepsis (I.C.1.d.1.a.ii).
fn systemic_first(table: &CodeTable, ranked: &mut Ranked) {
    // The statement must name it ("Organism unknown" matches A41.9's "unspecified organism").
    let stated = |m: &CodedLabel, names: &[&str]| {
        m.demoted.is_none()
            && m.source != Source::Model
            && m.evidence.iter().all(|e| e.assertion == Assertion::Present)
            && !evidence_says(m, &["urosepsis"])
            && evidence_says(m, names)
    };
    let pregnant = ranked.iter().any(|(_, m)| m.code.starts_with('O') && documented(m));
    let rules: [(&[&str], &[&str], &[&str]); 2] =
        [(&["A40", "A41"], LOCAL_INFECTIONS, &["sepsis", "septic"]), (&["U07.1"], COVID_MANIFESTATIONS, &["covid", "sars-cov-2", "coronavirus"])];
    for (i, (systemic, local, names)) in rules.into_iter().enumerate() {
        if i == 1 && pregnant {
            continue;
        }
        let stated = |m: &CodedLabel| stated(m, names);
        let Some(key) = ranked.iter().filter(|(_, m)| stated(m) && systemic.iter().any(|p| m.code.starts_with(p))).map(|(k, _)| *k).reduce(f32::max) else {
            continue;
        };
        let above = ranked.iter().filter(|(k, m)| *k > key && documented(m) && local.iter().any(|p| m.code.starts_with(p))).map(|(k, _)| *k).reduce(f32::max);
        if let Some(above) = above {
            for (k, m) in ranked.iter_mut() {
                if systemic.iter().any(|p| m.code.starts_with(p)) && stated(m) && *k == key {
                    *k = above + 1e-4;
                }
            }
        }
    }
    severe_sepsis(table, ranked);
}

/// Severe sepsis is the systemic infection's code, then R65.20, or R65.21 for septic shock
/// (I.C.1.d.1.b, R65.2's "code first underlying infection"): the R65.2- code goes just below
/// the sepsis that a statement calls severe or septic shock, and a stated R65.2- with no
/// infection code listed brings A41.9 "Sepsis, unspecified organism" above it.
fn severe_sepsis(table: &CodeTable, ranked: &mut Ranked) {
    let says = |m: &CodedLabel, w: &str| m.evidence.iter().any(|e| e.assertion == Assertion::Present && e.text.to_ascii_lowercase().contains(w));
    let stated = |m: &CodedLabel| m.demoted.is_none() && m.source != Source::Model;
    let sepsis = ranked.iter().filter(|(_, m)| stated(m) && (m.code.starts_with("A40") || m.code.starts_with("A41"))).max_by(|a, b| a.0.total_cmp(&b.0));
    let (key, code, evidence) = match sepsis {
        Some((k, m)) if says(m, "septic shock") => (*k - 1e-4, "R65.21", m.evidence.clone()),
        Some((k, m)) if says(m, "severe sepsis") => (*k - 1e-4, "R65.20", m.evidence.clone()),
        Some(_) => return,
        None => {
            // A stated R65.2- alone: its infection, unspecified, goes above it.
            let Some((k, m)) = ranked
                .iter()
                .filter(|(_, m)| stated(m) && m.code.starts_with("R65.2") && (says(m, "sepsis") || says(m, "septic")))
                .max_by(|a, b| a.0.total_cmp(&b.0))
            else {
                return;
            };
            (*k + 1e-4, "A41.9", m.evidence.clone())
        }
    };
    let Some(entry) = table.get(code) else { return };
    match ranked.iter_mut().find(|(_, m)| m.code == code) {
        // R65.2- below its infection, A41.9 above its R65.2-.
        Some((k, _)) if code.starts_with("R65") => *k = key,
        Some((k, _)) => *k = k.max(key),
        None => ranked.push((
            key,
            CodedLabel { evidence, source: Source::Table, ..CodedLabel::new(entry.code.clone(), entry.description.clone(), entry.chapter, RULE_SCORE) },
        )),
    }
}

/// Hypertension with heart failure, chronic kidney disease or both is one combination code,
/// listed where the hypertension code was: the classification presumes the link (the "with"
/// convention, I.C.9.a.1-3) unless the note says the conditions are unrelated. Heart failure
/// (I50) and CKD (N18) make I11.0, I12.9 / I12.0 (stage 5 or end stage) or I13.0 / I13.2; the
/// I50 and N18 codes stay, as the combination's "use additional code" asks. Both must be
/// documented as present or history, not suspected.
fn hypertension_with_heart_and_kidney(table: &CodeTable, lower: &str, ranked: &mut Ranked) {
    let is_hypertension = |m: &CodedLabel| ["I10", "I11", "I12", "I13"].iter().any(|c| m.code.starts_with(c));
    let asserted = |m: &CodedLabel| documented(m) && m.evidence.iter().all(|e| matches!(e.assertion, Assertion::Present | Assertion::Historical));
    // The best-ranked hypertension code, when the model gave it, is evidence of the heart
    // failure or CKD it includes ("cardiorenal disease"); any other only when its evidence
    // names them: "hypertensive chronic kidney disease" matches I13.0's title too.
    let Some(best) = ranked.iter().filter(|(_, m)| is_hypertension(m) && documented(m)).max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, m)| m.code.clone()) else {
        return;
    };
    if ["unrelated to hypertension", "not related to hypertension", "not due to hypertension", "not hypertensive"].iter().any(|c| lower.contains(c)) {
        return;
    }
    let implies = |m: &CodedLabel, codes: &[&str], words: &[&str]| {
        codes.iter().any(|c| m.code.starts_with(c)) && ((m.source != Source::Table && best == m.code) || evidence_says(m, words))
    };
    const HEART_FAILURE: &[&str] = &["heart failure", "chf", "hfref", "hfpef"];
    const END_STAGE: &[&str] = &["end stage", "end-stage", "esrd", "eskd", "stage 5", "stage v", "dialysis"];
    let heart_failure = ranked.iter().any(|(_, m)| asserted(m) && (m.code.starts_with("I50") || implies(m, &["I11.0", "I13.0", "I13.2"], HEART_FAILURE)));
    let ckd =
        ranked.iter().any(|(_, m)| asserted(m) && (m.code.starts_with("N18") || implies(m, &["I12", "I13"], &["kidney", "ckd", "renal", "esrd", "eskd"])));
    // End stage when a statement says it, or the model's best hypertension code includes it;
    // not from a stage code alone ("renal disease" reads as N18.6's title too).
    let end_stage = ranked.iter().any(|(_, m)| {
        asserted(m) && (((m.code == "N18.5" || m.code == "N18.6") && evidence_says(m, END_STAGE)) || implies(m, &["I12.0", "I13.2", "I13.11"], END_STAGE))
    });
    let code = match (heart_failure, ckd, end_stage) {
        (true, true, false) => "I13.0",
        (true, true, true) => "I13.2",
        (false, true, false) => "I12.9",
        (false, true, true) => "I12.0",
        (true, false, _) => "I11.0",
        (false, false, _) => return,
    };
    // A statement names the hypertension (the model alone may have it from the history).
    let stated = ranked.iter().any(|(_, m)| is_hypertension(m) && documented(m) && m.source != Source::Model);
    replace_in_place(table, ranked, |m| is_hypertension(m) && m.demoted.is_none(), code);
    // I50 and N18 say "code first" the hypertensive heart or kidney disease: the combination
    // goes before the heart failure and the CKD it includes.
    if !stated {
        return;
    }
    let parts = |m: &CodedLabel| m.code.starts_with("I50") || m.code.starts_with("N18");
    if let Some(above) = ranked.iter().filter(|(_, m)| parts(m) && m.demoted.is_none()).map(|(k, _)| *k).reduce(f32::max) {
        if let Some((k, _)) = ranked.iter_mut().find(|(_, m)| m.code == code) {
            *k = k.max(above + 1e-4);
        }
    }
}

/// A statement names it, or the model is confident of it; and the note does not deny it.
fn documented(m: &CodedLabel) -> bool {
    m.demoted.is_none() && (m.source != Source::Model || m.score >= LOW_MODEL_SCORE)
}

/// The codes `old` picks become `new` at the best one's place, with its evidence and score; a
/// `new` already listed rises to that place instead. Nothing happens when `new` is not a code
/// of the table or nothing is picked.
fn replace_in_place(table: &CodeTable, ranked: &mut Ranked, old: impl Fn(&CodedLabel) -> bool, new: &str) {
    let Some(code) = table.get(new) else { return };
    let Some(best) = ranked.iter().filter(|(_, m)| old(m)).map(|(k, _)| *k).reduce(f32::max) else { return };
    match ranked.iter_mut().find(|(_, m)| m.code == new) {
        Some((k, _)) => *k = k.max(best),
        None => {
            let (_, m) = ranked.iter_mut().find(|(k, m)| old(m) && *k == best).expect("the best is in the list");
            *m = CodedLabel {
                evidence: std::mem::take(&mut m.evidence),
                source: m.source,
                ..CodedLabel::new(code.code.clone(), code.description.clone(), code.chapter, m.score)
            };
        }
    }
    ranked.retain(|(_, m)| m.code == new || !old(m));
}

/// A combination code goes at `key`: one the list already holds (the model's, unsure) rises
/// to it and takes the label's score and evidence when they are better; otherwise it joins.
fn place(ranked: &mut Ranked, key: f32, label: CodedLabel) {
    match ranked.iter_mut().find(|(_, m)| m.code == label.code) {
        Some((k, m)) => {
            *k = k.max(key);
            if m.score < label.score {
                *m = label;
            }
        }
        None => ranked.push((key, label)),
    }
}

/// Whether one of the code's evidence spans says one of `words` (lower case, as substrings).
fn evidence_says(m: &CodedLabel, words: &[&str]) -> bool {
    m.evidence.iter().any(|e| {
        let text = e.text.to_ascii_lowercase();
        words.iter().any(|w| text.contains(w))
    })
}

/// How a note says a positive HIV status without disease (guideline I.C.1.a.2.d: "HIV
/// positive", "known HIV", "HIV test positive, or similar terminology").
const HIV_STATUS: &[&str] = &[
    "hiv positive",
    "hiv-positive",
    "hiv +",
    "hiv+",
    "hiv seropositive",
    "seropositive for hiv",
    "known hiv",
    "hiv test positive",
    "positive hiv test",
    "asymptomatic hiv",
];
/// Words that make it HIV disease (B20): "AIDS", "HIV disease", or an HIV-related illness.
const HIV_DISEASE: &[&str] = &[
    "aids",
    "hiv disease",
    "hiv-related",
    "hiv related",
    "hiv-associated",
    "hiv associated",
    "acquired immunodeficiency",
    "acquired immune deficiency",
    "opportunistic",
    "pneumocystis",
    "pcp",
    "kaposi",
    "cryptococc",
    "toxoplasm",
    "cmv",
    "cytomegalovir",
    "mycobacterium avium",
    "wasting",
    "thrush",
    "candidiasis",
    "encephalopathy",
    "nephropathy",
];

/// Asymptomatic HIV status is Z21, not B20 (I.C.1.a.2.d): the note says "HIV positive" (or the
/// like) and never "AIDS", "HIV disease" or an HIV-related illness. Inconclusive laboratory
/// evidence (R75, stated) takes B20's place.
fn hiv_status(table: &CodeTable, note: &assertion::Note, lower: &str, ranked: &mut Ranked) {
    if !ranked.iter().any(|(_, m)| m.code == "B20") {
        return;
    }
    // Inconclusive serology without a confirmed diagnosis is R75, never B20 or Z21
    // (I.C.1.a.2.e): a statement gave R75.
    if ranked.iter().any(|(_, m)| m.code == "R75" && m.source != Source::Model) {
        replace_in_place(table, ranked, |m| m.code == "B20", "R75");
        return;
    }
    // An HIV-related illness the note denies ("never had thrush") does not count; one it had
    // does (once HIV disease, always B20: I.C.1.a.2.f).
    let disease = HIV_DISEASE.iter().any(|cue| {
        lower.match_indices(cue).any(|(at, _)| {
            let whole = !lower[..at].ends_with(char::is_alphanumeric) && !lower[at + cue.len()..].starts_with(char::is_alphanumeric);
            let stem = cue.len() >= 6 || whole;
            stem && !denied_before(lower, at) && matches!(note.mention(at..at + cue.len()), Assertion::Present | Assertion::Historical | Assertion::Uncertain)
        })
    });
    if !HIV_STATUS.iter().any(|c| lower.contains(c)) || disease {
        return;
    }
    replace_in_place(table, ranked, |m| m.code == "B20", "Z21");
}

/// Whether the sentence before `at` denies what follows: "He has never had an opportunistic
/// infection, HIV-associated malignancy, thrush, wasting or any HIV-related illness" reaches
/// past a cue's word window.
fn denied_before(lower: &str, at: usize) -> bool {
    said_before(lower, at, &[" never ", " no ", " denies ", " denied ", " without ", "negative for", " free of "])
}

/// Whether the sentence before `at` holds one of `cues`.
fn said_before(lower: &str, at: usize, cues: &[&str]) -> bool {
    let sentence = lower[..at].rfind(['.', '\n', ';']).map_or(&lower[..at], |i| &lower[i + 1..at]);
    let sentence = format!(" {sentence}");
    cues.iter().any(|c| sentence.contains(c))
}

/// Whether a code is a primary malignancy (C00–C76, C7A, C80–C96) or a secondary one
/// (C77–C79, C7B).
fn malignancy(code: &str) -> Option<bool> {
    let cat = code.get(..3)?;
    let (letter, rest) = cat.split_at(1);
    if letter != "C" {
        return None;
    }
    if rest == "7A" {
        return Some(true);
    }
    if rest == "7B" {
        return Some(false);
    }
    let n: u32 = rest.parse().ok()?;
    Some(!(77..=79).contains(&n))
}

/// The procedure a note reports under a header that names it ("PROCEDURE:", "OPERATION
/// PERFORMED:"), its first line in lower case.
fn procedure_line<'a>(sections: &[crate::sections::Section], lower: &'a str) -> Option<&'a str> {
    sections
        .iter()
        .filter(|s| s.kind == SectionKind::Procedure)
        .find(|s| {
            let header = lower[s.header.0..s.header.1].trim_start();
            header.starts_with("procedure") || header.starts_with("operation")
        })
        .map(|s| lower[s.body.0..s.body.1].trim_start().lines().next().unwrap_or(""))
}

/// The primary malignancy is listed before its secondaries (I.C.2.b) unless the encounter is
/// for the secondary site: when the first reason given names a metastasis and no primary,
/// the order stays. Only a primary the note states as present moves.
/// A procedure on a metastasis that names no primary ("Microwave ablation of hepatic
/// metastasis") is treatment directed at the secondary site only: its code goes first, though
/// the primary is still present (I.C.2.b).
fn primary_before_secondary(table: &CodeTable, reason: Option<&str>, procedure: Option<&str>, candidates: &[Candidate], ranked: &mut Ranked) {
    let codes = table.codes();
    let on_secondary = procedure.is_some_and(|p| p.contains("metasta") && !candidates::names_primary(p));
    let for_secondary = reason.is_some_and(|r| ["metasta", "secondary"].iter().any(|w| r.contains(w)));
    let names_primary = candidates.iter().any(|c| c.reason && malignancy(&codes[c.index].code) == Some(true));
    if for_secondary && !names_primary {
        return;
    }
    let stated = |code: &str| candidates.iter().any(|c| codes[c.index].code == code && matches!(c.assertion, Assertion::Present | Assertion::Uncertain));
    let best = |primary: bool| {
        ranked
            .iter()
            .enumerate()
            .filter(|(_, (_, m))| m.demoted.is_none() && malignancy(&m.code) == Some(primary))
            .filter(|(_, (_, m))| !primary || (m.source != Source::Model && stated(&m.code)))
            .max_by(|a, b| a.1 .0.total_cmp(&b.1 .0))
            .map(|(i, (k, _))| (i, *k))
    };
    let (Some((j, secondary)), Some((i, primary))) = (best(false), best(true)) else { return };
    if on_secondary {
        if secondary < primary {
            ranked[j].0 = primary + 1e-4;
        }
    } else if primary < secondary {
        ranked[i].0 = secondary + 1e-4;
    }
}

/// A newborn's birth stay: the Z38 code of its place of birth and delivery is listed first
/// (I.C.16.a.2, I.C.21.c.12). Read from the note's words: the patient is a newborn (not the
/// mother delivering one), its birth is told, the note is of a hospital stay, and not of a
/// later visit, a readmission or a transfer in from the birth hospital.
fn birth_episode(table: &CodeTable, text: &str, lower: &str, candidates: &[Candidate], ranked: &mut Ranked) {
    let phrase = |cues: &[&str]| cues.iter().any(|c| lower.contains(c));
    // The note's title and reason say what visit it is; a discharge plan's "weight check in
    // 2 days" does not.
    let opening = &lower[..lower.char_indices().nth(OPENING).map_or(lower.len(), |(i, _)| i)];
    if LATER_VISIT.iter().any(|c| opening.contains(c)) || older_than_newborn(lower) {
        // Not the birth stay: a Z38 code is wrong here, whoever offered it.
        for (k, _) in ranked.iter_mut().filter(|(_, m)| m.code.starts_with("Z38")) {
            *k = 0.0;
        }
        newborn_check(table, text, opening, candidates, ranked);
        return;
    }
    // Most notes tell no birth stay: the note's words are read only for one that may.
    if !phrase(BIRTH_STAY) || phrase(MOTHER_RECORD) {
        return;
    }
    let words: Vec<String> = tokenize(lower).collect();
    let word = |cues: &[&str]| cues.iter().any(|c| words.iter().any(|w| w == c));
    let birth = word(&["born", "delivered", "delivery", "birth", "apgar", "apgars"]);
    let stay = word(&["nursery", "nicu", "admitted", "admission", "discharge", "discharged"]) || phrase(&["hospital course", "delivery room"]);
    if !(birth && stay) {
        return;
    }
    let twins = word(&["twin", "twins"]);
    let outside = phrase(OUTSIDE_HOSPITAL);
    // This birth's mode: the mother's previous cesareans are history, not this delivery.
    let cesarean = ["cesarean", "caesarean", "c-section", "c section", "lscs"]
        .iter()
        .any(|cue| lower.match_indices(cue).any(|(at, _)| !said_before(lower, at, &[" previous ", " prior ", " history of ", " last ", " no ", " not "])));
    let code = match (twins, outside, cesarean) {
        (false, true, _) => "Z38.1",
        (true, true, _) => "Z38.4",
        (false, false, false) => "Z38.00",
        (false, false, true) => "Z38.01",
        (true, false, false) => "Z38.30",
        (true, false, true) => "Z38.31",
    };
    // The evidence: the first sentence that tells the birth.
    let at = ["delivered", "born", "delivery", "birth"]
        .iter()
        .filter_map(|c| lower.match_indices(c).map(|(i, _)| i).find(|&i| !lower[..i].ends_with(|ch: char| ch.is_ascii_alphabetic())))
        .min()
        .unwrap_or(0);
    let start = lower[..at].rfind(['.', '\n']).map_or(0, |i| i + 1);
    let end = lower[at..].find(['.', '\n']).map_or(text.len(), |i| at + i);
    let start = start + (text[start..end].len() - text[start..end].trim_start().len());
    ranked.retain(|(_, m)| !m.code.starts_with("Z38"));
    list_first(table, code, text, (start, end), ranked);
}

/// Words of a newborn's routine check after the birth stay, in the note's opening.
const NEWBORN_CHECK: &[&str] = &["weight check", "newborn visit", "newborn check", "well child", "well-child", "well baby", "well-baby"];

/// A routine check of a newborn after the birth stay (a weight check, the first office visit)
/// is the newborn health examination, Z00.110 under 8 days old and Z00.111 from 8 to 28 days
/// (I.C.21.c.13), listed first; what it finds follows. A reason that proposes a code of its
/// own ("jaundice check") makes the visit that code's.
fn newborn_check(table: &CodeTable, text: &str, opening: &str, candidates: &[Candidate], ranked: &mut Ranked) {
    let Some(at) = NEWBORN_CHECK.iter().filter_map(|c| opening.find(c)).min() else { return };
    let codes = table.codes();
    if candidates.iter().any(|c| c.reason && !codes[c.index].code.starts_with('Z')) {
        return;
    }
    let Some(age) = age_in_days(opening) else { return };
    // The age decides: the table's own Z00.11x readings go, and an older child gets none (an
    // inclusion term of Z00.111 is "Newborn weight check").
    ranked.retain(|(_, m)| !m.code.starts_with("Z00.11"));
    let code = match age {
        0..=7 => "Z00.110",
        8..=28 => "Z00.111",
        _ => return,
    };
    let start = opening[..at].rfind(['\n', '.']).map_or(0, |i| i + 1);
    let end = opening[at..].find(['\n', '.']).map_or(opening.len(), |i| at + i);
    let start = start + (text[start..end].len() - text[start..end].trim_start().len());
    list_first(table, code, text, (start, end), ranked);
}

/// The patient's age in days from the note's opening: "5-day-old", "10 days old", "Age: 5 days".
/// Weeks, months and years count too ("2-month-old": 60 days), so an older child is no newborn.
fn age_in_days(opening: &str) -> Option<u32> {
    [("day", 1), ("week", 7), ("month", 30), ("year", 365)].into_iter().find_map(|(unit, days)| {
        opening.match_indices(unit).find_map(|(at, _)| {
            let before = opening[..at].trim_end_matches([' ', '-']);
            let number = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            let after = &opening[at + unit.len()..];
            let after = after.strip_prefix('s').unwrap_or(after);
            let aged = after.starts_with("-old") || after.starts_with(" old") || before[..before.len() - number].trim_end().ends_with("age:");
            let n: Option<u32> = (number > 0 && aged).then(|| before[before.len() - number..].parse().ok()).flatten();
            n.map(|n| n.saturating_mul(days))
        })
    })
}

/// Words of a newborn's birth-stay record: its first hours and days, its nursery.
const BIRTH_STAY: &[&str] = &[
    "apgar",
    "day of life",
    "days of life",
    "hours of life",
    "delivery room",
    "born to a",
    "newborn nursery",
    "well baby nursery",
    "well-baby nursery",
    "admitted to the nicu",
    "admitted to nicu",
    "nicu admission",
    "birth weight",
    "birthweight",
];
/// Words of the mother's delivery record, which tells the baby's birth too.
const MOTHER_RECORD: &[&str] =
    &["postpartum day", "lochia", "fundus", "episiotomy", "estimated blood loss", "perineal laceration", "the patient delivered", "she delivered"];
/// Words of a newborn's visit after the birth stay, a readmission or a transfer in, in the
/// note's opening.
const LATER_VISIT: &[&str] = &[
    "no nicu stay",
    "weight check",
    "well child",
    "well-child",
    "bilirubin check",
    "jaundice check",
    "readmi",
    "transferred from",
    "transfer from",
    "outside hospital",
    "born at an outside",
    "born at another",
    "office visit",
    "here today",
    "here for",
    "presents for",
];

/// The note gives the patient an age of weeks, months or years ("4-month-old", "2 years old"),
/// not the mother's ("born to a 28-year-old G2P1 mother").
fn older_than_newborn(lower: &str) -> bool {
    const AGES: &[&str] = &["-year-old", " year old", " years old", "-month-old", " month old", " months old", "-week-old", " week old", " weeks old"];
    AGES.iter().any(|age| {
        lower.match_indices(age).any(|(at, _)| {
            let after = &lower[at + age.len()..];
            let after = &after[..after.char_indices().nth(40).map_or(after.len(), |(i, _)| i)];
            !RELATIVES.iter().any(|m| after.contains(m))
        })
    })
}

/// How much of a note's opening (characters) says what visit it is.
const OPENING: usize = 400;

/// Words of a birth outside the hospital.
const OUTSIDE_HOSPITAL: &[&str] = &[
    "born at home",
    "home birth",
    "home delivery",
    "delivered at home",
    "delivery at home",
    "out-of-hospital",
    "out of hospital",
    "in the car",
    "in the ambulance",
    "en route",
    "prior to arrival",
    "before arrival",
];

/// Words after an age that make it a relative's.
const RELATIVES: &[&str] = &["mother", "gravida", "woman", "mom", " g1", " g2", " g3", " g4", " g5", " g6", "father", "sister", "brother", "sibling", "parent"];

/// The confidence shown for a code a rule lists from the note's words (the birth stay, the
/// follow-up after treatment): the rule decides, not a model score or a title match.
const RULE_SCORE: f32 = 0.9;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_named_by_table_parses_and_its_prefixes_name_codes() {
        let rows = parse_named_by(SHIPPED_NAMED_BY).unwrap();
        assert!(rows.len() >= 4, "{} rows", rows.len());
        // Longest prefix first, so a subcategory's row decides before its category's.
        assert!(rows.windows(2).all(|w| w[0].0.len() >= w[1].0.len()));
        for (prefix, _) in &rows {
            let ok =
                prefix.len() >= 3 && prefix.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && prefix[1..3].chars().all(|c| c.is_ascii_alphanumeric());
            assert!(ok, "not a code prefix: {prefix}");
        }
        assert!(parse_named_by("E11 diabet").unwrap_err().contains("line 1"));
        assert!(parse_named_by("# c\nE11\tDiabet").unwrap_err().contains("line 2"));
        assert!(parse_named_by("E11\tdiabet||dm").unwrap_err().contains("line 1"));
    }

    #[test]
    fn a_cue_word_comes_next_or_one_word_later_in_the_phrase() {
        fn after<'t>(text: &'t str, word: &str) -> Option<&'t str> {
            next_cue_word(text, text.find(|c: char| c.is_whitespace()).unwrap(), word).map(|end| &text[..end])
        }
        assert_eq!(after("pulmonary hypertension", "hypertens"), Some("pulmonary hypertens"));
        assert_eq!(after("pulmonary venous hypertension", "hypertens"), Some("pulmonary venous hypertens"));
        assert_eq!(after("pulmonary\n  hypertension", "hypertens"), Some("pulmonary\n  hypertens"));
        assert_eq!(after("pulmonary veno-occlusive hypertension", "hypertens"), Some("pulmonary veno-occlusive hypertens"));
        assert_eq!(after("pulmonary nodule; hypertension", "hypertens"), None);
        assert_eq!(after("pulmonary nodule and hypertension", "hypertens"), None, "two words between");
        assert_eq!(after("pulmonary\n\nhypertension", "hypertens"), None, "a blank line ends the phrase");
    }

    #[test]
    fn malignancy_tells_primary_from_secondary() {
        assert_eq!(malignancy("C61"), Some(true));
        assert_eq!(malignancy("C50.912"), Some(true));
        assert_eq!(malignancy("C83.30"), Some(true));
        assert_eq!(malignancy("C7A.00"), Some(true));
        assert_eq!(malignancy("C77.9"), Some(false));
        assert_eq!(malignancy("C79.51"), Some(false));
        assert_eq!(malignancy("C7B.02"), Some(false));
        assert_eq!(malignancy("D05.11"), None);
        assert_eq!(malignancy("Z85.3"), None);
    }
}
