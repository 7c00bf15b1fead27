//! What makes real charts hard to code by counting words (issue #15), written into the
//! notes without changing what is coded:
//!
//! - sibling codes share their non-deciding vocabulary: a note for one member of a
//!   family (J44.0 / J44.1 / J44.9, E11.x, I50.x, left / right, ...) also draws the
//!   background facts, medications and tests of its siblings that carry none of the
//!   family's deciding words, so only the deciding words tell them apart;
//! - the family's base name sits in the history ("PMH: COPD" in a COPD-exacerbation note);
//! - medication lists carry drugs of other conditions without naming them (a coder does
//!   not code from a medication list);
//! - pertinent negatives: other codes' symptoms, denied;
//! - surgical history of conditions an operation resolved ("s/p laparoscopic
//!   appendectomy for acute appendicitis in 2011").

use super::super::leak::contains_phrase_lc;
use super::super::style::{chance, pick_n, pk, R};
use super::super::{conflicts, Generator, Lex};
use super::chart;
use crate::knowledge::{Entry, Kind};

/// Sibling labels that compete on a few deciding words.
pub(super) struct Family {
    /// Member codes (exact codes of the label space).
    pub codes: &'static [&'static str],
    /// Word stems that decide between the members (or contradict one of them): a sibling's
    /// item with any of these stays with its own code. Stems of one or two letters match
    /// whole words only.
    pub deciding: &'static [&'static str],
    /// Names of the condition all members share, for the history ("COPD"); empty where the
    /// shared name would be a code of its own.
    pub base: &'static [&'static str],
    /// Background facts true of every member (no deciding words).
    pub background: &'static [&'static str],
    /// Which knowledge fields siblings share (symptoms, exam, tests, meds, plan, risk):
    /// where the deciding features are many (complications, stages, receptor status),
    /// only treatment and history travel.
    pub fields: &'static [&'static str],
}

const ALL: &[&str] = &["symptoms", "exam", "tests", "meds", "plan", "risk"];
const TREATMENT: &[&str] = &["meds", "plan", "risk"];

/// Side words: laterality siblings share everything else.
const SIDES: &[&str] = &["right", "left", "bilateral", "bilaterally", "both", "rt", "lt", "r", "l", "knees", "each", "either", "ankles", "shoulders", "legs"];

pub(super) const FAMILIES: &[Family] = &[
    Family {
        codes: &["J44.0", "J44.1", "J44.9"],
        deciding: &[
            "exacerb",
            "flare",
            "infect",
            "pneumon",
            "infiltrat",
            "consolidat",
            "opacit",
            "purulen",
            "sputum",
            "fever",
            "febrile",
            "temperature",
            "wbc",
            "procalcitonin",
            "culture",
            "crackles",
            "rhonchi",
            "azithromycin",
            "doxycycline",
            "ceftriaxone",
            "levofloxacin",
            "amoxicillin",
            "prednisone",
            "methylprednisolone",
            "steroid",
            "nebuliz",
            "abg",
            "vbg",
            "ph",
            "pco2",
            "accessory",
            "sentences",
            "hours",
            "increas",
            "worse",
            "baseline",
            "stable",
            "spo2",
            "rr",
            "oxygen",
            "bipap",
            "mailbox",
            "rescue",
            "recent",
            "wheez",
            "tight",
            "antibiotic",
            "admission",
            "admit",
            "discharge",
            "iv",
            "smok",
            "varenicline",
            "tobacco",
            "cigarette",
            "recovery",
        ],
        base: &["COPD", "chronic obstructive pulmonary disease", "chronic obstructive lung disease"],
        background: &[
            "Followed by pulmonology for obstructive lung disease",
            "Last pulmonary function testing was about a year ago",
            "Has had pneumococcal and influenza vaccines",
            "Has to walk slower than peers on level ground because of dyspnea",
            "Uses a maintenance inhaler every day",
        ],
        fields: ALL,
    },
    Family {
        codes: &["J45.20", "J45.40", "J45.901", "J45.909"],
        deciding: &[
            "intermittent",
            "persistent",
            "daily",
            "nightly",
            "night",
            "nocturnal",
            "awaken",
            "wak",
            "twice",
            "week",
            "exacerb",
            "flare",
            "attack",
            "status",
            "control",
            "prednisone",
            "methylpred",
            "steroid",
            "nebuliz",
            "peak",
            "fev1",
            "spo2",
            "accessory",
            "sentences",
            "rescue",
            "mild",
            "moderate",
            "severe",
            "step",
            "every",
            "times",
            "increas",
            "worse",
            "retraction",
            "tight",
            "silent",
            "magnesium",
            "score",
            "fluticasone",
            "budesonide",
            "formoterol",
            "salmeterol",
            "montelukast",
            "controller",
            "well",
            "no",
            "symptom",
            "hours",
            "days",
            "emergency",
            "clear",
            "normal work",
            "wheez",
            "expiratory",
            "vbg",
            "pco2",
            "dexamethasone",
            "reassess",
            "discharge",
            "bronchodilator",
            "asthma control test",
        ],
        base: &["asthma", "asthma since childhood"],
        background: &[
            "Is bothered by cold air, exercise, and viral infections",
            "Has never required intubation",
            "Has a spacer at home",
            "Had allergy testing showing sensitivity to dust mites",
        ],
        fields: ALL,
    },
    Family {
        codes: &["E11.22", "E11.42", "E11.621", "E11.649", "E11.65", "E11.9"],
        deciding: &[
            "a1c",
            "glucose",
            "sugar",
            "hypoglyc",
            "hyperglyc",
            "high",
            "neuropath",
            "monofilament",
            "vibration",
            "numb",
            "tingl",
            "burn",
            "sensation",
            "kidney",
            "renal",
            "albumin",
            "egfr",
            "creatinine",
            "nephropath",
            "retinopath",
            "retina",
            "ulcer",
            "wound",
            "foot",
            "feet",
            "toe",
            "debrid",
            "polyuria",
            "polydipsia",
            "thirst",
            "urinat",
            "shaky",
            "sweat",
            "confus",
            "gabapentin",
            "pregabalin",
            "duloxetine",
            "insulin",
            "glucagon",
            "dextrose",
            "complicat",
            "control",
            "goal",
            "target",
            "acr",
            "glargine",
            "lispro",
            "glipizide",
            "glyburide",
            "sulfonylurea",
            "losartan",
            "lisinopril",
            "pulse",
            "dorsalis",
            "callus",
            "osteomyel",
            "probe",
            "cellulit",
            "culture",
            "vision",
            "blurr",
            "weight",
            "yeast",
            "intensify",
            "episode",
            "fingerstick",
            "meter",
            "cgm",
            "check",
            "no",
            "without",
            "intact",
            "normal",
            "foam",
            "swell",
            "edema",
            "potassium",
            "finerenone",
            "nsaid",
            "nocturia",
            "podiatr",
            "fall",
            "cast",
            "offload",
            "heal",
            "vascular",
            "dressing",
            "b-12",
            "b12",
            "tall",
            "meal",
            "low blood",
            "low sugar",
        ],
        base: &["type 2 diabetes", "type 2 diabetes mellitus", "T2DM", "non-insulin-dependent diabetes"],
        background: &[
            "Diagnosed with diabetes about 10 years ago",
            "Is seen by an endocrinologist yearly",
            "Has been following a carbohydrate-consistent diet",
        ],
        fields: TREATMENT,
    },
    Family {
        codes: &["E10.10", "E10.9"],
        deciding: &[
            "ketoacid",
            "dka",
            "ketone",
            "anion",
            "gap",
            "bicarb",
            "ph",
            "vomit",
            "nause",
            "abdominal",
            "kussmaul",
            "drip",
            "infusion",
            "fluid",
            "potassium",
            "glucose",
            "a1c",
            "well",
            "stable",
            "complicat",
            "hydroxybutyr",
            "icu",
            "intensive",
            "missed",
            "sick",
            "breath",
            "fruity",
            "dehydrat",
            "saline",
            "iv",
            "bolus",
            "regular insulin",
            "tachy",
            "lethar",
            "confus",
            "polyuria",
            "polydipsia",
            "control",
            "goal",
            "no",
            "without",
        ],
        base: &["type 1 diabetes", "T1DM", "type 1 diabetes since childhood"],
        background: &["Diagnosed with type 1 diabetes as a child", "Followed by endocrinology", "Has a medical alert bracelet"],
        fields: &["meds"],
    },
    Family {
        codes: &["I50.22", "I50.23", "I50.32", "I50.33", "I50.9"],
        deciding: &[
            "ejection",
            "ef",
            "lvef",
            "systolic",
            "diastolic",
            "reduced",
            "preserved",
            "hfref",
            "hfpef",
            "acute",
            "decompens",
            "exacerb",
            "overload",
            "edema",
            "swell",
            "crackles",
            "rales",
            "jvd",
            "jvp",
            "jugular",
            "bnp",
            "weight",
            "gain",
            "orthopnea",
            "pnd",
            "paroxysmal",
            "iv",
            "drip",
            "infusion",
            "diures",
            "effusion",
            "congestion",
            "sacubitril",
            "valsartan",
            "entresto",
            "carvedilol",
            "metoprolol",
            "spironolactone",
            "eplerenone",
            "nitroglycerin",
            "echo",
            "stable",
            "compensat",
            "euvolem",
            "baseline",
            "class",
            "nyha",
            "s3",
            "gallop",
            "cardiomegaly",
            "dyspnea",
            "breath",
            "sob",
            "spo2",
            "oxygen",
            "bp",
            "hepatojugular",
            "classify",
            "discharge",
            "dysfunction",
            "worse",
            "increas",
            "days",
            "icd",
            "defibrillator",
            "lvh",
            "no",
            "clear",
            "strict",
            "troponin",
            "pillow",
            "ran out",
            "beta blocker",
            "metolazone",
            "monitor bmp",
            "indiscretion",
            "nonadherence",
            "cardiomyopathy",
            "ischemic",
            "qrs",
        ],
        base: &["heart failure", "CHF", "congestive heart failure"],
        background: &[
            "Followed in the heart failure clinic",
            "Has been weighing daily at home and keeps a log",
            "Has been limiting fluids to 2 liters a day and sodium to 2 grams",
        ],
        fields: ALL,
    },
    Family {
        codes: &["I48.0", "I48.91"],
        deciding: &[
            "paroxysm",
            "persistent",
            "permanent",
            "episod",
            "terminat",
            "hour",
            "spontaneous",
            "convert",
            "intermittent",
            "holter",
            "monitor",
            "event",
            "ablation",
            "cardioversion",
            "sinus",
            "rhythm",
            "burden",
            "come",
            "go",
            "new",
            "onset",
            "duration",
            "unknown",
            "unspecified",
            "irregularly",
            "ecg",
            "ekg",
            "rate",
            "hr",
            "rvr",
            "pulse",
            "palpitat",
            "bolus",
            "infusion",
            "iv",
        ],
        base: &["atrial fibrillation", "AFib"],
        background: &["Followed by cardiology", "Has had a normal thyroid panel in the past", "Had an echocardiogram last year showing normal valves"],
        fields: ALL,
    },
    Family {
        codes: &["N18.31", "N18.32", "N18.4", "N18.6", "N18.9"],
        deciding: &[
            "egfr",
            "gfr",
            "stage",
            "dialysis",
            "hemodialysis",
            "fistula",
            "graft",
            "catheter",
            "esrd",
            "creatinine",
            "transplant",
            "erythropoie",
            "epoetin",
            "darbepoetin",
            "sevelamer",
            "calcium acetate",
            "phosph",
            "pth",
            "parathyroid",
            "calcitriol",
            "albumin",
            "acr",
            "3a",
            "3b",
            "uremi",
            "potassium",
            "bicarb",
            "anemia",
            "hemoglobin",
            "hgb",
            "kidney function",
            "unknown",
            "unspecified",
            "staging",
            "nephrology",
            "vein",
            "access",
            "preserv",
            "dry weight",
            "missed",
            "three times",
            "weekly",
            "modality",
            "ultrasound",
            "size",
            "urine output",
            "empagliflozin",
            "dapagliflozin",
            "sglt2",
            "metallic",
            "kt/v",
            "cinacalcet",
            "renal multivitamin",
            "vaccinate",
            "dietitian",
            "protein",
        ],
        base: &["chronic kidney disease", "CKD"],
        background: &[
            "Has been told to avoid nonsteroidal anti-inflammatory drugs",
            "Has all medications renally dosed",
            "Has been checking blood pressure at home",
        ],
        fields: TREATMENT,
    },
    Family {
        codes: &["M17.0", "M17.11", "M17.12"],
        deciding: SIDES,
        base: &[],
        background: &["Has tried physical therapy and a knee brace", "Uses a cane for longer distances"],
        fields: ALL,
    },
    Family { codes: &["M25.511", "M25.512"], deciding: SIDES, base: &[], background: &[], fields: ALL },
    Family { codes: &["M25.561", "M25.562"], deciding: SIDES, base: &[], background: &[], fields: ALL },
    Family { codes: &["S93.401A", "S93.402A"], deciding: SIDES, base: &[], background: &["Able to bear weight with some pain"], fields: ALL },
    Family { codes: &["L03.115", "L03.116"], deciding: SIDES, base: &[], background: &[], fields: ALL },
    Family { codes: &["M54.41", "M54.42"], deciding: SIDES, base: &["chronic low back pain"], background: &[], fields: ALL },
    Family { codes: &["C50.911", "C50.912"], deciding: SIDES, base: &[], background: &["Followed by medical oncology and breast surgery"], fields: &["plan"] },
    Family {
        codes: &["F32.9", "F32.A", "F33.1", "F33.9"],
        deciding: &[
            "recurrent",
            "episode",
            "single",
            "first",
            "prior",
            "previous",
            "again",
            "return",
            "moderate",
            "severe",
            "mild",
            "phq",
            "psychotic",
            "major",
            "remission",
            "unspecified",
            "relapse",
            "years",
            "score",
            "since",
            "past",
            "passive",
            "suicid",
            "c-ssrs",
            "life is not",
            "augment",
        ],
        base: &["depression"],
        background: &["Has worked with a counselor", "Has had irregular sleep", "Denies homicidal ideation"],
        fields: ALL,
    },
    Family {
        codes: &["F41.0", "F41.1", "F41.9"],
        deciding: &[
            "panic",
            "attack",
            "worry",
            "worries",
            "generalized",
            "constant",
            "discrete",
            "episod",
            "palpitat",
            "sudden",
            "gad",
            "minute",
            "dying",
            "racing",
            "avoid",
            "unspecified",
            "months",
            "daily",
            "most days",
            "restless",
            "tension",
            "chest",
            "breath",
            "peak",
            "score",
        ],
        base: &["anxiety"],
        background: &["Has cut back on caffeine", "Has practiced relaxation techniques"],
        fields: ALL,
    },
    Family {
        codes: &["E78.00", "E78.2", "E78.5"],
        deciding: &[
            "ldl",
            "triglycer",
            "tg",
            "hdl",
            "cholesterol",
            "mixed",
            "pure",
            "fenofibrate",
            "icosapent",
            "omega",
            "lipid",
            "non-hdl",
            "xanthom",
            "familial",
        ],
        base: &[],
        background: &["Has been following a low-fat diet"],
        fields: ALL,
    },
    Family {
        codes: &["D50.9", "D62", "D63.1", "D64.9"],
        deciding: &[
            "iron",
            "ferritin",
            "tsat",
            "saturation",
            "microcyt",
            "mcv",
            "bleed",
            "blood loss",
            "hemorrh",
            "melena",
            "transfus",
            "ckd",
            "kidney",
            "egfr",
            "epoetin",
            "erythropoie",
            "darbepoetin",
            "acute",
            "chronic",
            "ferrous",
            "tibc",
            "reticulocyte",
            "menorrhag",
            "heavy",
            "stool",
            "occult",
            "colonoscopy",
            "endoscopy",
            "egd",
            "pica",
            "chewing ice",
            "ice craving",
            "spoon",
            "unknown",
            "unclear",
            "work-up",
            "dialysis",
            "hemoglobin",
            "hgb",
        ],
        base: &["anemia"],
        background: &["Reports fatigue with exertion"],
        fields: &[],
    },
    Family {
        codes: &["N40.0", "N40.1"],
        deciding: &[
            "urinary",
            "urine",
            "urinat",
            "nocturia",
            "frequency",
            "urgency",
            "stream",
            "hesitancy",
            "void",
            "luts",
            "symptom",
            "ipss",
            "retention",
            "dribbl",
            "tamsulosin",
            "alfuzosin",
            "silodosin",
            "residual",
            "pvr",
            "asymptomatic",
            "incidental",
            "night",
            "empty",
            "straining",
            "alpha",
            "turp",
            "refractory",
            "routine",
        ],
        base: &[],
        background: &["Has had prostate-specific antigen followed yearly"],
        fields: ALL,
    },
    Family {
        codes: &["Z38.00", "Z38.01"],
        deciding: &[
            "vaginal",
            "cesarean",
            "c-section",
            "section",
            "svd",
            "nsvd",
            "delivery",
            "delivered",
            "born",
            "forceps",
            "vacuum",
            "labor",
            "breech",
            "repeat",
            "incision",
            "postoperative",
            "the or",
            "molding",
        ],
        base: &[],
        background: &[],
        fields: ALL,
    },
    Family {
        codes: &["R07.89", "R07.9"],
        deciding: &[
            "wall",
            "reproduc",
            "palpat",
            "costochondr",
            "tender",
            "musculoskeletal",
            "pleuritic",
            "sharp",
            "point",
            "press",
            "movement",
            "unclear",
            "unknown",
            "furniture",
            "strenuous",
            "lidocaine",
            "patch",
            "heat and ice",
            "affected area",
            "activity modification",
            "coughing",
        ],
        base: &[],
        background: &[],
        fields: ALL,
    },
    Family {
        codes: &["J02.0", "J02.9"],
        deciding: &[
            "strep",
            "rapid",
            "culture",
            "positive",
            "negative",
            "exudat",
            "amoxicillin",
            "penicillin",
            "viral",
            "cough",
            "rhinorrhea",
            "centor",
            "cephalexin",
            "azithromycin",
            "bacterial",
            "conjunctiv",
            "hoarse",
            "node",
            "lymph",
            "adenopathy",
            "fever",
            "petechiae",
            "antibiotic",
            "runny",
            "temperature",
            "congest",
        ],
        base: &[],
        background: &[],
        fields: ALL,
    },
];

pub(super) fn family_of(code: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.codes.contains(&code))
}

/// Whether an item carries none of the family's deciding words.
fn shareable(f: &Family, item: &str) -> bool {
    let lc = item.to_ascii_lowercase();
    !f.deciding.iter().any(|d| if d.len() <= 2 { contains_phrase_lc(&lc, d) } else { lc.contains(d) })
}

/// A primary's knowledge with its siblings' non-deciding items added.
pub(super) struct Shared {
    pub entry: Entry,
    /// Prescriptions ([`Lex::meds`]).
    pub meds: Vec<String>,
    /// Risk factors ([`Lex::risk`]).
    pub risk: Vec<String>,
    /// Family background sentences for the history.
    pub background: Vec<String>,
}

/// Whether `cand`'s item may be denied in a note for `p`: a sibling's deciding item only.
pub(super) fn deniable_for(p: &str, cand: &str, item: &str) -> bool {
    match family_of(p) {
        Some(f) if f.codes.contains(&cand) => !shareable(f, item),
        _ => true,
    }
}

/// Keeps each item with chance `keep` (items `always` says to keep stay), and at least
/// `min` of them (or all there are).
fn thin(rng: &R, items: &mut Vec<String>, keep: f64, min: usize, always: impl Fn(&str) -> bool) {
    let orig = items.clone();
    items.retain(|x| always(x) || chance(rng, keep));
    for x in pick_n(rng, &orig, orig.len()) {
        if items.len() >= min.min(orig.len()) {
            break;
        }
        if !items.contains(&x) {
            items.push(x);
        }
    }
}

/// The facts one note draws on for its primary: a share of the primary's own items (a
/// real note tells a few, not all), and for a member of a sibling family its siblings'
/// non-deciding items too (each with chance one half), with fewer of its own deciding
/// ones, so only a few words set it apart. `narrow` documents (procedure and imaging
/// reports) keep the primary's items whole.
pub(super) fn prepare(g: &Generator, p: &Lex, rng: &R, narrow: bool) -> Shared {
    let mut e = p.entry.clone();
    let mut meds = p.meds.clone();
    let mut risk = p.risk.clone();
    let fam = family_of(&p.code);
    if !narrow {
        let keep = if fam.is_some() { 0.45 } else { 0.65 };
        let always = |x: &str| fam.is_some_and(|f| f.fields == ALL && shareable(f, x));
        thin(rng, &mut e.symptoms, keep, 2, always);
        thin(rng, &mut e.exam, keep, 2, always);
        thin(rng, &mut e.tests, keep, 2, always);
        thin(rng, &mut e.plan, keep, 2, always);
        thin(rng, &mut meds, keep, 1, always);
    }
    let Some(f) = fam else {
        return Shared { entry: e, meds, risk, background: Vec::new() };
    };
    let add = |into: &mut Vec<String>, items: &[String]| {
        for it in items {
            if shareable(f, it) && !into.contains(it) && chance(rng, 0.5) {
                into.push(it.clone());
            }
        }
    };
    let has = |field: &str| f.fields.contains(&field);
    for c in f.codes.iter().filter(|c| **c != p.code) {
        let Some(s) = g.get(c) else { continue };
        for (field, into, items) in [
            ("symptoms", &mut e.symptoms, &s.entry.symptoms),
            ("exam", &mut e.exam, &s.entry.exam),
            ("tests", &mut e.tests, &s.entry.tests),
            ("plan", &mut e.plan, &s.entry.plan),
            ("meds", &mut meds, &s.meds),
            ("risk", &mut risk, &s.risk),
        ] {
            if has(field) {
                add(into, items);
            }
        }
    }
    // The family background is a fact of the patient, told in the history.
    let background = f.background.iter().filter(|_| chance(rng, 0.5)).map(|b| b.to_string()).collect();
    Shared { entry: e, meds, risk, background }
}

/// The family's shared name for the history, unless it is one of the primary's own names.
pub(super) fn base_name(p: &Lex, rng: &R) -> Option<String> {
    let f = family_of(&p.code)?;
    if f.base.is_empty() || !chance(rng, 0.6) {
        return None;
    }
    let b = pk(rng, f.base);
    let own = p.entry.terms.iter().chain(&p.entry.abbrevs).any(|t| t.eq_ignore_ascii_case(b));
    (!own).then(|| b.to_string())
}

/// Medications of other chronic conditions, not named in the note: a medication list alone
/// does not make a diagnosis codable.
pub(super) fn unnamed_meds(g: &Generator, record: &[&Lex], age: u32, female: bool, rng: &R, n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let listed: Vec<&String> = record.iter().flat_map(|l| l.meds.iter()).collect();
    for _ in 0..n * 6 {
        if out.len() >= n {
            break;
        }
        let cand = &g.lex[rng.gen_range(0..g.lex.len())];
        if cand.quiet_meds.is_empty()
            || cand.entry.kind != Kind::Chronic
            || ["F1", "Z", "O", "P", "C", "D0", "D1", "D2", "D3", "D4", "Q"].iter().any(|x| cand.code.starts_with(x))
            || !super::fits(cand, age, female)
            || record.iter().any(|l| conflicts(&l.code, &cand.code))
        {
            continue;
        }
        let m = pk(rng, &cand.quiet_meds).to_string();
        let drug = m.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
        if out.iter().chain(listed.iter().copied()).any(|x| {
            let x = x.to_ascii_lowercase();
            x.starts_with(&drug) || same_class(&drug, x.split_whitespace().next().unwrap_or(""))
        }) {
            continue;
        }
        out.push(m);
    }
    out
}

/// Two drugs of one class by their stems (simvastatin, atorvastatin): a list rarely has both.
fn same_class(a: &str, b: &str) -> bool {
    const STEMS: &[&str] = &[
        "statin",
        "pril",
        "sartan",
        "olol",
        "dipine",
        "gliptin",
        "gliflozin",
        "prazole",
        "tidine",
        "glutide",
        "azepam",
        "oxetine",
        "afil",
        "osin",
        "semide",
        "thiazide",
        "parin",
        "xaban",
    ];
    STEMS.iter().any(|s| a.ends_with(s) && b.ends_with(s))
}

/// Words that say nothing on their own (kept out of the overlap test).
const STOP: &[&str] =
    &["with", "without", "from", "after", "over", "that", "this", "than", "into", "when", "while", "some", "about", "mild", "more", "worse", "since"];

/// Other codes' symptoms, denied: the pertinent negatives of a differential. None shares a
/// content word with the record's own codes, so none contradicts what is coded.
pub(super) fn pertinent_negatives(g: &Generator, p: &Lex, record: &[&Lex], blob: &str, who: (u32, bool), rng: &R, n: usize) -> Vec<(String, String)> {
    let names: Vec<&str> = record.iter().flat_map(|l| l.names.iter().map(String::as_str)).filter(|n| n.len() >= 4).collect();
    let mut out: Vec<(String, String)> = Vec::new();
    for _ in 0..n * 10 {
        if out.len() >= n {
            break;
        }
        let cand = &g.lex[rng.gen_range(0..g.lex.len())];
        // Siblings of the primary's family are the differential that matters most.
        let sibling = family_of(&p.code).is_some_and(|f| f.codes.contains(&cand.code.as_str()) && cand.code != p.code);
        if cand.negatable.is_empty()
            || ["O", "P", "Z"].iter().any(|x| cand.code.starts_with(x))
            || !super::fits(cand, who.0, who.1)
            // The differential: the primary's own chapter, or now and then a general symptom.
            || !(cand.chapter == p.chapter || (cand.code.starts_with('R') && chance(rng, 0.3)))
            || (!sibling && record.iter().any(|l| conflicts(&l.code, &cand.code)))
            || record.iter().any(|l| l.code == cand.code)
            || out.iter().any(|(c, _)| *c == cand.code)
        {
            continue;
        }
        let s = pk(rng, &cand.negatable).to_ascii_lowercase();
        if !deniable_for(&p.code, &cand.code, &s) {
            continue;
        }
        let clash = s.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| w.len() >= 4 && !STOP.contains(w)).any(|w| blob.contains(w))
            || names.iter().any(|n| contains_phrase_lc(&s, n));
        if clash || out.iter().any(|(_, t)| *t == s) {
            continue;
        }
        out.push((cand.code.clone(), s));
    }
    out
}

/// Operations that end a condition: "laparoscopic appendectomy for acute appendicitis".
const CURATIVE: &[&str] = &["K35", "K80", "K40", "K44", "K64", "H25", "G56.0", "N20", "L72", "S52", "S72", "M75.1", "D22", "K57.32"];

/// Past operations for conditions outside the record, as `(code, text)`.
pub(super) fn past_operations(g: &Generator, record: &[&Lex], names: &[&str], age: u32, rng: &R, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if age < 25 {
        return out;
    }
    for prefix in pick_n(rng, CURATIVE, n) {
        let Some(cand) = g.lex.iter().find(|l| l.code.starts_with(prefix)) else { continue };
        let Some(proc_) = chart::procedure_for(&cand.code) else { continue };
        let name = pk(rng, &cand.short).to_string();
        let lname = name.to_ascii_lowercase();
        if record.iter().any(|l| conflicts(&l.code, &cand.code) || contains_phrase_lc(&l.blob, &lname))
            || names.iter().any(|x| x.len() >= 3 && (contains_phrase_lc(x, &lname) || contains_phrase_lc(&lname, x)))
        {
            continue;
        }
        let y = rng.gen_range(1990..2022);
        let p = super::lower_first(proc_);
        let text = match rng.gen_range(0..3) {
            0 => format!("{p} for {name} in {y}"),
            1 => format!("s/p {p} ({y}) for {name}"),
            _ => format!("{p}, {y}, for {name}; no recurrence"),
        };
        out.push((cand.code.clone(), text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::Knowledge;

    /// Every family member has a knowledge entry, and what a member takes from its
    /// siblings carries none of the family's deciding words (`ICD_SHOW_SHARED=1` prints it).
    #[test]
    fn families_are_labels_and_share_only_non_deciding_items() {
        let k = Knowledge::embedded().unwrap();
        let show = std::env::var("ICD_SHOW_SHARED").is_ok();
        for f in FAMILIES {
            assert!(f.codes.len() >= 2);
            for c in f.codes {
                assert!(k.get(c).is_some(), "family member {c} has no knowledge entry");
            }
            for b in f.background {
                assert!(shareable(f, b), "{b:?} carries a deciding word of {:?}", f.codes);
                // Told as a statement, never as a complaint ("presents with ...").
                assert!(!super::super::is_complaint(b), "{b:?} reads as a complaint");
            }
            for c in f.codes {
                let e = k.get(c).unwrap();
                let fields: [(&str, &Vec<String>); 6] =
                    [("symptoms", &e.symptoms), ("exam", &e.exam), ("tests", &e.tests), ("meds", &e.meds), ("plan", &e.plan), ("risk", &e.risk)];
                let items: Vec<&String> = fields.iter().filter(|(n, _)| f.fields.contains(n)).flat_map(|(_, v)| v.iter()).collect();
                let shared: Vec<&&String> = items.iter().filter(|i| shareable(f, i)).collect();
                if show {
                    println!("{c} shares {shared:?}");
                }
                if f.deciding == SIDES {
                    for s in &shared {
                        for side in ["right", "left", "bilateral"] {
                            assert!(!contains_phrase_lc(&s.to_ascii_lowercase(), side), "{c}: {s:?}");
                        }
                    }
                }
            }
        }
        assert!(!deniable_for("J44.9", "J44.0", "chronic morning cough"));
        assert!(deniable_for("J44.9", "J44.0", "fever"));
    }
}
