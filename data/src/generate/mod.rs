//! Synthetic clinical notes (`icd-data generate`).
//!
//! Each record's primary code is fixed by a stratified plan (every label gets at least
//! `min_train` train and `min_test` test notes); the note is then composed from the
//! knowledge table ([`crate::knowledge`]), the code table's inclusion terms and generic
//! clinical phrasing ([`vocab`]), in one of several note types and writing styles.
//! Record `i` draws from its own ChaCha8 stream `(seed, i)`, so output is identical
//! across platforms and thread counts for a given seed and [`GENERATOR_VERSION`].

mod compose;
pub mod leak;
pub mod style;
pub mod vocab;

use std::collections::BTreeMap;

use icd_core::dataset::Record;
use icd_core::{CodeTable, LabelSpace};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::knowledge::{Entry, Kind, Knowledge};
use leak::{contains_phrase_lc, find_code_like};

/// Bumped whenever the output for a given seed changes.
pub const GENERATOR_VERSION: &str = "icd-data-synth/3";

#[derive(Debug, Clone)]
pub struct Config {
    pub train: usize,
    pub valid: usize,
    pub test: usize,
    pub seed: u64,
    /// Least notes per label (by primary code) in train and test; lowered when the split is
    /// too small to hold it for every label.
    pub min_train: usize,
    pub min_test: usize,
    /// Chance of a typo per eligible word.
    pub typo_rate: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self { train: 10_000, valid: 1_000, test: 2_000, seed: 20_260_401, min_train: 25, min_test: 5, typo_rate: 0.005 }
    }
}

/// The generated splits and what was measured while generating them.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub train: Vec<Record>,
    pub valid: Vec<Record>,
    pub test: Vec<Record>,
}

impl Dataset {
    pub fn all(&self) -> impl Iterator<Item = &Record> {
        self.train.iter().chain(&self.valid).chain(&self.test)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Knowledge(#[from] crate::knowledge::KnowledgeError),
    #[error("the label space has {labels} labels but only {n} {split} notes were asked for: every label needs at least one")]
    TooSmall { labels: usize, n: usize, split: &'static str },
    #[error("record {index} ({code}): could not compose a note free of code strings after {tries} tries (last: {token:?})")]
    CodeLeak { index: usize, code: String, tries: usize, token: String },
}

/// What the composer knows about one label.
#[derive(Debug, Clone)]
pub(crate) struct Lex<'a> {
    pub code: String,
    pub entry: &'a Entry,
    pub official: String,
    pub chapter: u8,
    /// Specific CMS inclusion terms (own, or an ancestor's when no other label shares it).
    pub cms: Vec<String>,
    /// Short names for mentions in other notes' distractors (family history, negations).
    pub short: Vec<String>,
    /// Every way this code is named (terms, abbrevs, cms), lower case, for overlap checks.
    pub names: Vec<String>,
    /// Risk factors that do not name another label's condition.
    pub risk: Vec<String>,
    /// Medications that are prescriptions ("no medications indicated" left out).
    pub meds: Vec<String>,
    /// All of the entry's text, lower case, " | "-separated.
    pub blob: String,
    /// Review-of-systems negatives ([`vocab::ROS_NEG`]) that would contradict this code.
    pub ros_blocked: Vec<bool>,
    /// Prescriptions that name no label's condition, for other notes' medication lists.
    pub quiet_meds: Vec<String>,
    /// Short complaints that name no label, for other notes' pertinent negatives.
    pub negatable: Vec<String>,
}

/// Which review-of-systems negatives would contradict a code with this text.
pub(crate) fn ros_blocked(code: &str, blob: &str, names: &[String]) -> Vec<bool> {
    vocab::ROS_NEG
        .iter()
        .map(|(phrase, short, tags)| {
            tags.iter().any(|t| code.starts_with(t))
                || blob.contains(phrase)
                || contains_phrase_lc(blob, &short.to_ascii_lowercase())
                || names.iter().any(|n| contains_phrase_lc(n, phrase))
        })
        .collect()
}

/// Common chronic problems added as secondaries beyond the knowledge `comorbid` lists,
/// with rough relative prevalence on US adult primary-care problem lists.
const PREVALENT: &[(&str, u32)] = &[
    ("I10", 30),
    ("E78.5", 20),
    ("E66.9", 10),
    ("E11.9", 10),
    ("K21.9", 10),
    ("F17.210", 8),
    ("Z87.891", 8),
    ("F32.A", 6),
    ("J30.9", 6),
    ("E03.9", 6),
    ("F41.1", 5),
    ("G47.33", 5),
    ("M19.90", 5),
    ("N40.1", 4),
    ("I25.10", 4),
    ("E55.9", 3),
    ("G47.00", 3),
    ("I48.91", 3),
    ("M81.0", 3),
];

/// Codes (by prefix) that should not be coded together: one implies or excludes the other.
const EXCLUSIVE: &[&[&str]] = &[
    &["I10", "I11", "I12", "I13", "R03", "O13"],
    &["E10", "E11", "O24", "R73"],
    &["J43", "J44"],
    &["F32", "F33", "F31"],
    &["G30", "F03", "G31"],
    &["D50", "D62", "D63", "D64"],
    &["M17", "M19"],
    &["I21", "I25.2"],
    &["Z00", "Z01"],
    &["F17", "Z87.891"],
    &["F10.1", "F10.2"],
    &["N18.6", "I12.9", "I13.0"],
    &["I12.0", "N18.3", "N18.4", "N18.9"],
    &["M54", "M47", "M48", "M51"],
    &["R10", "K35", "K57.32", "K85"],
    &["R05", "J20", "J18", "J44", "J45", "J06", "U07"],
    &["R06", "J44", "J45", "J96", "I50", "J18", "I26"],
];

pub(crate) fn conflicts(a: &str, b: &str) -> bool {
    if a[..3] == b[..3] {
        return true;
    }
    EXCLUSIVE.iter().any(|g| g.iter().any(|p| a.starts_with(p)) && g.iter().any(|p| b.starts_with(p)))
}

pub struct Generator<'a> {
    pub(crate) lex: Vec<Lex<'a>>,
    pub(crate) by_code: BTreeMap<String, usize>,
    pub(crate) prevalent: Vec<(usize, u32)>,
    weights: Vec<f64>,
}

fn words(s: &str) -> usize {
    s.split_whitespace().count()
}

impl<'a> Generator<'a> {
    /// Checks the knowledge table against the code table and the label space, and
    /// prepares each label's lexicon.
    pub fn new(knowledge: &'a Knowledge, table: &CodeTable, labels: &LabelSpace) -> Result<Self, GenerateError> {
        knowledge.check(table, labels)?;
        let mut lex = Vec::with_capacity(labels.len());
        // Every phrase each label is known by, to keep CMS terms and risks specific.
        let all_names: Vec<(String, Vec<String>)> = labels
            .labels()
            .iter()
            .map(|l| {
                let e = knowledge.get(&l.code).expect("checked");
                let mut v: Vec<String> = e.terms.iter().chain(&e.abbrevs).map(|t| t.to_ascii_lowercase()).collect();
                v.push(l.description.to_ascii_lowercase());
                (l.code.clone(), v)
            })
            .collect();
        let norm = |s: &str| s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ");
        let mut name_index: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
        for (c, names) in &all_names {
            for n in names {
                name_index.entry(norm(n)).or_default().push(c.clone());
            }
        }
        for l in labels.labels() {
            let entry = knowledge.get(&l.code).expect("checked");
            let code = table.get(&l.code).expect("labels are validated against the table");
            let mut cms: Vec<String> = code.inclusion.to_vec();
            for anc in table.ancestors(code) {
                // An ancestor's inclusion terms name this code only if no other label sits under it.
                let shared = labels.labels().iter().any(|o| o.code != l.code && o.code.starts_with(&anc.code));
                if !shared {
                    cms.extend(anc.inclusion.iter().cloned());
                }
            }
            cms.retain(|t| {
                let lt = t.to_lowercase();
                // Index-style inverted terms ("Rhinitis, allergic") are not how notes read.
                if t.contains(',') {
                    return false;
                }
                find_code_like(t).is_none()
                    && !lt.eq_ignore_ascii_case(&l.description)
                    && t.len() <= 80
                    && !t.contains(['[', ']', '(', ')'])
                    && !all_names.iter().any(|(c, names)| *c != l.code && names.contains(&lt))
            });
            cms.sort();
            cms.dedup();
            let mut short: Vec<String> = entry.terms.iter().filter(|t| !t.contains(',') && words(t) <= 4).cloned().collect();
            short.sort_by_key(|t| (t.len(), t.clone()));
            short.truncate(2);
            short.extend(entry.abbrevs.iter().filter(|a| a.len() >= 3).cloned());
            if short.is_empty() {
                short.push(entry.terms.iter().min_by_key(|t| t.len()).expect("terms not empty").clone());
            }
            let own: Vec<String> = entry.terms.iter().chain(&entry.abbrevs).map(|t| t.to_ascii_lowercase()).collect();
            let own_norm: Vec<String> = own.iter().map(|t| norm(t)).collect();
            let risk: Vec<String> = entry
                .risk
                .iter()
                .filter(|r| {
                    let r = r.to_ascii_lowercase();
                    // Any run of words that is another label's name (and not one of ours)?
                    let w: Vec<&str> = r.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
                    let names_other = (0..w.len()).any(|i| {
                        (i + 1..=w.len().min(i + 8)).any(|j| {
                            let g = w[i..j].join(" ");
                            g.len() >= 4 && !own_norm.contains(&g) && name_index.get(&g).is_some_and(|codes| codes.iter().any(|c| *c != l.code))
                        })
                    });
                    r.starts_with("family history") || !names_other
                })
                .filter(|r| !RISKY_WORDS.iter().any(|w| leak::contains_ci(r, w)))
                .cloned()
                .collect();
            let meds: Vec<String> = entry
                .meds
                .iter()
                .filter(|m| {
                    let m = m.to_ascii_lowercase();
                    // Instructions ("hold lisinopril", "avoid NSAIDs") are plan items, not drugs
                    // the patient takes: a medication list must not show them.
                    !(m.starts_with("no ") || m.starts_with("none") || m.contains("not indicated") || is_instruction(&m))
                })
                .cloned()
                .collect();
            let meds = if meds.is_empty() { entry.meds.clone() } else { meds };
            let mut names = own.clone();
            names.extend(cms.iter().map(|t| t.to_ascii_lowercase()));
            names.push(l.description.to_ascii_lowercase());
            let mut blob = String::new();
            for (_, s) in entry.text_fields() {
                blob.push_str(&s.to_ascii_lowercase());
                blob.push_str(" | ");
            }
            let ros_blocked = ros_blocked(&l.code, &blob, &names);
            // Any run of words (3+ letters) that is some label's name?
            let names_a_label = |t: &str| {
                let t = t.to_ascii_lowercase();
                let w: Vec<&str> = t.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
                (0..w.len()).any(|i| {
                    (i + 1..=w.len().min(i + 8)).any(|j| {
                        let g = w[i..j].join(" ");
                        g.len() >= 3 && name_index.contains_key(&g)
                    })
                })
            };
            let quiet_meds: Vec<String> = meds
                .iter()
                .filter(|m| {
                    let lm = m.to_ascii_lowercase();
                    // A prescription with a dose, naming no condition.
                    let dosed = lm.chars().any(|c| c.is_ascii_digit()) && [" mg", " mcg", " iu", " units", "%", " ml", " g "].iter().any(|u| lm.contains(u));
                    dosed
                        && !names_a_label(m)
                        && !["insulin", " for ", "prn ", "nicotine", "varenicline", "naltrexone", "buprenorphine", "not ", " no "]
                            .iter()
                            .any(|x| lm.contains(x))
                })
                .cloned()
                .collect();
            let negatable: Vec<String> = entry
                .symptoms
                .iter()
                .filter(|s| {
                    compose::is_complaint(s)
                        && words(s) <= 4
                        && !s.contains([',', ';', '(', '"', '/', '\''])
                        && !s.chars().any(|c| c.is_ascii_digit())
                        && !names_a_label(s)
                        && !RISKY_WORDS.iter().any(|w| leak::contains_ci(s, w))
                        // Denied as a plain finding: no degree, time or circumstance.
                        && !s.split_whitespace().any(|w| NOT_DENIED.contains(&w.to_ascii_lowercase().as_str()))
                })
                .cloned()
                .collect();
            lex.push(Lex {
                code: l.code.clone(),
                entry,
                official: l.description.clone(),
                chapter: code.chapter,
                cms,
                short,
                names,
                risk,
                meds,
                blob,
                ros_blocked,
                quiet_meds,
                negatable,
            });
        }
        let by_code: BTreeMap<String, usize> = lex.iter().enumerate().map(|(i, l)| (l.code.clone(), i)).collect();
        let prevalent = PREVALENT.iter().filter_map(|(c, w)| by_code.get(*c).map(|&i| (i, *w))).collect();
        // Relative frequency of each label as a primary reason: chronic and common
        // outpatient problems more often than rare encounters.
        let weights = lex
            .iter()
            .map(|l| {
                let k = match l.entry.kind {
                    Kind::Chronic => 1.4,
                    Kind::Acute | Kind::Symptom => 1.2,
                    Kind::Injury | Kind::Encounter => 0.9,
                    Kind::Status => 0.6,
                };
                let p = PREVALENT.iter().find(|(c, _)| *c == l.code).map_or(1.0, |(_, w)| 1.0 + *w as f64 / 10.0);
                k * p
            })
            .collect();
        Ok(Self { lex, by_code, prevalent, weights })
    }

    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.lex.iter().map(|l| l.code.as_str())
    }

    /// Primary-code counts per label for a split of `n` notes.
    pub fn allocate(&self, n: usize, min: usize) -> Vec<usize> {
        let k = self.lex.len();
        let base = min.min(n / k.max(1));
        let rest = n - base * k;
        let total: f64 = self.weights.iter().sum();
        let exact: Vec<f64> = self.weights.iter().map(|w| rest as f64 * w / total).collect();
        let mut counts: Vec<usize> = exact.iter().map(|x| base + x.floor() as usize).collect();
        let mut left = n - counts.iter().sum::<usize>();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
        for &i in order.iter().cycle() {
            if left == 0 {
                break;
            }
            counts[i] += 1;
            left -= 1;
        }
        counts
    }

    /// Generates the three splits.
    pub fn generate(&self, cfg: &Config, progress: Option<&indicatif::ProgressBar>) -> Result<Dataset, GenerateError> {
        let k = self.lex.len();
        for (n, split) in [(cfg.train, "train"), (cfg.test, "test")] {
            if n < k {
                return Err(GenerateError::TooSmall { labels: k, n, split });
            }
        }
        let plan = |n: usize, min: usize, stream: u64| -> Vec<usize> {
            let mut v: Vec<usize> = self.allocate(n, min).iter().enumerate().flat_map(|(i, &c)| std::iter::repeat_n(i, c)).collect();
            let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
            rng.set_stream(u64::MAX - stream);
            v.shuffle(&mut rng);
            v
        };
        let valid_min = if cfg.valid >= 2 * k { 2 } else { 0 };
        let plans = [("train", plan(cfg.train, cfg.min_train, 0)), ("valid", plan(cfg.valid, valid_min, 1)), ("test", plan(cfg.test, cfg.min_test, 2))];
        let mut out: Vec<Vec<Record>> = Vec::new();
        let mut index = 0usize;
        for (split, plan) in &plans {
            let mut recs = Vec::with_capacity(plan.len());
            let mut seen = vec![0usize; k];
            for (j, &label) in plan.iter().enumerate() {
                // Every ninth note of a label (from its fifth) is a one-liner, so each label
                // has short notes like "Patient presents with ... History of asthma."
                let one_liner = seen[label] % 9 == 4;
                seen[label] += 1;
                let rec = self.record(cfg, index, label, &format!("synth-{split}-{:05}", j + 1), split, one_liner)?;
                recs.push(rec);
                index += 1;
                if let Some(p) = progress {
                    p.inc(1);
                }
            }
            out.push(recs);
        }
        let test = out.pop().unwrap_or_default();
        let valid = out.pop().unwrap_or_default();
        let train = out.pop().unwrap_or_default();
        Ok(Dataset { train, valid, test })
    }

    /// One record, from its own random stream; regenerated if a code-like token slips in.
    /// `one_liner` forces the one-line note type (otherwise drawn at random).
    pub fn record(&self, cfg: &Config, index: usize, label: usize, id: &str, split: &str, one_liner: bool) -> Result<Record, GenerateError> {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        rng.set_stream(index as u64);
        const TRIES: usize = 8;
        let mut last = String::new();
        let rng = style::R::new(rng);
        for _ in 0..TRIES {
            let note = compose::compose(self, label, &rng, cfg.typo_rate, one_liner);
            match find_code_like(&note.text) {
                None => {
                    let mut meta = note.meta;
                    meta.insert("split".into(), split.into());
                    meta.insert("generator".into(), GENERATOR_VERSION.into());
                    return Ok(Record { id: id.to_string(), text: note.text, codes: note.codes, meta });
                }
                Some(tok) => last = tok.to_string(),
            }
        }
        Err(GenerateError::CodeLeak { index, code: self.lex[label].code.clone(), tries: TRIES, token: last })
    }

    pub(crate) fn get(&self, code: &str) -> Option<&Lex<'a>> {
        self.by_code.get(code).map(|&i| &self.lex[i])
    }
}

/// Words that make a risk-factor string name a codable condition of its own.
const RISKY_WORDS: &[&str] = &[
    "diabet",
    "obes",
    "smok",
    "tobacco",
    "cigarette",
    "hypertens",
    "alcohol",
    "kidney disease",
    "ckd",
    "copd",
    "hiv",
    "depress",
    "anxiety",
    "atrial fib",
    "heart failure",
    "prediabet",
];

/// Words that keep a complaint out of pertinent negatives ("no mild hemoptysis",
/// "denies shakiness since this morning").
const NOT_DENIED: &[&str] = &[
    "mild",
    "occasional",
    "intermittent",
    "chronic",
    "recurrent",
    "new",
    "severe",
    "sudden",
    "since",
    "today",
    "morning",
    "night",
    "yesterday",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "hours",
    "x",
    "ago",
    "after",
    "before",
    "during",
    "when",
    "while",
    "with",
    "on",
    "at",
    "in",
    "worse",
    "worsening",
    "better",
    "increased",
    "decreased",
    "persistent",
    "constant",
    "progressive",
    "gradual",
    "first",
    "last",
    "episode",
    "episodes",
    "normal",
    "regular",
    "good",
    "well",
    "able",
    "stable",
    "intact",
    "clear",
    "appropriate",
    "usual",
    "not",
    "does",
    "do",
    "is",
    "are",
    "was",
    "feel",
    "feels",
    "felt",
    "avoids",
    "fitting",
    "lifestyle",
    "exposure",
    "afraid",
    "repeats",
    "without",
    "no",
    "diet",
    "use",
    "have",
    "has",
    "ran",
    "out",
    "unsure",
    "improved",
    "loses",
    "lines",
    "intake",
    "losing",
    "wet",
];

/// Leakage and shape figures over a set of records.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Leakage {
    pub notes: usize,
    /// Notes with any ICD code-like token.
    pub code_strings: usize,
    /// Notes containing the primary code's official description verbatim (case-insensitive).
    pub official_primary: usize,
    /// Notes containing the official description of any of their codes.
    pub official_any: usize,
}

impl Leakage {
    pub fn measure<'r>(records: impl IntoIterator<Item = &'r Record>, table: &CodeTable) -> Self {
        let mut l = Leakage::default();
        for r in records {
            l.notes += 1;
            if find_code_like(&r.text).is_some() {
                l.code_strings += 1;
            }
            let text = r.text.to_ascii_lowercase();
            let hit = |c: &String| table.get(c).is_some_and(|c| contains_phrase_lc(&text, &c.description.to_ascii_lowercase()));
            if r.codes.first().is_some_and(hit) {
                l.official_primary += 1;
            }
            if r.codes.iter().any(hit) {
                l.official_any += 1;
            }
        }
        l
    }

    pub fn rate(&self, n: usize) -> f64 {
        if self.notes == 0 {
            0.0
        } else {
            n as f64 / self.notes as f64
        }
    }
}

/// A medication entry that is an instruction ("hold metformin 1000 mg BID"), not a drug taken.
pub(crate) fn is_instruction(lower: &str) -> bool {
    const VERBS: &[&str] =
        &["hold ", "discontinue ", "avoid ", "stop ", "increase ", "decrease ", "limit ", "continue ", "consider ", "prefer ", "taper ", "start "];
    VERBS.iter().any(|v| lower.starts_with(v))
}
