//! Codes beyond the model's labels: the note's diagnostic statements matched against every
//! billable code of the table, fused with the model's suggestions, each with its specificity
//! options, and an honest "not among what I know" when neither source is confident.
//!
//! A coder codes from the diagnostic statements: the chief complaint, the assessment or
//! impression, the pre- and postoperative and discharge diagnoses, the indication
//! ([`crate::sections`]). Each statement (a line or list item of those sections, and its
//! parts split at commas and "and") is read as words, widened by a small table of clinical
//! abbreviations and everyday terms (`data/statement-synonyms.tsv`: "BPH", "kidney stone"),
//! and scored against each billable code's title:
//! - recall: the share of the title's weight the statement covers (words weigh by their
//!   rarity among titles, so "fracture" counts less than "radius");
//! - precision: the share of the statement's weight the title covers;
//! - `match = recall^0.6 × precision^0.4 × place`, where place favours diagnosis and
//!   assessment sections over the chief complaint and indication; a later item of a list
//!   then ranks lower ([`Weights::order`]). A statement the note negates, gives to a relative
//!   or states as hypothetical proposes nothing; an uncertain or historical one counts less
//!   ([`crate::assertion`]).
//!   A note without diagnostic sections is read sentence by sentence, at a lower weight.
//!   Symptom codes (chapter 18) match at 0.75: a definitive diagnosis goes first.
//!
//! [`fuse`] ranks both sources in one list: a model code keeps its score, raised when a
//! statement confirms its code or category; a table code ranks by its match ([`Weights`]).
//! The weights were chosen with `icd-bench fusion` on hand-written dev charts
//! (`data/eval/charts-dev.jsonl`), checked on the outside-300 dev notes and synthetic test
//! notes, never on real charts.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::assertion::{self, Assertion};
use crate::schema::prediction::{CodedLabel, EvidenceSpan, Source};
use crate::search::{tokenize, unbracketed, SearchIndex};
use crate::sections::{self, Section, SectionKind};
use crate::sequencing;
use crate::specificity;
use crate::CodeTable;

/// Statements whose best match falls below this propose nothing.
pub const MIN_MATCH: f32 = 0.5;
/// A title must be covered at least this much to be considered.
const MIN_RECALL: f32 = 0.5;
/// Codes kept per statement.
const PER_STATEMENT: usize = 3;
/// Weight of statements read from a note without diagnostic sections.
const UNSECTIONED: f32 = 0.5;
/// Symptom codes (chapter 18) match lower: a definitive diagnosis goes first (guideline I.B.4-5).
const SYMPTOM_RANK: f32 = 0.75;
/// A part of an item (split at commas and "and") against the whole item.
const PART: f32 = 0.9;
/// Words (lower case) that say the note is about a newborn, or a pregnancy: cues of 6 letters
/// or more also begin longer words ("pregnan-cy"); shorter ones are whole words ("labor", not
/// "laboratory").
const NEWBORN_CUES: &[&str] = &["newborn", "neonat", "infant", "nicu", "baby", "babies", "preterm", "apgar"];
const PREGNANCY_CUES: &[&str] = &[
    "pregnan",
    "gestation",
    "postpartum",
    "trimester",
    "gravida",
    "deliver",
    "labor",
    "labour",
    "obstetric",
    "prenatal",
    "antepartum",
    "iup",
    "hcg",
    "puerper",
];
/// Words of a statement that tell a condition as past ("h/o" is "h" and "o").
const PAST_WORDS: &[&str] = &["history", "hx", "h", "prior", "previous", "past", "remote", "former", "resolved", "treated"];
/// Words of a statement that tell its certainty, course or basis, not a fact a code must cover:
/// they weigh nothing against a title ("Community-acquired pneumonia, probable" is J18.9 as
/// much as "pneumonia" is; the assertion reads the hedge).
const COURSE_WORDS: &[&str] = &[
    "probable",
    "probably",
    "likely",
    "possible",
    "possibly",
    "presumed",
    "presumptive",
    "questionable",
    "suspected",
    "suspect",
    "apparent",
    "apparently",
    "consistent",
    "compatible",
    "suggestive",
    "resolving",
    "improving",
    "improved",
    "worsening",
    "worsened",
    "stable",
    "controlled",
    "community",
    "criteria",
    // A duration: "Prolonged fevers" are a fever (R50.9 includes "Persistent fever").
    "prolonged",
    "ongoing",
];
/// Words of an item that tell an injury's healing: a subsequent encounter's.
/// Word starts that tie a condition to a procedure ("postop", "post-procedural", "after the
/// surgery", "complicating the repair").
const PROCEDURE_WORDS: &[&str] =
    &["post", "intraop", "surg", "operat", "procedur", "after", "following", "complicat", "iatrogenic", "repair", "placement", "insertion"];
const HEALING_WORDS: &[&str] = &["healing", "subsequent", "nonunion", "malunion"];
/// Words of a statement that give a condition to a relative.
const FAMILY_WORDS: &[&str] = &[
    "family",
    "fh",
    "fhx",
    "mother",
    "father",
    "brother",
    "sister",
    "sibling",
    "parent",
    "parents",
    "grandmother",
    "grandfather",
    "aunt",
    "uncle",
    "son",
    "daughter",
];
/// The weight of a statement word that no title holds (a middling title word's).
const UNKNOWN_WORD: f32 = crate::search::UNTITLED_WORD;
/// A subsequent-encounter or sequela code the statement does not call one.
const LATER_EPISODE: f32 = 0.9;
/// The least match of a code an Excludes1 note directs to, for it to go above the note's code
/// ("Syncope" matches T67.1XXS "Heat syncope, sequela" at 0.36: no reading to act on).
const DIRECTED_MATCH: f32 = 0.5;
/// An "Other ..." title's recall beside a sibling's "X NOS" term the statement says wholly.
const OTHER_BESIDE_NOS: f32 = 0.8;
/// The model codes every caller fuses, whatever number it shows: a model code the table
/// confirms can rise from tenth to first, so a caller asking for 3 codes gets the same first
/// three as the page, which shows 10.
pub const MODEL_POOL: usize = 10;
/// Below these, neither source is confident: [`Fused::low_confidence`].
pub const LOW_MODEL_SCORE: f32 = 0.3;
pub const LOW_MATCH: f32 = 0.65;

/// One code proposed by a statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Index into [`CodeTable::codes`] (a billable code).
    pub index: usize,
    /// The match, 0..=1 (see the module doc).
    pub score: f32,
    /// The statement's byte range in the note.
    pub span: (usize, usize),
    pub assertion: Assertion,
    /// The statement is the first reason given for the encounter (chief complaint, indication,
    /// preoperative diagnosis).
    pub reason: bool,
    /// The statement is from the postoperative (post-procedure) diagnosis.
    pub post: bool,
}

/// The codes the note's statements propose, best first, one entry per code (its best statement).
pub fn propose(table: &CodeTable, index: &SearchIndex, text: &str) -> Vec<Candidate> {
    propose_with(table, index, text, &Weights::SHIPPED)
}

/// [`propose`] with the statements' place weighed by `w` ([`Weights::order`]).
pub fn propose_with(table: &CodeTable, index: &SearchIndex, text: &str, w: &Weights) -> Vec<Candidate> {
    // Every statement's candidates, with whether its statement is the admitting diagnosis
    // ([`Statement::provisional`]).
    let mut all: Vec<(Candidate, Statement)> = Vec::new();
    let mut after_study = false;
    let note = assertion::Note::new(text);
    let words: Vec<String> = tokenize(text).collect();
    let said = |cues: &[&str]| cues.iter().any(|c| words.iter().any(|w| w == c || (c.len() >= 6 && w.starts_with(c))));
    let (newborn, pregnant) = (said(NEWBORN_CUES), said(PREGNANCY_CUES));
    // The words of the current item: a whole item comes before its parts (`push_with_parts`).
    let mut item_words: Vec<String> = Vec::new();
    // And what the current item says is absent ("no angina"), read once for it and its parts.
    let mut absent: Vec<String> = Vec::new();
    // Where the current item starts listing a treatment's risks ("The risks of surgery were
    // explained, including bleeding, infection, DVT, pulmonary embolism"): what follows is
    // hypothetical, however far from the cue.
    let mut risks_from = usize::MAX;
    for st in statements_in(text, note.sections(), w) {
        if st.item == st.span {
            item_words = statement_words(&affirmed(&text[st.item.0..st.item.1]));
            absent = denied(&text[st.item.0..st.item.1]);
            risks_from = risks_listed(&text[st.item.0..st.item.1]).map_or(usize::MAX, |at| st.item.0 + at);
        }
        if st.span.0 >= risks_from {
            continue;
        }
        let asserted = note.statement(st.span.0..st.span.1);
        let assert_weight = match asserted {
            Assertion::Negated | Assertion::Family | Assertion::Hypothetical => continue,
            Assertion::Uncertain if st.inpatient => 1.0,
            Assertion::Uncertain => 0.5,
            Assertion::Historical => 0.6,
            Assertion::Present => 1.0,
        };
        // A part's "without ..." defaults are judged by its whole item (`item_words`):
        // "hypertensive heart, and heart failure" names what "... without heart failure" excludes.
        let words = if st.item == st.span { item_words.clone() } else { statement_words(&affirmed(&text[st.span.0..st.span.1])) };
        // The sides the statement itself says ("both eyes" by its synonym too).
        let said = sides_said(&text[st.span.0..st.span.1], &words);
        // Words no title holds still say something the code must cover ("RLQ", "Colles"),
        // unless a synonym stood in for them; numbers and short tokens do not.
        let stmt_weight: f32 = words
            .iter()
            .map(|w| match index.word_weight(w) {
                _ if COURSE_WORDS.contains(&w.as_str()) => 0.0,
                Some(x) => x,
                None if w.len() >= 3 && w.chars().all(|c| c.is_alphabetic()) && !has_synonym(w) => UNKNOWN_WORD,
                None => 0.0,
            })
            .sum();
        if stmt_weight <= 0.0 {
            continue;
        }
        // The "without ..." defaults count before the floor and the cut: "gastritis" covers
        // too little of K29.70 "Gastritis, unspecified, without bleeding" on its words alone,
        // and would leave K29.71 "... with bleeding" as its only reading.
        // A term has its own words, not the title's "without ...": only a contradiction counts.
        let found = index.match_words(table, &words, MIN_RECALL * 0.5);
        let nos: Vec<usize> =
            found.iter().filter(|m| m.nos && !title_contradicted(&table.codes()[m.index].description, &item_words)).map(|m| m.index).collect();
        let mut matches: Vec<(f32, usize, f32)> = found
            .into_iter()
            .map(|m| {
                let title = &table.codes()[m.index].description;
                let recall = match m.by_term {
                    true if title_contradicted(title, &item_words) => 0.0,
                    true => m.recall,
                    false if table.codes()[m.index].chapter != 21 && !condition_named(index, title, &words) => 0.0,
                    false if with_denied(title, &absent) || !with_said(title, &words) || choice_said(title, &words) => 0.0,
                    false => {
                        let recall = recall_with_defaults(index, title, &words, &item_words, m.recall);
                        either_granted(index, title, &words, unspecified_granted(index, title, &words, recall))
                    }
                };
                // Laterality is coded as documented (I.B.13): a title of another side than
                // the one the statement says is not its reading ("bilateral" for "right").
                let title_sides = sides(title);
                let recall = if said.is_empty() || title_sides.iter().all(|x| said.contains(x)) { recall } else { 0.0 };
                (recall, m.index, m.weight)
            })
            .filter(|&(recall, _, _)| recall >= MIN_RECALL)
            .collect();
        // An "Other ..." code is for a kind the statement names; a statement that is a
        // sibling's "X NOS" term names none ("Osteoporosis": M81.0, not M81.8 "Other
        // osteoporosis without current pathological fracture").
        let nos_of: Vec<&str> = nos.iter().map(|&i| table.codes()[i].code.get(..3).unwrap_or("")).collect();
        for m in matches.iter_mut() {
            let code = &table.codes()[m.1];
            if code.description.starts_with("Other ") && nos_of.contains(&code.code.get(..3).unwrap_or("")) && !nos.contains(&m.1) {
                m.0 *= OTHER_BESIDE_NOS;
            }
        }
        // Stable: equal recalls keep match_words' order (shorter titles, then tabular order).
        matches.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (from, mut recalls) = (all.len(), Vec::new());
        for (recall, at, weight) in matches.into_iter().take(PER_STATEMENT * 4) {
            let precision = (weight / stmt_weight).min(1.0);
            let code = &table.codes()[at];
            // Chapters 15 and 16 are for pregnant patients and newborns only (guidelines
            // I.C.15.a, I.C.16.a): not proposed unless the note speaks of one.
            let title = code.description.to_lowercase();
            if (code.chapter == 16 || title.contains("newborn")) && !newborn {
                continue;
            }
            if (code.chapter == 15 || ["pregnan", "postpartum", "puerper"].iter().any(|w| title.contains(w))) && !pregnant {
                continue;
            }
            // A manifestation code ("... in diseases classified elsewhere", "... due to
            // conditions classified elsewhere") follows its underlying disease's (I.A.13): a
            // statement that matches its words names no disease ("Pneumonia" is no J17,
            // "Erectile dysfunction" no N52.1).
            if MANIFESTATION_TITLES.iter().any(|m| title.contains(m)) {
                continue;
            }
            // Diabetes of no stated type is type 2 (guideline I.C.4.a.2): type 1 (E10) and
            // "other specified" (E13) must be said by the statement's item.
            if !diabetes_type_said(&code.code, &text[st.item.0..st.item.1]) {
                continue;
            }
            // A seizure is a convulsion (R56) unless said to be epilepsy, a seizure disorder or
            // recurrent (the Index: Seizure R56.9, Seizure disorder G40.909): G40's "Other
            // seizures" is under "Epilepsy and recurrent seizures".
            if code.code.starts_with("G40") && !item_words.iter().any(|w| w.starts_with("epilep") || ["disorder", "recurrent", "status"].contains(&w.as_str()))
            {
                continue;
            }
            // A screening code is for a screening the statement names, not for the disease
            // itself ("colon cancer" is no screening for it; I.C.21.c.5).
            // Nor for a screening's positive result: a finding to code, not the encounter
            // ("Positive HIV screening test").
            let result = || words.iter().any(|w| ["positive", "abnormal", "reactive"].contains(&w.as_str()));
            if code.description.starts_with("Encounter for screening") && (result() || !words.iter().any(|w| w.starts_with("screen"))) {
                continue;
            }
            // "Adenocarcinoma of the sigmoid colon" is no benign neoplasm of it, nor a "benign"
            // tumour a malignant one.
            if !behaviour_agrees(&title, &text[st.span.0..st.span.1]) {
                continue;
            }
            let symptom = if code.chapter == 18 { SYMPTOM_RANK } else { 1.0 };
            // A later encounter or a sequela must be said; an injury seen without saying so is
            // the initial encounter (the 7th character A).
            // (A title may start with it: "Subsequent non-ST elevation (NSTEMI) myocardial infarction".)
            let lower_title = code.description.to_lowercase();
            let later = ["subsequent", "sequela"].iter().any(|w| lower_title.contains(w) && !words.iter().any(|x| x == w));
            // A personal history code is for a past condition: the statement says history
            // ("history of UTI", "h/o", "prior") or tells it as past; a current "urinary tract
            // infection" is no Z87.440 "Personal history of urinary (tract) infections".
            if code.description.starts_with("Personal history") && asserted != Assertion::Historical && !words.iter().any(|w| PAST_WORDS.contains(&w.as_str()))
            {
                continue;
            }
            // So is a family history code for a relative's: "hyperplastic polyp" is no Z83.711.
            if code.description.starts_with("Family history") && !words.iter().any(|w| FAMILY_WORDS.contains(&w.as_str())) {
                continue;
            }
            // A remission is documented, never assumed (E11.A, F10.11, C91.01).
            let remission = code.description.contains("remission") && !code.description.contains("not having achieved");
            if remission && !words.iter().any(|x| x == "remission") {
                continue;
            }
            // A complication of a procedure is one the note ties to it: "septic shock" is no
            // T81.12 "Postprocedural septic shock" (I.C.19.g: the link must be documented).
            let procedural = ["postprocedural", "intraoperative", "postoperative", "following a procedure"].iter().any(|w| lower_title.contains(w));
            let tied = |x: &String| PROCEDURE_WORDS.iter().any(|p| x.starts_with(p)) || ["ectomy", "otomy", "ostomy", "plasty"].iter().any(|e| x.ends_with(e));
            if procedural && !item_words.iter().any(tied) {
                continue;
            }
            // A fracture not said to be open is closed (I.C.19.c.1).
            if code.description.contains("open fracture") && !item_words.iter().any(|x| x == "open" || x == "compound") {
                continue;
            }
            // And an initial encounter is not what an item that tells the healing describes
            // ("..., closed, healing appropriately with routine healing at 4 weeks").
            let earlier = code.description.contains("initial encounter") && item_words.iter().any(|x| HEALING_WORDS.contains(&x.as_str()));
            let episode = if later || earlier { LATER_EPISODE } else { 1.0 };
            let quality = recall.powf(0.6) * precision.powf(0.4) * st.weight * assert_weight * symptom * episode;
            if quality < MIN_MATCH {
                continue;
            }
            after_study |= st.settled && asserted == Assertion::Present;
            let score = quality * st.rank;
            all.push((Candidate { index: at, score, span: st.span, assertion: asserted, reason: st.reason, post: st.post }, st));
            recalls.push(recall);
        }
        specific_over_unspecified(table, index, &words, &mut all[from..], &recalls);
    }
    // The categories the postoperative diagnosis asserts: the preoperative diagnosis's
    // unspecified codes of those yield, since the operation found what the postoperative one
    // says ("acute appendicitis", then "acute gangrenous appendicitis with perforation").
    // Others keep their weight: the postoperative one often only adds to it ("right upper lobe
    // adenocarcinoma", then "... with metastatic carcinoma in a hilar node", matched vaguer).
    let category_of = |c: &Candidate| category(&table.codes()[c.index].code);
    let found: Vec<&str> = all.iter().filter(|(c, st)| st.post && c.assertion == Assertion::Present).map(|(c, _)| category_of(c)).collect();
    // So do a reason's vague or default codes (a chief complaint's, an indication's) of the
    // categories the assessment, impression, plan's problems or a later diagnosis assert
    // ("Shingles is spreading", then "Disseminated zoster"; an endoscopy's "Ulcerative colitis
    // with increased rectal bleeding", then "Ulcerative pancolitis, ..., with rectal bleeding").
    let concluded = |st: &Statement| {
        matches!(st.kind, Some(SectionKind::Impression | SectionKind::Assessment | SectionKind::Plan)) || (st.kind == Some(SectionKind::Diagnosis) && !st.pre)
    };
    let seen: Vec<&str> = all.iter().filter(|(c, st)| concluded(st) && c.assertion == Assertion::Present).map(|(c, _)| category_of(c)).collect();
    // External cause codes go with an injury's (I.C.20): "activity assessment" is no Y93.9.
    let injury = all.iter().any(|(c, _)| table.codes()[c.index].chapter == 19);
    all.retain(|(c, _)| injury || table.codes()[c.index].chapter != 20);
    let mut best: HashMap<usize, Candidate> = HashMap::new();
    for (mut c, st) in all {
        let title = &table.codes()[c.index].description;
        if (st.provisional && after_study)
            || (st.pre && vague(title) && found.contains(&category_of(&c)))
            || (st.reason && vague_or_default(title) && seen.contains(&category_of(&c)))
        {
            c.score *= PROVISIONAL;
        }
        match best.get(&c.index) {
            Some(old) if old.score >= c.score => {}
            _ => {
                best.insert(c.index, c);
            }
        }
    }
    let mut out: Vec<Candidate> = best.into_values().collect();
    other_yields_to_named(table, index, text, &mut out);
    part_yields_to_whole(table, &mut out);
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    // At most PER_STATEMENT codes from each statement.
    let mut per: HashMap<(usize, usize), usize> = HashMap::new();
    out.retain(|c| {
        let n = per.entry(c.span).or_default();
        *n += 1;
        *n <= PER_STATEMENT
    });
    out
}

/// A word this rare among titles names a kind of its own ("Colles", "Barton", "Hashimoto"):
/// the natural log of (codes / titles holding it), so 5.0 is at most about 500 titles.
const NAMED_KIND: f32 = 5.0;

/// An "Other ..." code is for a kind its category does not name (the "other" codes, I.A.9.a):
/// when the statement names a kind a sibling's title holds ("Colles fracture of the right
/// distal radius": S52.531D, not "Other fractures of lower end of right radius", S52.591D),
/// the "Other" code ranks just below that sibling. The sibling must be the same encounter
/// (7th character) as the "Other" code.
fn other_yields_to_named(table: &CodeTable, index: &SearchIndex, text: &str, out: &mut [Candidate]) {
    let codes = table.codes();
    for i in 0..out.len() {
        let other = &codes[out[i].index];
        if !other.description.starts_with("Other ") {
            continue;
        }
        let other_words: Vec<String> = tokenize(&other.description).collect();
        let statement = statement_words(&text[out[i].span.0..out[i].span.1]);
        // "anemia" is no kind that "Other iron deficiency anemias" lacks.
        let in_other = |w: &str| other_words.iter().any(|o| o == w || o.strip_suffix('s') == Some(w) || w.strip_suffix('s') == Some(o.as_str()));
        let names_a_kind =
            |title: &str| tokenize(title).any(|w| !in_other(&w) && statement.contains(&w) && index.word_weight(&w).is_some_and(|x| x >= NAMED_KIND));
        let same_encounter = |code: &str| other.code.len() < 8 || code.get(7..) == other.code.get(7..);
        let named = out
            .iter()
            .filter(|s| s.index != out[i].index)
            .map(|s| (s, &codes[s.index]))
            .filter(|(_, s)| s.code.get(..3) == other.code.get(..3) && same_encounter(&s.code) && names_a_kind(&s.description))
            .map(|(s, _)| s.score)
            .reduce(f32::max);
        if let Some(named) = named.filter(|&n| n <= out[i].score) {
            out[i].score = named * 0.999;
        }
    }
}

/// Degrees a title may name, one excluding the others.
const DEGREES: &[&str] = &["mild", "moderate", "severe"];

/// The [`DEGREES`] among lower-case words.
fn degrees(words: impl Iterator<Item = String>) -> Vec<String> {
    words.filter(|w| DEGREES.contains(&w.as_str())).collect()
}
/// Phrases that open a list of a treatment's possible harms.
const RISK_CUES: &[&str] = &[
    "risks",
    "complications include",
    "complications including",
    "complications such as",
    "possible complications",
    "potential complications",
    "side effects",
];

/// The byte where `item` starts listing risks (after its first [`RISK_CUES`] phrase), if it does.
fn risks_listed(item: &str) -> Option<usize> {
    let lower = item.to_ascii_lowercase();
    RISK_CUES
        .iter()
        .filter_map(|c| {
            lower.match_indices(c).map(|(i, _)| i).find(|&i| {
                let before = lower[..i].chars().next_back().is_none_or(|ch| !ch.is_alphanumeric());
                let after = lower[i + c.len()..].chars().next().is_none_or(|ch| !ch.is_alphanumeric());
                before && after
            })
        })
        .min()
        .map(|i| i + 1)
}

/// A title that leaves its kind open: "... unspecified", "Unspecified ...", "Other ...".
pub(crate) fn vague(title: &str) -> bool {
    title.contains("nspecified") || title.starts_with("Other ")
}

/// A vague title or its category's default: "without complications" says as little as
/// "unspecified" ("Ulcerative pancolitis" of "..., with rectal bleeding" is no K51.00).
fn vague_or_default(title: &str) -> bool {
    vague(title) || title.contains("without complications")
}

/// An unspecified code yields to a code of its category that the same statement says in
/// full, every word of its title, when that code says more of the statement (codes are reported
/// to the specificity documented, guideline I.B.2): "R tubal ectopic pregnancy" is O00.101
/// "Right tubal pregnancy without intrauterine pregnancy", though O00.90 "Unspecified ectopic
/// pregnancy ..." shares its rarest word (its ancestor O00 "Ectopic pregnancy" says it). Not when
/// the other code says less ("Nausea and vomiting" is R11.2, not R11.0 "Nausea").
/// `found` are one statement's candidates, `recalls` how much of each title it covers.
fn specific_over_unspecified(table: &CodeTable, index: &SearchIndex, words: &[String], found: &mut [(Candidate, Statement)], recalls: &[f32]) {
    let codes = table.codes();
    let unspecified = |t: &str| t.contains("nspecified") && !t.starts_with("Other ");
    // The statement's words a title says (filler aside).
    let covered =
        |title: &str| -> Vec<String> { tokenize(&unbracketed(title)).filter(|t| index.word_weight(t).is_some_and(|w| w > 0.0) && says(words, t)).collect() };
    for i in 0..found.len() {
        let vague_code = &codes[found[i].0.index];
        if !unspecified(&vague_code.description) {
            continue;
        }
        let vague_words = covered(&vague_code.description);
        let specific = found
            .iter()
            .zip(recalls)
            .filter(|((c, _), &r)| r >= 0.999 && codes[c.index].code.get(..3) == vague_code.code.get(..3) && !vague(&codes[c.index].description))
            .filter(|((c, _), _)| {
                let code = &codes[c.index];
                let own = covered(&code.description);
                let lineage: Vec<String> =
                    std::iter::once(code).chain(table.ancestors(code)).flat_map(|a| tokenize(&a.description).collect::<Vec<_>>()).collect();
                own.iter().any(|w| !vague_words.contains(w)) && vague_words.iter().all(|w| says(&lineage, w))
            })
            .map(|((c, _), _)| c.score)
            .reduce(f32::max);
        if let Some(s) = specific.filter(|&s| s < found[i].0.score) {
            found[i].0.score = s * 0.999;
        }
    }
}

/// A vague code ("unspecified", "Other ...") from a piece of an item yields to a code of its
/// category that a longer statement holding the piece proposes: "Acute pancreatitis" alone is
/// K85.90, but its item says "Acute pancreatitis, alcohol-induced" (K85.20). (Across
/// statements the same rule lifted every set's "Other" codes; within one item the longer
/// statement speaks of the same condition.) Or a code of another category that refines it:
/// "Meningitis, most likely viral" is A87.9 "Viral meningitis, unspecified", not G03.9.
fn part_yields_to_whole(table: &CodeTable, out: &mut [Candidate]) {
    let codes = table.codes();
    for i in 0..out.len() {
        if !vague_or_default(&codes[out[i].index].description) {
            continue;
        }
        let (span, category) = (out[i].span, codes[out[i].index].code.get(..3));
        let whole = out
            .iter()
            .filter(|w| w.span.0 <= span.0 && span.1 <= w.span.1 && w.span != span && matches!(w.assertion, Assertion::Present | Assertion::Uncertain))
            .filter(|w| {
                let title = &codes[w.index].description;
                (codes[w.index].code.get(..3) == category && !vague(title)) || refines(&codes[out[i].index].description, title)
            })
            .map(|w| w.score)
            .reduce(f32::max);
        if let Some(w) = whole.filter(|&w| w < out[i].score) {
            out[i].score = w * 0.999;
        }
    }
}

/// A statement without what it says is absent: each clause (between commas and semicolons) cut
/// at "no", "not", "without", "w/o", "denies" or "negative for". "CAD s/p stent, no angina" names no
/// angina for I25.110 "... with unstable angina" to cover, and leaves I25.10's "without angina
/// pectoris" met by default.
fn affirmed(statement: &str) -> String {
    clauses_cut(statement).into_iter().map(|(said, _)| said).collect::<Vec<_>>().join(", ")
}

/// The words a statement says are absent: what [`affirmed`] cuts off ("no angina").
fn denied(statement: &str) -> Vec<String> {
    clauses_cut(statement).into_iter().flat_map(|(_, absent)| tokenize(&absent).collect::<Vec<_>>()).collect()
}

/// Each clause of `statement` cut at its first absence word: (what it says, what it denies).
fn clauses_cut(statement: &str) -> Vec<(String, String)> {
    statement
        .split([',', ';'])
        .map(|clause| {
            let words: Vec<&str> = clause.split_whitespace().collect();
            let lower: Vec<String> = words.iter().map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '/').to_lowercase()).collect();
            let cut = (0..words.len())
                .find(|&i| {
                    ["no", "not", "without", "w/o", "denies", "denied"].contains(&lower[i].as_str())
                        || (lower[i] == "negative" && lower.get(i + 1).is_some_and(|w| w == "for"))
                })
                .unwrap_or(words.len());
            (words[..cut].join(" "), words[cut..].join(" "))
        })
        .collect()
}

/// Whether a title's "with ..." names what the statement says is absent: "CAD, no angina" is
/// no "... with unstable angina pectoris".
fn with_denied(title: &str, denied: &[String]) -> bool {
    !denied.is_empty() && with_words(title).is_some_and(|with| with.iter().any(|w| denied.contains(w)))
}

/// The words of a title's "with ..." part that name something (not [`GENERIC`]), up to a
/// "without" ("... with ketoacidosis without coma": "ketoacidosis"); `None` with no "with".
fn with_words(title: &str) -> Option<Vec<String>> {
    let lower = title.to_lowercase();
    let with = &lower[lower.find(" with ")? + 6..];
    let with = with.find(" without ").map_or(with, |end| &with[..end]);
    Some(tokenize(with).filter(|w| !GENERIC.contains(&w.as_str())).collect())
}

/// Whether the statement says something of a title's "with ..." (up to a "without"): "mild
/// CAD" is no "... with unstable angina pectoris", "type 2 diabetes" no "... with
/// hyperglycemia". A title with no "with", or whose "with" part is all generic, passes.
fn with_said(title: &str, words: &[String]) -> bool {
    with_words(title).is_none_or(|with| with.is_empty() || with.iter().any(|c| says(words, c)))
}

/// The sides a text names, of "left", "right" and "bilateral".
fn sides(text: &str) -> Vec<&'static str> {
    let words: Vec<String> = tokenize(text).collect();
    ["left", "right", "bilateral"].into_iter().filter(|s| words.iter().any(|w| w == s)).collect()
}

/// The sides a statement says, in words or in the abbreviations charts use: "R" / "Rt" and
/// "L" / "Lt" (in capitals, or "rt" / "lt"), and an eye's "OD", "OS", "OU" (in capitals: "od"
/// is also "once daily").
fn said_sides(statement: &str) -> Vec<&'static str> {
    let mut out = sides(statement);
    for t in statement.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()) {
        let side = match t {
            "R" | "Rt" | "RT" | "rt" | "OD" => "right",
            "L" | "Lt" | "LT" | "lt" | "OS" => "left",
            "OU" => "bilateral",
            _ => continue,
        };
        if !out.contains(&side) {
            out.push(side);
        }
    }
    out
}

/// The sides a statement says, in words, abbreviations ([`said_sides`]) or its words' synonyms
/// ("both eyes"), "left and right" as bilateral too.
fn sides_said(statement: &str, words: &[String]) -> Vec<&'static str> {
    let mut said = said_sides(statement);
    for side in ["left", "right", "bilateral"] {
        if !said.contains(&side) && words.iter().any(|w| w == side) {
            said.push(side);
        }
    }
    with_bilateral(said)
}

/// `sides` where "left and right" is bilateral too.
fn with_bilateral(mut sides: Vec<&'static str>) -> Vec<&'static str> {
    if sides.contains(&"left") && sides.contains(&"right") && !sides.contains(&"bilateral") {
        sides.push("bilateral");
    }
    sides
}

/// Whether `item` says the diabetes type that `code` claims: E10 (type 1) and E13 (other
/// specified, secondary) need their words; other codes need nothing.
fn diabetes_type_said(code: &str, item: &str) -> bool {
    let cues: &[&str] = match code.get(..3) {
        Some("E10") => {
            &["type 1 ", "type 1,", "type i ", "type i,", "type-1", "t1dm", "iddm", "juvenile", "insulin-dependent", "insulin dependent", "dm1 ", "dm 1 "]
        }
        Some("E13") => &["other specified", "secondary diabetes", "steroid", "induced", "post-pancreatectomy", "postpancreatectomy", "mody", "monogenic"],
        _ => return true,
    };
    // A space after the item lets "type 1 " end it; not "type 10".
    let item = format!("{} ", item.to_lowercase().replace(['.', ';', ':', ')'], " "));
    cues.iter().any(|c| item.contains(c))
}

/// Words that make a statement's neoplasm malignant.
pub(crate) const MALIGNANT: &[&str] = &[
    "malignan",
    "cancer",
    "carcinoma",
    "sarcoma",
    "melanoma",
    "lymphoma",
    "leukemia",
    "leukaemia",
    "myeloma",
    "metasta",
    "blastoma",
    "mesothelioma",
    "seminoma",
];

/// Whether lower-case `text` names a malignancy by a word other than a metastasis's
/// ("carcinoma", "lymphoma"): a primary, where "metastatic to the liver" names none.
pub(crate) fn names_primary(text: &str) -> bool {
    MALIGNANT.iter().filter(|w| **w != "metasta").any(|w| text.contains(w))
}

/// Whether a code's title (lower case) and a statement agree on a neoplasm's behaviour: a
/// benign title needs a statement that is not malignant, a malignant title one that does not
/// call it benign.
///
/// A statement whose only malignancy is a metastasis ("Metastases to the bone, thoracic spine")
/// names no primary: a primary's title (C76.1 "Malignant neoplasm of thorax") does not agree.
/// Nor does one for the site a statement says it spread to ("metastatic carcinoma to the
/// frontal lobe" is no C71.1; the Neoplasm Table's secondary column).
fn behaviour_agrees(title: &str, statement: &str) -> bool {
    let statement = statement.to_lowercase();
    let malignant = MALIGNANT.iter().any(|w| statement.contains(w));
    let benign = statement.contains("benign");
    let metastasis_only = tokenize(&statement).any(|w| ["metastasis", "metastases", "mets"].contains(&w.as_str())) && !names_primary(&statement);
    // "Metastatic carcinoma to the left frontal lobe": the site it spread to is a secondary one.
    let spread_to = statement.find("metasta").is_some_and(|at| {
        let rest = &statement[at..];
        rest.find(" to ").is_some_and(|to| !rest[..to].contains(" from "))
    });
    if title.contains("benign neoplasm") {
        benign || !malignant
    } else if title.contains("malignant neoplasm") {
        // "Not specified as primary or secondary" is not what a statement of spread says.
        let secondary = title.contains("secondary") && !title.contains("primary or secondary");
        (malignant || !benign) && (!(metastasis_only || spread_to) || secondary)
    } else {
        true
    }
}

/// `recall` with a title's "without ..." words counted as covered when the statement does not
/// name them: absence is the default ("diverticulitis with abscess" is K57.20 "... without
/// bleeding", not K57.21 "... with bleeding"); a title whose "without ..." the statement names
/// is refused (recall 0).
/// The defaults only complete a title whose condition (its words before "without") `said`, the
/// statement's words, mostly name: "right knee" is no "Laceration without foreign body, right
/// knee". `words` are its item's.
fn recall_with_defaults(index: &SearchIndex, title: &str, said: &[String], words: &[String], recall: f32) -> f32 {
    // Most titles have no "without": skip the lower-casing and tokenizing.
    if !title.contains("without") {
        return recall;
    }
    let Some(Without { before, clause, outside }) = without_clause(title) else { return recall };
    let weight = |t: &String| index.word_weight(t).unwrap_or(0.0);
    let total = title_weight(index, title);
    if total <= 0.0 {
        return recall;
    }
    if excluded_named(&outside, &clause, words) {
        return 0.0;
    }
    let mut distinct = before.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let condition: f32 = distinct.iter().map(weight).sum();
    if distinct.iter().filter(|t| named(said, t)).map(weight).sum::<f32>() < MIN_RECALL * condition {
        return recall;
    }
    let granted: f32 = clause.iter().filter(|t| !named(words, t)).map(weight).sum();
    (recall + granted / total).min(1.0)
}

/// A title's unspecified organism is what a statement that names none says: "Pneumonia,
/// unspecified organism" (J18.9) is "pneumonia", as the Alphabetic Index has it. (Granting
/// every "unspecified" slot, "of unspecified eye" or "part", raised far too many titles.)
fn unspecified_granted(index: &SearchIndex, title: &str, words: &[String], recall: f32) -> f32 {
    if recall >= 1.0 || !title.ends_with(", unspecified organism") || says(words, "organism") {
        return recall;
    }
    let total = title_weight(index, title);
    if total <= 0.0 {
        return recall;
    }
    (recall + index.word_weight("organism").unwrap_or(0.0) / total).min(1.0)
}

/// A title's "and" means "and/or" (guideline I.A.14): "Pelvic and perineal pain, left side" is
/// a left pelvic pain, "Hydronephrosis with renal and ureteral calculous obstruction" a ureteral
/// one. The word of an "A and B" pair that a statement leaves out counts as said, when the
/// statement says the other and every other word of the title: a pelvic lymph node is no
/// "Unspecified parametritis and pelvic cellulitis". Not for an "Other ..." title (a kind the
/// statement would name: "femoral neck" is no "Other fracture of head and neck of femur"), nor
/// where the title says "both" ("... of both small and large intestine").
fn either_granted(index: &SearchIndex, title: &str, words: &[String], recall: f32) -> f32 {
    if recall >= 1.0 || !title.contains(" and ") || title.starts_with("Other ") {
        return recall;
    }
    let tokens: Vec<String> = tokenize(title).collect();
    if tokens.iter().any(|t| t == "both") {
        return recall;
    }
    let mut granted: Vec<&String> = Vec::new();
    for pair in tokens.windows(3).filter(|w| w[1] == "and") {
        let (a, b) = (&pair[0], &pair[2]);
        if GENERIC.contains(&a.as_str()) || GENERIC.contains(&b.as_str()) {
            continue;
        }
        match (says(words, a), says(words, b)) {
            (true, false) => granted.push(b),
            (false, true) => granted.push(a),
            _ => {}
        }
    }
    let weight = |t: &String| index.word_weight(t).unwrap_or(0.0);
    // What a title leaves open ("..., unspecified side") is not for the statement to say; an
    // organ of unspecified side ("... of unspecified ear") still is.
    let left_open = |i: usize| i > 0 && tokens[i - 1] == "unspecified" && ["side", "site", "type", "organism", "region"].contains(&tokens[i].as_str());
    let rest_said = tokens
        .iter()
        .enumerate()
        .filter(|&(i, t)| !granted.contains(&t) && weight(t) > 0.0 && !GENERIC.contains(&t.as_str()) && !left_open(i))
        .all(|(_, t)| says_stem(words, t));
    let total = title_weight(index, title);
    if granted.is_empty() || !rest_said || total <= 0.0 {
        return recall;
    }
    granted.sort_unstable();
    granted.dedup();
    (recall + granted.into_iter().map(weight).sum::<f32>() / total).min(1.0)
}

/// The weight of a title's distinct words, in the order they first come.
fn title_weight(index: &SearchIndex, title: &str) -> f32 {
    let mut seen: Vec<String> = Vec::new();
    tokenize(title)
        .filter(|t| {
            let new = !seen.contains(t);
            if new {
                seen.push(t.clone());
            }
            new
        })
        .map(|t| index.word_weight(&t).unwrap_or(0.0))
        .sum()
}

/// A title's words before its "without ...", and the clause: from "without" to the next "with"
/// (a new positive fact), "in remission", comma or the end ("... without myelopathy or radiculopathy,
/// cervical region": the region is no part of what is excluded).
fn without_clause(title: &str) -> Option<Without> {
    let lower = title.to_lowercase();
    let at = lower.match_indices("without").map(|(i, _)| i).find(|&i| i == 0 || lower[..i].ends_with([' ', ',', '(']))?;
    // "... without complications in remission" (E11.A): the remission is a fact to be said.
    let clause = lower[at..].split(',').next().unwrap_or("");
    let clause = clause.split(" in remission").next().unwrap_or(clause);
    let before: Vec<String> = tokenize(&lower[..at]).collect();
    let clause: Vec<String> = tokenize(clause).take_while(|t| t != "with").collect();
    let mut outside = before.clone();
    outside.extend(tokenize(&lower[at..]).skip(clause.len()));
    Some(Without { before, clause, outside })
}

/// A title's "without ..." clause ([`without_clause`]).
struct Without {
    /// The words before it: the condition it completes.
    before: Vec<String>,
    /// "without" and what it excludes.
    clause: Vec<String>,
    /// Every title word outside the clause: ", right ear" after "without ... of ear drum".
    outside: Vec<String>,
}

/// The statement's words name `t` (or its plural or singular).
fn named(words: &[String], t: &String) -> bool {
    words.iter().any(|w| w == t || w.strip_suffix('s') == Some(t.as_str()) || t.strip_suffix('s') == Some(w.as_str()))
}

/// A statement that names what the title's "without ..." clause excludes contradicts it
/// ("hypertensive heart disease and heart failure" is not "... without heart failure"),
/// unless it says "without" (or "no") itself. A word the title has outside the clause too
/// does not count ("right ear" for "... without spontaneous rupture of ear drum, right ear").
fn excluded_named(outside: &[String], clause: &[String], words: &[String]) -> bool {
    let says_without = words.iter().any(|w| ["without", "no", "w/o"].contains(&w.as_str()));
    !says_without && clause.iter().skip(1).any(|t| named(words, t) && !outside.contains(t))
}

/// Whether a statement's words contradict a title's "without ..." clause.
fn title_contradicted(title: &str, words: &[String]) -> bool {
    without_clause(title).is_some_and(|w| excluded_named(&w.outside, &w.clause, words)) || choice_said(title, words) || not_specified_said(title, words)
}

/// Whether a title "..., not specified as X" is for a statement that says X: "recurrent right
/// inguinal hernia" is K40.91 "..., recurrent", not K40.90 "..., not specified as recurrent".
fn not_specified_said(title: &str, words: &[String]) -> bool {
    let lower = title.to_lowercase();
    let Some(at) = lower.find("not specified as ") else { return false };
    let rest = &lower[at + "not specified as ".len()..];
    let named = rest.split(',').next().unwrap_or(rest);
    let first = tokenize(named).next();
    first.is_some_and(|w| says(words, &w))
}

/// Whether a title "unspecified as to A versus B" is for a statement that says A or B: "partial
/// small bowel obstruction" is K56.51 "... with partial obstruction", not K56.50 "...,
/// unspecified as to partial versus complete obstruction".
fn choice_said(title: &str, words: &[String]) -> bool {
    let lower = title.to_lowercase();
    // A statement that says "versus" itself leaves the choice open.
    let Some(at) = lower.find("unspecified as to ").filter(|_| !says(words, "versus")) else { return false };
    let rest = &lower[at + "unspecified as to ".len()..];
    let Some((a, b)) = rest.split_once(" versus ") else { return false };
    let first = |s: &str| tokenize(s).next();
    [a.split_whitespace().last().map(str::to_string), first(b)].into_iter().flatten().any(|w| says(words, &w))
}

/// A code's 3-character category ("J45.909": "J45").
pub(crate) fn category(code: &str) -> &str {
    code.get(..3).unwrap_or(code)
}

/// The model's suggestions and the table's in one ranked list of at most `top_k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    pub codes: Vec<CodedLabel>,
    /// Neither the model's first code nor any statement's match is confident.
    pub low_confidence: bool,
}

impl Fused {
    /// The model's codes alone (no code table), with the low-confidence flag.
    pub fn model_only(codes: Vec<CodedLabel>) -> Fused {
        let low_confidence = is_low_confidence(&codes);
        Fused { codes, low_confidence }
    }
}

/// How the model's codes and the table's weigh against each other in [`fuse`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// A table code ranks at this share of its match against the model's scores.
    pub table_rank: f32,
    /// A statement that names a model code confirms it: `1 - (1 - model) × (1 - match × confirm)`.
    pub confirm: f32,
    /// A statement that names only a model code's category raises it by this share of the
    /// way to its match.
    pub category: f32,
    /// A model code scored at least this keeps its place against a same-category table code
    /// that matches the statement better.
    pub stand_in_below: f32,
    /// Each later item of a diagnostic section ranks at this much of the one before (its
    /// match still decides whether it proposes a code): the first-listed diagnosis comes
    /// first (guideline IV.A).
    pub order: f32,
    /// A table code whose statement already gave a code ranked above it (another reading of
    /// the same words: E11.8 under E11.9) ranks at this share: each problem's best code
    /// comes before the alternatives of the first one.
    pub alternative: f32,
}

impl Weights {
    /// The weights every caller uses, chosen with `icd-bench fusion` (BENCHMARKS.md).
    pub const SHIPPED: Weights = Weights { table_rank: 0.7, confirm: 0.7, category: 0.2, stand_in_below: 0.3, order: 0.6, alternative: 0.5 };
}

impl Default for Weights {
    fn default() -> Self {
        Weights::SHIPPED
    }
}

/// [`propose`] then [`fuse`]: what every caller with a code table does with a note's model codes.
pub fn fuse_note(table: &CodeTable, index: &SearchIndex, text: &str, model: Vec<CodedLabel>, top_k: usize) -> Fused {
    let w = Weights::SHIPPED;
    fuse_with(table, text, model, &propose_with(table, index, text, &w), top_k, &w)
}

/// [`fuse_with`] the shipped [`Weights`].
pub fn fuse(table: &CodeTable, text: &str, model: Vec<CodedLabel>, candidates: &[Candidate], top_k: usize) -> Fused {
    fuse_with(table, text, model, candidates, top_k, &Weights::SHIPPED)
}

/// Merges `model` (the model's suggestions, its order) with `candidates` ([`propose`]), adds
/// specificity options from the table, and keeps `top_k`.
pub fn fuse_with(table: &CodeTable, text: &str, model: Vec<CodedLabel>, candidates: &[Candidate], top_k: usize, w: &Weights) -> Fused {
    let codes = table.codes();
    let by_code: HashMap<&str, &Candidate> = candidates.iter().map(|c| (codes[c.index].code.as_str(), c)).collect();
    let mut ranked: Vec<(f32, CodedLabel)> = Vec::with_capacity(model.len() + candidates.len());
    for mut m in model {
        let same = by_code.get(m.code.as_str()).map(|c| c.score);
        let cat = candidates.iter().filter(|c| category(&codes[c.index].code) == category(&m.code)).map(|c| c.score).reduce(f32::max);
        let agree = same.or(cat).unwrap_or(0.0);
        if let Some(c) = by_code.get(m.code.as_str()) {
            m.source = Source::Both;
            if !m.evidence.iter().any(|e| e.start == c.span.0 && e.end == c.span.1) {
                m.evidence.push(span_of(text, c));
            }
        }
        // Both sources name the code: either suffices (noisy-or). Only the category: a nudge.
        let key = match same {
            Some(t) => 1.0 - (1.0 - m.score) * (1.0 - t * w.confirm),
            None => m.score + (1.0 - m.score) * w.category * agree,
        };
        ranked.push((key, m));
    }
    for c in candidates {
        let code = &codes[c.index];
        if ranked.iter().any(|(_, m)| m.code == code.code) {
            continue;
        }
        // The model knows the category, the statement names the code: when the model is unsure
        // of its code (or its code is the unspecified one), a table code of the same category
        // that matches the statement better takes its place, just above it. A confident model
        // keeps its code: within a category it learnt the deciding words, the title match did not.
        let own_match = |m: &CodedLabel| by_code.get(m.code.as_str()).map_or(0.0, |x| x.score);
        let rivals: Vec<(f32, &CodedLabel)> = ranked
            .iter()
            .filter(|(_, m)| {
                m.source != Source::Table && (category(&m.code) == category(&code.code) || refines(&m.description, &code.description)) && c.score > own_match(m)
            })
            .map(|(k, m)| (*k, m))
            .collect();
        let stand_in = if rivals.is_empty() {
            None
        } else {
            // An "unspecified" model code yields to a code the statement specifies, however
            // sure the model is (code to the highest specificity documented, I.B.1 and IV.D),
            // when the statement's match is confident. The side must be said, not taken from
            // elsewhere in the item; a statement that says "NOS" asks for the unspecified code.
            let said = text[c.span.0..c.span.1].to_lowercase();
            let title = code.description.to_lowercase();
            let (said_sides, title_sides) = (said_sides(&text[c.span.0..c.span.1]), sides(&title));
            let sided = title_sides.iter().all(|side| said_sides.contains(side));
            let specific = sided && !title.contains("unspecified");
            let asks_unspecified = said.contains("unspecified") || said.contains("not otherwise specified") || tokenize(&said).any(|w| w == "nos");
            // "Without complications" is the category's default as much as "unspecified":
            // "Disseminated zoster" is no "Zoster without complications".
            let vaguer = |m: &CodedLabel| {
                let theirs = m.description.to_lowercase();
                c.score >= LOW_MATCH && specific && !asks_unspecified && (theirs.contains("unspecified") || theirs.contains("without complications"))
            };
            // A model code whose "without ..." the statement names is wrong, however sure the
            // model is: "acute calculous cholecystitis" is no "calculus ... without cholecystitis".
            let statement = statement_words(&said);
            let contradicted = |m: &CodedLabel| title_contradicted(&m.description, &statement);
            // So is a model code of another side than the statement says ("bilateral" for
            // "cataract of the right eye"), when this code's side is the one said.
            let stated = with_bilateral(said_sides);
            let own_side = with_bilateral(title_sides);
            // And a model code of no side ("... of unspecified femur") when the statement's
            // match, confident, names the side: laterality is coded when documented (I.B.13),
            // though the part of the bone stays unspecified in both.
            let side_said = !own_side.is_empty() && own_side.iter().all(|x| stated.contains(x));
            let not_the_side_said = |m: &CodedLabel| {
                let their_title = m.description.to_lowercase();
                let theirs = with_bilateral(sides(&their_title));
                let unsided = c.score >= LOW_MATCH && !asks_unspecified && theirs.is_empty() && their_title.contains("unspecified");
                side_said && (theirs.iter().any(|x| !stated.contains(x)) || unsided)
            };
            // And a model code of another degree than the statement says ("mild stage" for
            // "moderate stage"), when this code's degree is the one said.
            let said_degrees = degrees(statement.iter().cloned());
            let degree_said = said_degrees.len() == 1 && degrees(tokenize(&title)) == said_degrees;
            let not_the_degree_said = |m: &CodedLabel| {
                let theirs = degrees(tokenize(&m.description));
                degree_said && !theirs.is_empty() && theirs != said_degrees
            };
            rivals
                .iter()
                .filter(|(_, m)| m.score < w.stand_in_below || vaguer(m) || contradicted(m) || not_the_side_said(m) || not_the_degree_said(m))
                .map(|(k, _)| *k + 1e-4)
                .reduce(f32::max)
        };
        ranked.push((
            stand_in.unwrap_or(0.0).max(c.score * w.table_rank),
            CodedLabel {
                evidence: vec![span_of(text, c)],
                source: Source::Table,
                ..CodedLabel::new(code.code.clone(), code.description.clone(), code.chapter, c.score)
            },
        ));
    }
    // Both sources name an "unspecified" code and a specific one of its category (F33.9
    // "recurrent, unspecified" and F33.1 "recurrent, moderate"): the one a statement specifies,
    // confidently and better than the other's, goes first (I.B.1, IV.D).
    let matched = |m: &CodedLabel| by_code.get(m.code.as_str()).map(|c| c.score);
    for i in 0..ranked.len() {
        for j in 0..ranked.len() {
            let (u, s) = (&ranked[i].1, &ranked[j].1);
            if i == j || u.source != Source::Both || s.source != Source::Both || category(&u.code) != category(&s.code) {
                continue;
            }
            let (Some(mu), Some(ms)) = (matched(u), matched(s)) else { continue };
            // The specific code says all the unspecified one does: F33.1 refines F33.9, while
            // F10.20 "Alcohol dependence, uncomplicated" is no F10.239 "... with withdrawal,
            // unspecified".
            if ms < LOW_MATCH || ms <= mu || ranked[i].0 < ranked[j].0 {
                continue;
            }
            let (vague, specific) = (u.description.to_lowercase(), s.description.to_lowercase());
            if vague.contains("unspecified") && !specific.contains("unspecified") && refines(&vague, &specific) {
                ranked[j].0 = ranked[i].0 + 1e-4;
            }
        }
    }
    // A code whose Excludes1 note names another code the same statement gave, and matched
    // better, yields to it: the note says where that condition is coded ("Bleeding
    // gastric ulcer" is K25.4, and K92.2 excludes peptic ulcer with hemorrhage).
    // So does the reason's code to a later statement's confident one ("osteoporosis" in the
    // indication, "osteoporotic compression fracture" in the impression: M81 excludes M80).
    // The postoperative diagnosis needs less: it is what the operation found (IV.M), and the
    // preoperative "Lumbar radiculopathy" is the "disc herniation with L5 radiculopathy" M54.1
    // excludes (M51.1-).
    let span_of_match = |m: &CodedLabel| by_code.get(m.code.as_str()).map(|c| (c.span, c.score, c.reason, c.post));
    for i in 0..ranked.len() {
        let Some((span, score, reason, _)) = span_of_match(&ranked[i].1) else { continue };
        let directed = (0..ranked.len())
            .filter(|&j| j != i && ranked[j].0 < ranked[i].0)
            .filter(|&j| {
                span_of_match(&ranked[j].1).is_some_and(|(s, x, r, post)| {
                    (s == span && x > score && x >= DIRECTED_MATCH) || (reason && !r && s.0 > span.1 && x >= if post { DIRECTED_MATCH } else { LOW_MATCH })
                })
            })
            .filter(|&j| crate::rules::excludes1(table, &ranked[i].1.code, &ranked[j].1.code))
            .collect::<Vec<_>>();
        for j in directed {
            ranked[j].0 = ranked[i].0 + 1e-4;
        }
    }
    // A model code no statement confirms yields to a statement's code when that statement
    // speaks of the model's condition (the word before its "without") and names what the
    // "without ..." excludes: "incarcerated umbilical hernia with small bowel obstruction" is
    // K42.0, not the model's "Unilateral inguinal hernia, without obstruction or gangrene".
    for i in 0..ranked.len() {
        if ranked[i].1.source != Source::Model {
            continue;
        }
        let Some(clause) = without_clause(&ranked[i].1.description) else { continue };
        let Some(head) = clause.before.last() else { continue };
        let contradicts = |(s, x, _, _): ((usize, usize), f32, bool, bool)| {
            let words = statement_words(&text[s.0..s.1]);
            x >= DIRECTED_MATCH && named(&words, head) && excluded_named(&clause.outside, &clause.clause, &words)
        };
        let best = (0..ranked.len())
            .filter(|&j| j != i && ranked[j].0 < ranked[i].0 && span_of_match(&ranked[j].1).is_some_and(contradicts))
            .max_by(|&a, &b| ranked[a].0.total_cmp(&ranked[b].0));
        if let Some(j) = best {
            ranked[j].0 = ranked[i].0 + 1e-4;
        }
    }
    // Another reading of a statement that already gave a better-ranked code yields.
    if w.alternative < 1.0 {
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut seen: Vec<(usize, usize)> = Vec::new();
        for (k, m) in ranked.iter_mut() {
            let Some(span) = m.evidence.last().filter(|_| m.source != Source::Model).map(|e| (e.start, e.end)) else { continue };
            if seen.contains(&span) && m.source == Source::Table {
                *k *= w.alternative;
            } else {
                seen.push(span);
            }
        }
    }
    // The guidelines' sequencing and combination rules (screening, chemotherapy and aftercare
    // encounters first, primary malignancy before secondary, the birth stay, combinations).
    sequencing::apply(table, text, candidates, &mut ranked);
    // Demoted codes (the note denies them) stay below the rest, as the model's ranking has them.
    ranked.sort_by(|a, b| a.1.demoted.is_some().cmp(&b.1.demoted.is_some()).then(b.0.total_cmp(&a.0)));
    ranked.truncate(top_k);
    let mut out: Vec<CodedLabel> = ranked.into_iter().map(|(_, c)| c).collect();
    for c in &mut out {
        c.specificity = specificity::refine(table, &c.code);
    }
    let low_confidence = is_low_confidence(&out);
    Fused { codes: out, low_confidence }
}

/// Whether the `specific` title says every word of the `vague` one but "unspecified": F33.1
/// "... recurrent, moderate" refines F33.9 "... recurrent, unspecified", and M05.79
/// "Rheumatoid arthritis with rheumatoid factor of multiple sites ..." refines M06.9
/// "Rheumatoid arthritis, unspecified" across categories.
fn refines(vague: &str, specific: &str) -> bool {
    let specific: Vec<String> = tokenize(specific).collect();
    vague.to_lowercase().contains("unspecified") && tokenize(vague).all(|w| w == "unspecified" || specific.contains(&w))
}

/// No model code at [`LOW_MODEL_SCORE`] or more and no table match at [`LOW_MATCH`] or more.
pub fn is_low_confidence(codes: &[CodedLabel]) -> bool {
    !codes.iter().any(|c| match c.source {
        Source::Model | Source::Both => c.score >= LOW_MODEL_SCORE || c.source == Source::Both,
        Source::Table => c.score >= LOW_MATCH,
    })
}

fn span_of(text: &str, c: &Candidate) -> EvidenceSpan {
    EvidenceSpan { start: c.span.0, end: c.span.1, text: text[c.span.0..c.span.1].to_string(), weight: c.score, assertion: c.assertion }
}

/// A piece of a diagnostic section, with the weight of its place.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Statement {
    pub span: (usize, usize),
    /// The weight of its section and of being a part of an item: a match below
    /// [`MIN_MATCH`] at this weight proposes nothing.
    pub weight: f32,
    /// Its place in its list ([`Weights::order`] to the power of the item's number): ranks its
    /// codes, the first-listed first, but does not keep a later item's codes out.
    pub rank: f32,
    /// From an inpatient's discharge, principal or final diagnoses, or the assessment of an
    /// admission's or a discharge's note, where an uncertain diagnosis ("probable",
    /// "suspected") is coded as if established (guideline II.H).
    pub inpatient: bool,
    /// From the admitting diagnosis: it yields to the stay's own diagnoses ([`PROVISIONAL`]).
    pub provisional: bool,
    /// From the discharge, principal or final diagnoses: what the stay established.
    pub settled: bool,
    /// From the preoperative (pre-procedure) diagnosis, or the postoperative one: a
    /// preoperative code yields to a postoperative one of its category ([`PROVISIONAL`]).
    pub pre: bool,
    pub post: bool,
    /// The first item of the reason for the encounter: the chief complaint, the indication, or
    /// the preoperative diagnosis (the procedure's reason).
    pub reason: bool,
    /// Its section's kind (`None` for a note without diagnostic sections).
    pub kind: Option<SectionKind>,
    /// The item the statement is a part of (its own span when it is the whole item).
    pub item: (usize, usize),
}

impl Statement {
    /// A whole item with none of the encounter's flags (not a reason, not pre- or postoperative,
    /// not an inpatient's): an unsectioned note's sentence, a plan's problem head.
    fn plain(span: (usize, usize), weight: f32, rank: f32, kind: Option<SectionKind>) -> Self {
        Statement { span, weight, rank, inpatient: false, provisional: false, settled: false, pre: false, post: false, reason: false, kind, item: span }
    }
}

/// The note's diagnostic statements: each line or list item of its diagnostic sections, and
/// the parts of an item split at commas, semicolons and "and"; for a note without diagnostic
/// sections, its sentences at [`UNSECTIONED`] weight.
pub fn statements(text: &str) -> Vec<Statement> {
    statements_with(text, &Weights::SHIPPED)
}

/// [`statements`] with the place of each item weighed by `w`.
pub fn statements_with(text: &str, w: &Weights) -> Vec<Statement> {
    statements_in(text, &sections::detect(text), w)
}

/// [`statements_with`] from the note's sections as [`sections::detect`] found them (a caller
/// that holds an [`assertion::Note`] has them already).
pub(crate) fn statements_in(text: &str, found: &[Section], w: &Weights) -> Vec<Statement> {
    let diagnostic: Vec<_> = found.iter().filter(|s| s.kind.is_diagnostic()).collect();
    let order = |i: usize| w.order.powi(i.min(10) as i32);
    let mut out = Vec::new();
    if diagnostic.is_empty() {
        for (item, i) in items(text, (0, text.len()), true) {
            push_with_parts(text, Statement::plain(item, UNSECTIONED, order(i), None), &mut out);
        }
        return out;
    }
    // The note's opening tells an inpatient stay: its title ("ADMISSION HISTORY AND PHYSICAL",
    // "DISCHARGE SUMMARY") or a line of its heading ("DATE OF ADMISSION:", "ADMITTING
    // SERVICE:"); not the ED's "admit to medicine", which is a plan.
    let opening: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).take(6).map(str::to_lowercase).collect();
    let admitted = opening.first().is_some_and(|t| ["admission", "admitting", "discharge summary"].iter().any(|c| t.contains(c)))
        || opening
            .iter()
            .any(|l| ["date of admission", "admission date", "admitting service", "admitting physician", "admitting diagnos"].iter().any(|c| l.starts_with(c)));
    // A plan's numbered problems ("1. Disseminated zoster: Admit, ..."): the head before the
    // colon names a problem the assessment may have told only in a narrative.
    for s in found.iter().filter(|s| s.kind == SectionKind::Plan) {
        for (item, i) in items(text, s.body, false) {
            let Some(colon) = text[item.0..item.1].find(": ") else { continue };
            let head = (item.0, item.0 + colon);
            if text[head.0..head.1].split_whitespace().count() > PLAN_HEAD_WORDS {
                continue;
            }
            push_with_parts(text, Statement::plain(head, PLAN_HEAD, order(i), Some(SectionKind::Plan)), &mut out);
        }
    }
    // "POSTOPERATIVE DIAGNOSIS: Same." (as the preoperative one): the preoperative diagnosis is
    // the postoperative one.
    let same_after = diagnostic.iter().any(|s| {
        let label = text[s.header.0..s.header.1].to_lowercase();
        let body = text[s.body.0..s.body.1].trim().to_lowercase();
        s.kind == SectionKind::Diagnosis && POST.iter().any(|p| label.contains(p)) && body.starts_with("same") && body.split_whitespace().count() <= 6
    });
    for s in &diagnostic {
        let place = match s.kind {
            SectionKind::Diagnosis | SectionKind::Assessment | SectionKind::Impression => 1.0,
            SectionKind::ChiefComplaint | SectionKind::Indication => 0.9,
            _ => 0.8,
        };
        let label = text[s.header.0..s.header.1].to_lowercase();
        let said_pre = PRE.iter().any(|p| label.contains(p));
        let place = if said_pre && !same_after {
            // The pre-operative (pre-procedure) diagnosis yields to the post- one when both are given.
            place * 0.95
        } else if SECONDARY_HEADERS.iter().any(|h| label.contains(h)) {
            // "Secondary diagnoses", "other diagnoses", "comorbidities": never the first-listed.
            place * SECONDARY
        } else {
            place
        };
        let settled = s.kind == SectionKind::Diagnosis && INPATIENT_HEADERS.iter().any(|h| label.contains(h));
        let inpatient = settled || (admitted && matches!(s.kind, SectionKind::Diagnosis | SectionKind::Assessment | SectionKind::Impression));
        // Not the preoperative diagnosis: its postoperative one often adds to it ("lung
        // adenocarcinoma" then "... with a metastatic hilar node"), which a weight would cut.
        // The admitting diagnosis, or the reason for admission given as a chief complaint.
        let provisional = matches!(s.kind, SectionKind::Diagnosis | SectionKind::ChiefComplaint) && label.contains("admi");
        let pre = s.kind == SectionKind::Diagnosis && said_pre && !same_after;
        // A pathology result is what the operation or endoscopy found, as a postoperative
        // diagnosis is ("ADDENDUM - PATHOLOGY: ... tubular adenoma").
        let post = s.kind == SectionKind::Diagnosis && (POST.iter().any(|p| label.contains(p)) || label.contains("patholog") || (said_pre && same_after));
        // The preoperative diagnosis is the procedure's reason: "Colon cancer screening" there
        // makes the colonoscopy a screening's (I.C.21.c.5) whatever it found.
        let reason = matches!(s.kind, SectionKind::ChiefComplaint | SectionKind::Indication) || pre;
        // A later sentence of one line tells more of its case ("... progressive erectile
        // dysfunction. ... He has hypertension and hyperlipidemia"): it ranks lower.
        // The previous item (its end, its place) and this one's sentence within its line.
        let mut prev: Option<(usize, usize)> = None;
        let mut sentence = 0;
        for (j, (item, i)) in items(text, s.body, false).into_iter().enumerate() {
            // Only the first reason given: a screening "also due" later in the complaint is not
            // the reason for the visit (guideline I.C.21.c.5: "specifically the screening").
            let reason = reason && j == 0;
            sentence = match prev {
                Some((end, pi)) if pi == i && text[end..item.0].contains('.') && !text[end..item.0].contains('\n') => sentence + 1,
                Some((_, pi)) if pi == i => sentence,
                _ => 0,
            };
            prev = Some((item.1, i));
            let rank = order(i) * LATER_SENTENCE.powi(sentence);
            push_with_parts(
                text,
                Statement { span: item, weight: place, rank, inpatient, provisional, settled, pre, post, reason, kind: Some(s.kind), item },
                &mut out,
            );
        }
    }
    out
}

/// The rank of each later sentence of one line against the one before.
const LATER_SENTENCE: f32 = 0.8;

/// How a manifestation code's own title names the disease it follows (I.A.13), when the
/// title names none of its own: a statement that matches its words names no disease. Not
/// every manifestation code ([`CodeTable::is_manifestation`]) is such a title: D63.1 "Anemia
/// in chronic kidney disease" names its disease, and F02 ("in other diseases ...") stays a
/// candidate because [`crate::sequencing`] reads a dementia's stated cause from it.
const MANIFESTATION_TITLES: &[&str] = &[
    "in diseases classified elsewhere",
    "in conditions classified elsewhere",
    "due to diseases classified elsewhere",
    "due to conditions classified elsewhere",
    "presenting with conditions classified elsewhere",
];
/// The weight of a plan item's problem head, and its most words.
const PLAN_HEAD: f32 = 0.8;
const PLAN_HEAD_WORDS: usize = 8;
/// Words of a diagnosis header that says its list comes after the first-listed diagnosis.
const SECONDARY_HEADERS: &[&str] = &["secondary", "other diagnos", "additional", "comorbid", "coexisting", "co-existing"];
/// Words of a diagnosis header of an inpatient stay's diagnoses ([`Statement::inpatient`]).
const INPATIENT_HEADERS: &[&str] = &["discharge", "principal", "final"];
/// The weight of such a list against the principal or first-listed one.
const SECONDARY: f32 = 0.8;
/// Words of a preoperative (pre-procedure) diagnosis header.
const PRE: &[&str] = &["preop", "pre-op", "preproc", "pre-proc"];
/// Words of a postoperative (post-procedure) diagnosis header.
const POST: &[&str] = &["postop", "post-op", "postproc", "post-proc"];
/// The weight of the admitting diagnosis's codes when a discharge, principal or final
/// diagnosis the note asserts proposes a code: the condition "established after study" to be
/// chiefly responsible for the admission (guideline Section II) is in those ("melena", then
/// "bleeding duodenal ulcer"). A stay's list that only says what was done ("status post
/// incision and drainage") leaves the admitting diagnosis as it is.
const PROVISIONAL: f32 = 0.6;

/// `item` (a whole item), then its parts when it has several.
fn push_with_parts(text: &str, item: Statement, out: &mut Vec<Statement>) {
    out.push(item);
    let parts = split_parts(text, item.span);
    if parts.len() > 1 {
        // A part alone loses its item's context ("Colles fracture, right distal radius").
        // A later part is what the item names after its first condition: its findings or the
        // next of a list ("fever of unknown origin, with night sweats, weight loss,
        // splenomegaly"), ranked as a later sentence is.
        out.extend(parts.iter().enumerate().map(|(k, &span)| Statement {
            span,
            weight: item.weight * PART,
            rank: item.rank * LATER_SENTENCE.powi(k as i32),
            ..item
        }));
        // The head with its first modifiers, without the rest's words: "Acute pancreatitis,
        // alcohol-induced" of "..., interstitial edematous, without necrosis or infection".
        for end in &parts[1..parts.len() - 1] {
            out.push(Statement { span: (parts[0].0, end.1), weight: item.weight * PART, ..item });
        }
    }
}

/// Lines and numbered or bulleted items of `range` (and sentences when `sentences`), trimmed,
/// without their list markers; each with its place in the list: the sentences and
/// `;`-pieces of one line or numbered item share it ("1. Diabetes. Continue metformin; A1c
/// in 3 months. 2. Hypertension": hypertension is the second item).
fn items(text: &str, range: (usize, usize), sentences: bool) -> Vec<((usize, usize), usize)> {
    let body = &text[range.0..range.1];
    // (start, end, list place) of each piece.
    let mut cuts: Vec<(usize, usize, usize)> = Vec::new();
    let (mut start, mut place) = (0, 0);
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let full_stop = b == b'.' && bytes.get(i + 1).is_none_or(|n| n.is_ascii_whitespace());
        let new_item = b == b'\n' || (full_stop && (sentences || next_is_item_marker(body, i + 1)));
        let end_here = new_item || b == b';' || (full_stop && is_sentence_end(body, i));
        // "1. Hypertension 2. Diabetes" on one line: cut before each number marker.
        let marker_here = i > start && is_item_marker(body, i) && bytes[i - 1] == b' ';
        if end_here {
            cuts.push((start, i, place));
            start = i + 1;
            place += usize::from(new_item);
        } else if marker_here {
            cuts.push((start, i, place));
            start = i;
            place += 1;
        }
        i += 1;
    }
    cuts.push((start, bytes.len(), place));
    let kept: Vec<((usize, usize), usize, bool)> = cuts
        .into_iter()
        .filter_map(|(s, e, place)| {
            let piece = &body[s..e];
            let lead = piece.len() - piece.trim_start().len();
            let mut s2 = s + lead;
            // Drop a list marker: "1.", "2)", "-", "*", "#".
            let rest = &body[s2..e];
            let marker = rest.find(|c: char| !(c.is_ascii_digit() || ".)-*#•".contains(c))).unwrap_or(rest.len());
            let mut numbered = false;
            // A marker is followed by a space, or ends in "." or ")": "68-year-old" has none.
            let spaced = rest[marker..].starts_with(char::is_whitespace) || rest[..marker].ends_with(['.', ')']);
            if marker > 0 && spaced && rest[..marker].chars().any(|c| !c.is_ascii_digit() || rest[marker..].starts_with(' ')) {
                s2 += marker;
                numbered = rest.starts_with(|c: char| c.is_ascii_digit());
            }
            let rest = &body[s2..e];
            let s3 = s2 + (rest.len() - rest.trim_start().len());
            // Without the closing full stop, comma or colon.
            let e2 = s2 + rest.trim_end_matches(|c: char| c.is_whitespace() || ".,;:".contains(c)).len();
            (e2 > s3 && body[s3..e2].chars().any(|c| c.is_alphabetic())).then_some(((range.0 + s3, range.0 + e2), place, numbered))
        })
        .collect();
    // Places counted over the kept pieces only (blank lines hold no item).
    let mut out = Vec::with_capacity(kept.len());
    let mut last: Option<(usize, usize)> = None; // (raw place, dense place)
    for &(span, raw, _) in &kept {
        let dense = match last {
            Some((r, d)) if r == raw => d,
            Some((_, d)) => d + 1,
            None => 0,
        };
        last = Some((raw, dense));
        out.push((span, dense));
    }
    // A lead-in before a numbered list ("68-year-old woman presenting with fever and
    // tachycardia, meeting sepsis criteria." then "1. Sepsis due to E. coli") sums the case:
    // the list counts from the first place again, which the lead-in would otherwise push to
    // the second; the lead-in's own sentences keep their order.
    if let Some(first) = kept.iter().position(|k| k.2).filter(|&f| f > 0) {
        let base = out[first].1;
        for (_, place) in out.iter_mut().skip(first) {
            *place -= base;
        }
    }
    out
}

/// The full stop at byte `i` of `s` ends a sentence: a capital follows it, and it does not
/// close an initial or a short abbreviation ("L. knee", "Dr. Lee", "St. Louis").
fn is_sentence_end(s: &str, i: usize) -> bool {
    let rest = s[i + 1..].trim_start();
    let capital_next = rest.len() < s.len() - i - 1 && rest.chars().next().is_some_and(char::is_uppercase);
    let word = s[..i].rsplit(|c: char| c.is_whitespace() || c == '(').next().unwrap_or("");
    capital_next && word.chars().count() >= 3 && !["Mrs", "Drs", "approx", "vs", "e.g", "i.e"].contains(&word)
}

/// "2. " or "2) " at byte `i` of `s`.
fn is_item_marker(s: &str, i: usize) -> bool {
    let b = s.as_bytes();
    let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    (1..=2).contains(&digits) && matches!(b.get(i + digits), Some(b'.') | Some(b')')) && b.get(i + digits + 1) == Some(&b' ')
}

fn next_is_item_marker(s: &str, i: usize) -> bool {
    let rest = &s[i..];
    let lead = rest.len() - rest.trim_start().len();
    i + lead < s.len() && is_item_marker(s, i + lead)
}

/// An item's parts at commas, semicolons and " and " (each trimmed), or the item alone.
fn split_parts(text: &str, item: (usize, usize)) -> Vec<(usize, usize)> {
    let s = &text[item.0..item.1];
    let lower = s.to_lowercase();
    if lower.len() != s.len() {
        return vec![item];
    }
    // "63-year-old female with adhesive small bowel obstruction, partial, ...": the patient
    // is no part of the diagnosis.
    let lead = patient_lead(&lower).unwrap_or(0);
    let mut cuts = vec![lead];
    let mut ends = Vec::new();
    // A parenthesis holds another name or a detail: "Sick sinus syndrome (tachycardia-bradycardia
    // syndrome) with symptomatic sinus pauses" has the head "Sick sinus syndrome".
    for (i, c) in s.char_indices().skip_while(|&(i, _)| i < lead) {
        if matches!(c, ',' | '(' | ')') {
            ends.push(i);
            cuts.push(i + 1);
        }
    }
    // "and" joins conditions; "based on" brings the evidence for the one before
    // ("Osteoporosis by WHO criteria based on the lumbar spine T-score"), and a colon the
    // plan for it ("Partial small bowel obstruction due to adhesions: Admit to surgery").
    for joint in [" and ", " based on ", ": "] {
        let mut from = lead;
        while let Some(p) = lower[from..].find(joint) {
            ends.push(from + p);
            cuts.push(from + p + joint.len());
            from += p + joint.len();
        }
    }
    ends.push(s.len());
    cuts.sort_unstable();
    ends.sort_unstable();
    cuts.into_iter()
        .zip(ends)
        // Joints that meet (", and ") leave an empty piece.
        .filter(|&(a, b)| a < b)
        .filter_map(|(a, b)| {
            let piece = &s[a..b];
            let lead = piece.len() - piece.trim_start().len();
            let (a2, b2) = (a + lead, a + piece.trim_end().len());
            (b2 > a2 && s[a2..b2].chars().any(|c| c.is_alphabetic())).then_some((item.0 + a2, item.0 + b2))
        })
        .collect()
}

/// Where the diagnosis starts after a lead that introduces the patient ("63-year-old female
/// with ", "This is a 45 yo man with "): just after its "with".
fn patient_lead(lower: &str) -> Option<usize> {
    let with = lower.find(" with ")?;
    let head = &lower[..with];
    let aged = head.contains("year-old") || head.contains("year old") || head.contains(" yo ") || head.contains("-yo ");
    (aged && head.split_whitespace().count() <= 8).then_some(with + " with ".len())
}

/// A statement's lower-case words, each once, with the words its phrases add
/// (`data/statement-synonyms.tsv`).
pub fn statement_words(statement: &str) -> Vec<String> {
    let words: Vec<String> = tokenize(statement).collect();
    let mut out: Vec<String> = Vec::new();
    let mut add = |w: &str| {
        if !out.iter().any(|o| o == w) {
            out.push(w.to_string());
        }
    };
    for w in &words {
        add(w);
    }
    for (phrase, adds) in synonyms() {
        let n = phrase.len();
        if n <= words.len() && says_phrase(&words, phrase) {
            for w in adds {
                add(w);
            }
        }
    }
    out
}

/// The words say `phrase` in order, with at most one other word between two of its words
/// ("hemorrhagic radiation cystitis" says "hemorrhagic cystitis"), but no word that denies.
fn says_phrase(words: &[String], phrase: &[String]) -> bool {
    let Some(first) = phrase.first() else { return false };
    words.iter().enumerate().filter(|(_, w)| *w == first).any(|(start, _)| {
        let mut at = start;
        phrase[1..].iter().all(|p| {
            let next = (at + 1..(at + 3).min(words.len())).find(|&k| &words[k] == p);
            let gap_denies = |k: usize| (at + 1..k).any(|g| ["no", "not", "without", "non"].contains(&words[g].as_str()));
            match next {
                Some(k) if !gap_denies(k) => {
                    at = k;
                    true
                }
                _ => false,
            }
        })
    })
}

/// Words of a title's condition that name no condition of their own.
const GENERIC: &[&str] = &[
    "other",
    "specified",
    "unspecified",
    "disorder",
    "disorders",
    "disease",
    "diseases",
    "condition",
    "conditions",
    "acute",
    "chronic",
    "and",
    "or",
    "the",
    "with",
    "without",
    "in",
    "to",
    "due",
    "a",
    "an",
    "primary",
    "secondary",
    "nos",
    "type",
];

/// Whether the statement names the condition of an "X of Y" title (the words before its last
/// " of "), not only its site: "intermediate cervix" is no "Tuberculosis of cervix". A title
/// with no " of ", or whose condition words are all generic ("Other disorders of cervix"), is
/// not held to it; nor are the Z codes, whose "Presence of", "Personal history of" a note
/// rarely says in those words (the caller's choice). Plurals count ("fracture", "Other
/// fractures of lower end of radius").
/// So is an "X with(out) Y" title's X, by its rarest word: "acute gout flare" is no
/// "Unspecified asthma with (acute) exacerbation", nor "coronary artery disease"
/// "Hypertensive heart disease without heart failure"; there a word's stem counts
/// ("hypertension" for "hypertensive").
fn condition_named(index: &SearchIndex, title: &str, words: &[String]) -> bool {
    // A bracket gives another name for the words before it ("Intestinal adhesions [bands]"):
    // the statement need not say it.
    let title = &unbracketed(title);
    // Some word of `part` but the generic (and `skip`) ones is said, or it has none.
    let any_said = |part: &str, skip: &[&str]| {
        let mut kept = tokenize(part).filter(|w| !GENERIC.contains(&w.as_str()) && !skip.contains(&w.as_str())).peekable();
        kept.peek().is_none() || kept.any(|w| says(words, &w))
    };
    let named_before = |at: usize| any_said(&title[..at], &[]);
    // Both the words before the last " of " and those before the first: "The femoral neck" is
    // no "Fracture of unspecified part of neck of unspecified femur".
    let of_named = title.rfind(" of ").is_none_or(named_before) && title.find(" of ").is_none_or(named_before);
    let with_at = [" with ", " without "].iter().filter_map(|w| title.find(w)).min();
    let with_named = with_at.is_none_or(|at| {
        let rarest = tokenize(&title[..at])
            .filter(|w| !GENERIC.contains(&w.as_str()) && w.chars().all(char::is_alphabetic))
            .map(|w| (index.word_weight(&w).unwrap_or(0.0), w))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        rarest.is_none_or(|(_, w)| says_stem(words, &w))
    });
    // "Pain in left hand" needs its site said, not only the side: "Left flank pain" is none.
    let site_named = title.strip_prefix("Pain in ").is_none_or(|site| any_said(site, SIDE_WORDS));
    // So does a neoplasm's: "metastatic adenocarcinoma to the liver" is no "Secondary malignant
    // neoplasm of bone".
    let neoplasm_site = title.find("neoplasm of ").is_none_or(|at| any_said(&title[at + "neoplasm of ".len()..], SIDE_WORDS));
    of_named && with_named && site_named && neoplasm_site
}

/// Title words that give a side, not a site ("unspecified" is [`GENERIC`]).
const SIDE_WORDS: &[&str] = &["left", "right", "bilateral", "unilateral"];

/// Whether the statement's words hold a title word or one of its stem (the first 6 letters
/// and as many more as both share, at least 8 in all or the whole shorter word).
fn says_stem(words: &[String], word: &str) -> bool {
    says(words, word)
        || words.iter().any(|w| {
            let shared = w.bytes().zip(word.bytes()).take_while(|(a, b)| a == b).count();
            shared >= 6 && (shared >= 8 || shared == w.len().min(word.len()))
        })
}

/// Whether the statement's words hold a title word, plurals aside ("fracture" for "fractures").
fn says(words: &[String], word: &str) -> bool {
    fn singular(w: &str) -> &str {
        w.strip_suffix('s').unwrap_or(w)
    }
    words.iter().any(|w| singular(w) == singular(word))
}

/// Whether `word` is a phrase of its own in the synonym table (its added words stand in for it).
fn has_synonym(word: &str) -> bool {
    synonyms().iter().any(|(p, _)| p.len() == 1 && p[0] == word)
}

const SHIPPED_SYNONYMS: &str = include_str!("../data/statement-synonyms.tsv");

/// One row of the synonym table: the phrase's words, and the words it adds.
pub type Synonym = (Vec<String>, Vec<String>);

/// The shipped table's rows.
fn synonyms() -> &'static [Synonym] {
    static TABLE: OnceLock<Vec<Synonym>> = OnceLock::new();
    TABLE.get_or_init(|| parse_synonyms(SHIPPED_SYNONYMS).expect("the shipped synonym table is well formed (tested)"))
}

/// Parses the synonym table; an error names the line.
pub fn parse_synonyms(tsv: &str) -> Result<Vec<Synonym>, String> {
    let mut rows = Vec::new();
    for row in crate::knowledge::rows("statement-synonyms.tsv", tsv, "phrase<TAB>added words") {
        let (n, phrase, adds) = row?;
        let p: Vec<String> = tokenize(phrase).collect();
        let a: Vec<String> = tokenize(adds).collect();
        if p.is_empty() || a.is_empty() {
            return Err(format!("statement-synonyms.tsv line {n}: an empty phrase or no added words"));
        }
        if a == p {
            return Err(format!("statement-synonyms.tsv line {n}: \"{phrase}\" adds only itself"));
        }
        rows.push((p, a));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(text: &str) -> Vec<&str> {
        statements(text).iter().map(|s| &text[s.span.0..s.span.1]).collect()
    }

    #[test]
    fn the_shipped_synonyms_parse() {
        let rows = parse_synonyms(SHIPPED_SYNONYMS).unwrap();
        assert!(rows.len() > 100, "{}", rows.len());
        assert!(parse_synonyms("bph benign").unwrap_err().contains("line 1"));
        assert!(parse_synonyms("# c\nbph\tbph").unwrap_err().contains("line 2"));
    }

    #[test]
    fn statements_are_the_diagnostic_items_and_their_parts() {
        let note = "CHIEF COMPLAINT: Urinary frequency.\n\nPAST MEDICAL HISTORY: Hypertension.\n\nASSESSMENT:\n1. BPH with LUTS.\n2. Hypertension and hyperlipidemia, controlled.\n\nPLAN: Tamsulosin.";
        let got = spans(note);
        assert_eq!(got[0], "Urinary frequency");
        assert!(got.contains(&"BPH with LUTS"), "{got:?}");
        assert!(got.contains(&"Hypertension and hyperlipidemia, controlled"), "{got:?}");
        assert!(got.contains(&"Hypertension") && got.contains(&"hyperlipidemia"), "{got:?}");
        assert!(!got.iter().any(|s| s.contains("Tamsulosin")), "the plan is not a diagnostic section: {got:?}");
        // The history section's hypertension is not a statement (only the assessment's is).
        let pmh = note.find("Hypertension.").unwrap();
        assert!(statements(note).iter().all(|s| s.span.0 != pmh));
    }

    #[test]
    fn inline_numbered_items_are_cut() {
        let note = "DISCHARGE DIAGNOSES: 1. Community acquired pneumonia. 2. Type 2 diabetes.";
        assert_eq!(spans(note), ["Community acquired pneumonia", "Type 2 diabetes"]);
    }

    #[test]
    fn a_section_paragraph_is_cut_at_its_sentences_but_not_at_abbreviations() {
        let note = "INDICATION: Average-risk screening for colon cancer. First colonoscopy. Referred by Dr. Lee for L. sided pain.\nFINDINGS: Normal.";
        assert_eq!(spans(note)[..3], ["Average-risk screening for colon cancer", "First colonoscopy", "Referred by Dr. Lee for L. sided pain"]);
    }

    #[test]
    fn the_first_listed_item_and_the_principal_list_weigh_most() {
        let note = "PRINCIPAL DIAGNOSIS: Probable aspiration pneumonia.\nSECONDARY DIAGNOSES:\n1. Hypertension.\n2. Hyperlipidemia.";
        let st = statements(note);
        let weight = |s: &str| st.iter().find(|x| &note[x.span.0..x.span.1] == s).map(|x| x.weight * x.rank).unwrap();
        assert!(weight("Probable aspiration pneumonia") > weight("Hypertension"));
        assert!(weight("Hypertension") < 1.0 && weight("Hyperlipidemia") < weight("Hypertension") * 0.7);
        // Inpatient diagnoses: an uncertain one is coded as established (guideline II.H).
        assert!(st.iter().find(|x| note[x.span.0..x.span.1].starts_with("Probable")).unwrap().inpatient);
        let clinic = statements("ASSESSMENT: Probable viral syndrome.");
        assert!(!clinic[0].inpatient);
    }

    #[test]
    fn sentences_of_one_numbered_item_share_its_place() {
        let note = "ASSESSMENT AND PLAN:\n1. Type 2 diabetes. Continue metformin; A1c in 3 months.\n\n2. Essential hypertension. Continue lisinopril.\n3. Hyperlipidemia.";
        let st = statements(note);
        let rank = |s: &str| st.iter().find(|x| &note[x.span.0..x.span.1] == s).map(|x| x.rank).unwrap();
        // A later sentence of the item ranks a little below its first, above the next item.
        assert_eq!(rank("Continue metformin"), rank("Type 2 diabetes") * LATER_SENTENCE);
        assert!(rank("Continue metformin") > rank("Essential hypertension"));
        assert_eq!(rank("Essential hypertension"), Weights::SHIPPED.order);
        assert_eq!(rank("Hyperlipidemia"), Weights::SHIPPED.order.powi(2));
        // A later item's place ranks it; it does not weigh its match down below MIN_MATCH.
        assert!(st.iter().all(|x| x.weight >= 0.8), "{st:?}");
    }

    #[test]
    fn a_part_knows_its_item() {
        let note = "ASSESSMENT: Hypertensive heart disease, and heart failure.";
        let st = statements(note);
        assert!(st.len() > 1, "{st:?}");
        let item = st[0].span;
        assert!(st.iter().all(|s| s.item == item), "{st:?}");
    }

    #[test]
    fn a_note_without_sections_is_read_by_sentence_at_lower_weight() {
        let note = "Patient seen for knee pain. Denies trauma.";
        let st = statements(note);
        assert_eq!(st.len(), 2);
        assert!(st.iter().all(|s| s.weight <= UNSECTIONED));
    }

    #[test]
    fn synonyms_add_title_words() {
        let w = statement_words("BPH with LUTS");
        for x in ["bph", "benign", "prostatic", "hyperplasia", "lower", "urinary", "tract", "symptoms"] {
            assert!(w.contains(&x.to_string()), "{x} in {w:?}");
        }
        let w = statement_words("right distal radius fx");
        assert!(w.contains(&"fracture".to_string()) && w.contains(&"lower".to_string()), "{w:?}");
    }

    #[test]
    fn a_phrase_may_have_one_word_between_its_words_but_no_denial() {
        let has = |s: &str, w: &str| statement_words(s).contains(&w.to_string());
        assert!(has("Hemorrhagic radiation cystitis", "hematuria"));
        assert!(has("Herniated L4 disc", "displacement"));
        assert!(!has("Hemorrhagic and radiation-induced cystitis", "hematuria"), "two words between");
        assert!(!has("Herniated, no disc", "displacement"), "a denial between");
    }
}
