//! Composes one note: picks the patient, the note type, secondary codes and
//! distractors, then writes the sections in that note type's shape and the note's style.

use serde_json::{json, Map, Value};

use super::leak::{contains_phrase_lc, estimate_tokens};
use super::style::{abbreviate, cap, chance, pick, pick_n, pk, prose_list, sentence, typos, Style, R};
use super::vocab::{self, Sec, SYSTEMS};
use super::{conflicts, Generator, Lex};
use crate::knowledge::{Kind, Setting, Sex};

mod chart;
mod mix;

pub(crate) struct Note {
    pub text: String,
    pub codes: Vec<String>,
    pub meta: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoteType {
    OneLiner,
    Brief,
    Nurse,
    Telehealth,
    Soap,
    Hp,
    Ed,
    Discharge,
    Consult,
    // v2: dictated, full-length chart documents (see `chart.rs`).
    FullHp,
    Operative,
    Endoscopy,
    Radiology,
    HospitalDischarge,
    ConsultLetter,
    ChronicFollowUp,
    Psych,
    Obstetric,
    Newborn,
}

impl NoteType {
    fn name(self) -> &'static str {
        match self {
            NoteType::OneLiner => "one_liner",
            NoteType::Brief => "brief_progress",
            NoteType::Nurse => "nurse_note",
            NoteType::Telehealth => "telehealth",
            NoteType::Soap => "primary_care_soap",
            NoteType::Hp => "history_and_physical",
            NoteType::Ed => "ed_note",
            NoteType::Discharge => "discharge_summary",
            NoteType::Consult => "consult",
            NoteType::FullHp => "history_and_physical_full",
            NoteType::Operative => "operative_report",
            NoteType::Endoscopy => "endoscopy_report",
            NoteType::Radiology => "radiology_report",
            NoteType::HospitalDischarge => "discharge_summary_full",
            NoteType::ConsultLetter => "consult_letter",
            NoteType::ChronicFollowUp => "chronic_followup",
            NoteType::Psych => "psychiatric_evaluation",
            NoteType::Obstetric => "obstetric_note",
            NoteType::Newborn => "newborn_note",
        }
    }

    /// The v1 short-note shapes (kept at a minority share in v2).
    fn is_v1(self) -> bool {
        matches!(
            self,
            NoteType::OneLiner
                | NoteType::Brief
                | NoteType::Nurse
                | NoteType::Telehealth
                | NoteType::Soap
                | NoteType::Hp
                | NoteType::Ed
                | NoteType::Discharge
                | NoteType::Consult
        )
    }
}

struct Distractor {
    kind: &'static str,
    code: Option<String>,
    text: String,
}

/// Everything decided about one note before writing it.
struct Case<'g, 'a> {
    p: &'g Lex<'a>,
    secs: Vec<&'g Lex<'a>>,
    age: u32,
    female: bool,
    nt: NoteType,
    style: Style,
    /// How the primary is named (None: only implied by symptoms, meds and tests).
    pterm: Option<String>,
    psource: &'static str,
    complaints: Vec<String>,
    statements: Vec<String>,
    /// The primary's risk factors, less family history of the record's own conditions.
    risk: Vec<String>,
    ros_neg: Vec<usize>,
    distractors: Vec<Distractor>,
    vitals_from_primary: Vec<String>,
    exam: Vec<String>,
    surname: &'static str,
    /// Sentences that name a sibling label's deciding words as absent (J44.9: "not in exacerbation").
    contrast: Vec<String>,
    /// Which first-listed-code guideline applied.
    rule: &'static str,
    /// Screening encounter whose finding is coded as the first secondary.
    screen_finding: bool,
    /// One name per secondary (v2 documents), drawn once so long notes do not re-roll the official title.
    sec_names: Vec<String>,
    /// The shared name of the primary's sibling family, for the history ("COPD").
    base: Option<String>,
    /// A secondary told in more detail than the primary (multi-problem visits).
    focus: Option<&'g Lex<'a>>,
    /// The focus secondary's complaints that negate none of the record's codes.
    focus_sym: Vec<String>,
    /// Medications of conditions the note does not name.
    extra_meds: Vec<String>,
}

/// Symptoms that read as a complaint ("crampy abdominal pain") rather than a statement
/// ("no recent nighttime symptoms", "recently finished clindamycin").
pub(crate) fn is_complaint(s: &str) -> bool {
    const NOT: &[&str] = &[
        "no",
        "not",
        "denies",
        "denied",
        "adherent",
        "asymptomatic",
        "asymptomatic,",
        "recently",
        "recent",
        "found",
        "several",
        "history",
        "family",
        "patient",
        "pt",
        "reports",
        "states",
        "was",
        "is",
        "has",
        "had",
        "took",
        "unable",
        "able",
        "currently",
        "otherwise",
        "mother",
        "father",
        "wife",
        "husband",
        "parents",
        "last",
        "lives",
        "works",
        "uses",
        "using",
        "on",
        "off",
        "needs",
        "wants",
        "here",
        "referred",
        "seen",
        "sent",
        "presents",
        "brought",
        "started",
        "stopped",
        "tried",
        "prior",
        "previous",
        "previously",
        "incidental",
        "screening",
        "routine",
        "up",
        "first",
        "due",
        "missed",
        "taking",
        "drinks",
        "smokes",
        "quit",
        "sleeps",
        "feels",
        "teacher",
        "needed",
        "would",
        "wakes",
        "gets",
        "gained",
        "lost",
        "finished",
        "completed",
        "desires",
        "requests",
        "plans",
        "interested",
        "good",
        "mild",
        "occasional",
        "rarely",
        "rescue",
        "home",
        "daily",
        "no,",
        "stable",
        "tolerating",
        "well",
    ];
    let first = s.split_whitespace().next().unwrap_or("").to_lowercase();
    let one_adjective = !s.contains(' ') && (first.ends_with("less") || first.ends_with("ful"));
    !NOT.contains(&first.as_str()) && !first.ends_with("ed") && !first.ends_with("ing") && s.len() < 70 && !one_adjective
        || matches!(first.as_str(), "mild" | "occasional")
}

fn name_of(rng: &R, l: &Lex, official_p: f64) -> (String, &'static str) {
    let e = l.entry;
    let r: f64 = rng.gen_f64();
    if r < official_p {
        let o = if chance(rng, 0.5) { l.official.to_lowercase() } else { l.official.clone() };
        return (o, "official");
    }
    for _ in 0..3 {
        let (t, src) = if !e.abbrevs.is_empty() && chance(rng, 0.17) {
            (pick(rng, &e.abbrevs).clone(), "abbrev")
        } else if !l.cms.is_empty() && chance(rng, 0.15) {
            (lower_first(pk(rng, &l.cms)), "cms_inclusion")
        } else {
            (pick(rng, &e.terms).clone(), "term")
        };
        // A name that contains the official title verbatim ("dehydration") is kept only
        // sometimes, to hold the title's share of notes down where other wordings exist.
        if !contains_phrase_lc(&t.to_ascii_lowercase(), &l.official.to_ascii_lowercase()) || chance(rng, 0.3) {
            return (t, src);
        }
    }
    (pick(rng, &e.terms).clone(), "term")
}

/// "Asthma NOS" -> "asthma NOS"; "COPD" stays.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match (c.next(), s.chars().nth(1)) {
        (Some(f), Some(n)) if f.is_uppercase() && n.is_lowercase() => f.to_lowercase().chain(c).collect(),
        _ => s.to_string(),
    }
}

fn term(rng: &R, l: &Lex) -> String {
    name_of(rng, l, 0.012).0
}

fn duration(rng: &R, kind: Kind) -> String {
    let n = rng.gen_range(2..=9);
    match kind {
        Kind::Injury => {
            pick(rng, &["today", "earlier today", "this morning", "last night", "about 2 hours prior to arrival", "yesterday evening", "just prior to arrival"])
                .to_string()
        }
        Kind::Chronic | Kind::Status => {
            let opts = [
                format!("for {n} months"),
                "for several months".into(),
                "for the past year".into(),
                format!("x {n} mo"),
                "for years".into(),
                format!("over the past {n} weeks"),
            ];
            pick(rng, &opts).clone()
        }
        _ => {
            let opts = [
                format!("for {n} days"),
                format!("x{n} days"),
                "since yesterday".into(),
                "for the past week".into(),
                format!("x {n}d"),
                format!("for about {n} days"),
                "since this morning".into(),
                format!("over the last {} weeks", n / 3 + 1),
                "for 1 day".into(),
            ];
            pick(rng, &opts).clone()
        }
    }
}

impl<'g, 'a> Case<'g, 'a> {
    fn codes(&self) -> impl Iterator<Item = &'g Lex<'a>> + '_ {
        std::iter::once(self.p).chain(self.secs.iter().copied())
    }

    fn he(&self) -> &'static str {
        if self.female {
            "she"
        } else {
            "he"
        }
    }

    /// "54 yo M", "a 54-year-old man", "3-year-old girl", ...
    fn who(&self, rng: &R) -> String {
        let a = self.age;
        let f = self.female;
        let (m1, m2, m3) = if f { ("F", "female", "woman") } else { ("M", "male", "man") };
        if a == 0 {
            let d = rng.gen_range(1..=6);
            let opts = [format!("{d}-day-old {m2} infant"), format!("term newborn {m2}"), format!("{d} day old {}", if f { "girl" } else { "boy" })];
            return pick(rng, &opts).clone();
        }
        if a < 13 {
            let kid = if f { "girl" } else { "boy" };
            let opts = [format!("{a}-year-old {kid}"), format!("{a} yo {m1}"), format!("{a} y/o {m2}"), format!("{a}-year-old {m2}")];
            return pick(rng, &opts).clone();
        }
        let older = if f { "lady" } else { "gentleman" };
        let opts = [
            format!("{a} yo {m1}"),
            format!("{a} y/o {m2}"),
            format!("{a}-year-old {m3}"),
            format!("{a}-year-old {m2}"),
            format!("{a}{m1}"),
            format!("{a} year old {older}"),
            format!("{a}-year-old {m2}"),
        ];
        pick(rng, &opts).clone()
    }

    fn subject(&self, rng: &R) -> String {
        let title = if self.female { "Ms." } else { "Mr." };
        let opts = ["The patient".to_string(), "Patient".into(), "Pt".into(), cap(self.he()), format!("{title} {}", self.surname)];
        pick(rng, &opts).clone()
    }

    fn pname(&self, rng: &R) -> Option<String> {
        // Re-name sometimes, so one note mixes "asthma" and "RAD" as real notes do.
        match &self.pterm {
            None => None,
            Some(t) if chance(rng, 0.7) || self.psource == "official" => Some(t.clone()),
            Some(_) => Some(name_of(rng, self.p, 0.0).0),
        }
    }

    fn complaint(&self, rng: &R) -> String {
        if self.complaints.is_empty() {
            self.pname(rng).unwrap_or_else(|| "follow-up".into())
        } else {
            pick(rng, &self.complaints).clone()
        }
    }

    fn distractors_of(&self, kinds: &[&str]) -> Vec<String> {
        self.distractors.iter().filter(|d| kinds.contains(&d.kind)).map(|d| d.text.clone()).collect()
    }

    fn cc(&self, rng: &R) -> String {
        let k = self.p.entry.kind;
        if matches!(k, Kind::Encounter) {
            return self.pname(rng).unwrap_or_else(|| "routine visit".into());
        }
        if matches!(k, Kind::Chronic | Kind::Status) && chance(rng, 0.5) {
            if let Some(t) = self.pname(rng) {
                return pick(rng, &[format!("f/u {t}"), format!("Follow-up of {t}"), format!("{t} follow up"), format!("Recheck {t}")]).clone();
            }
        }
        let c = self.complaint(rng);
        if chance(rng, 0.2) {
            format!("\"{}\"", cap(&c))
        } else if chance(rng, 0.3) {
            format!("{} {}", cap(&c), duration(rng, k))
        } else {
            cap(&c)
        }
    }

    fn hpi(&self, rng: &R, long: bool) -> String {
        let e = self.p.entry;
        let who = self.who(rng);
        let mut out: Vec<String> = Vec::new();
        let pmh: Vec<String> = self.secs.iter().filter(|s| in_pmh(s) && chance(rng, 0.6)).map(|s| term(rng, s)).collect();
        let with_pmh = if pmh.is_empty() {
            String::new()
        } else {
            let l = prose_list(rng, &pmh);
            pick(rng, &[format!(" with a history of {l}"), format!(" with PMH of {l}"), format!(" w/ hx {l}"), format!(" with {l}")]).clone()
        };
        let c1 = self.complaint(rng);
        let dur = duration(rng, e.kind);
        let mut named = false;
        let intro = match (e.kind, self.pname(rng)) {
            (Kind::Encounter, Some(t)) => {
                named = true;
                pick(
                    rng,
                    &[
                        format!("{}{with_pmh} presents for {t}.", cap(&who)),
                        format!("This is a {who}{with_pmh} here for {t}."),
                        format!("{} is a {who} seen today for {t}.", self.subject(rng)),
                    ],
                )
                .clone()
            }
            (Kind::Chronic | Kind::Status, Some(t)) if chance(rng, 0.5) => {
                named = true;
                pick(
                    rng,
                    &[
                        format!("{}{with_pmh} presents for follow-up of {t}.", cap(&who)),
                        format!("{} is a {who} who returns for {t}.", self.subject(rng)),
                        format!("Patient is a {who}{with_pmh}, seen today for routine follow-up of {t}."),
                        format!("{} here for {t} recheck.", cap(&who)),
                    ],
                )
                .clone()
            }
            _ => {
                let opts = [
                    format!("{}{with_pmh} presents with {c1} {dur}.", cap(&who)),
                    format!("Patient is a {who}{with_pmh} who comes in complaining of {c1} {dur}."),
                    format!("{} c/o {c1} {dur}.", cap(&who)),
                    format!(
                        "This is a {who}{with_pmh} who reports {c1}, which started {}.",
                        if matches!(e.kind, Kind::Injury) { dur.clone() } else { format!("about {} days ago", rng.gen_range(2..8)) }
                    ),
                    format!("{} is a {who} presenting with {c1} {dur}.", self.subject(rng)),
                    format!("{} states, \"I have had {c1}.\" {} is a {who}{with_pmh}.", self.subject(rng), cap(self.he())),
                ];
                pick(rng, &opts).clone()
            }
        };
        out.push(intro);
        let n_more = if long { self.complaints.len() + self.statements.len() } else { rng.gen_range(1..=3) };
        let mut more: Vec<String> = self.complaints.iter().filter(|c| **c != c1).cloned().collect();
        more.extend(self.statements.iter().cloned());
        let more = pick_n(rng, &more, n_more);
        for m in more {
            let s = if is_complaint(&m) {
                match rng.gen_range(0..5) {
                    0 => format!("{} reports {m}.", cap(self.he())),
                    1 => format!("Also notes {m}."),
                    2 => format!("Associated {m}."),
                    3 => format!("+ {m}."),
                    _ => sentence(&m),
                }
            } else {
                sentence(&m)
            };
            out.push(s);
        }
        for s in self.secs.iter().filter(|s| is_current(s)) {
            if chance(rng, 0.5) {
                let t = term(rng, s);
                out.push(pick(rng, &[format!("Also found to have {t}."), format!("Course complicated by {t}."), format!("Noted to have {t}.")]).clone());
            }
        }
        if !self.risk.is_empty() && chance(rng, if long { 0.8 } else { 0.4 }) {
            let r = pick(rng, &self.risk).clone();
            out.push(pick(rng, &[sentence(&r), format!("Notable for {r}."), format!("Pertinent history: {r}."), format!("Risk factors include {r}.")]).clone());
        }
        if !named && chance(rng, 0.45) {
            if let Some(t) = self.pname(rng) {
                let s = match e.kind {
                    Kind::Chronic | Kind::Status => pick(
                        rng,
                        &[format!("History of {t}."), format!("Known {t}."), format!("{} has a long history of {t}.", cap(self.he())), format!("Hx {t}.")],
                    )
                    .clone(),
                    _ => {
                        pick(rng, &[format!("Seen at urgent care and told {t}."), format!("Presentation is suggestive of {t}."), format!("Referred for {t}.")])
                            .clone()
                    }
                };
                out.push(s);
            }
        }
        if matches!(e.kind, Kind::Chronic | Kind::Status) && chance(rng, 0.5) {
            let m = pick(rng, &self.p.meds).clone();
            out.push(pick(rng, &[format!("Currently taking {m}."), format!("Has been adherent to {m}."), format!("On {m}.")]).clone());
        }
        for d in self.distractors_of(&["resolved"]) {
            if chance(rng, 0.4) {
                out.push(format!("Of note, {d}."));
            }
        }
        if !self.ros_neg.is_empty() && chance(rng, 0.6) {
            let negs: Vec<String> = pick_n(rng, &self.ros_neg, rng.gen_range(2..=4)).iter().map(|&i| vocab::ROS_NEG[i].0.to_string()).collect();
            let l = prose_list(rng, &negs);
            out.push(pick(rng, &[format!("Denies {l}."), format!("No {l}."), format!("{} denies {l}.", cap(self.he())), format!("Negative for {l}.")]).clone());
        }
        let pn = self.distractors_of(&["pertinent_negative"]);
        if !pn.is_empty() {
            let l = prose_list(rng, &pn);
            out.push(pick(rng, &[format!("Denies {l}."), format!("No {l}."), format!("{} denies {l}.", cap(self.he()))]).clone());
        }
        out.extend(self.contrast.iter().cloned());
        if long && chance(rng, 0.4) {
            out.push(
                pick(
                    rng,
                    &[
                        "No recent travel or sick contacts.",
                        "No prior similar episodes.",
                        "Symptoms have been gradually worsening.",
                        "Tried over-the-counter remedies without relief.",
                        "Otherwise in usual state of health.",
                    ],
                )
                .to_string(),
            );
        }
        out.join(" ")
    }

    fn pmh(&self, rng: &R) -> String {
        let mut items: Vec<String> = self.secs.iter().filter(|s| in_pmh(s)).map(|s| term(rng, s)).collect();
        for d in self.distractors_of(&["resolved"]) {
            items.push(d);
        }
        if matches!(self.p.entry.kind, Kind::Chronic) && chance(rng, 0.35) {
            if let Some(t) = self.pname(rng) {
                items.insert(0, t);
            }
        }
        if let Some(b) = &self.base {
            items.insert(0, b.clone());
        }
        if items.is_empty() {
            return pick(rng, &["None", "Noncontributory", "No significant past medical history", "Otherwise healthy", "Denies"]).to_string();
        }
        if self.style.numbered && items.len() > 1 {
            items.iter().enumerate().map(|(i, t)| format!("{}. {}", i + 1, cap(t))).collect::<Vec<_>>().join("\n")
        } else {
            self.style.list(rng, &items)
        }
    }

    fn meds(&self, rng: &R, chronic_primary: bool) -> String {
        let mut m: Vec<String> = Vec::new();
        if chronic_primary {
            m.extend(pick_n(rng, &self.p.meds, rng.gen_range(1..=2)));
        }
        for s in &self.secs {
            if s.entry.kind != Kind::Status || s.code.starts_with("Z79") {
                m.push(pick(rng, &s.meds).clone());
            }
        }
        if chance(rng, 0.3) {
            m.push(pick(rng, vocab::GENERIC_MEDS).to_string());
        }
        m.extend(self.extra_meds.iter().cloned());
        // A code whose table has only instructions ("stop decongestants") lists none of them.
        m.retain(|x| !super::is_instruction(&x.to_ascii_lowercase()));
        if m.is_empty() {
            return pick(rng, &["None", "No daily medications", "none"]).to_string();
        }
        if self.style.bullets || m.len() > 3 {
            m.iter().map(|x| format!("- {x}")).collect::<Vec<_>>().join("\n")
        } else {
            m.join(", ")
        }
    }

    fn social(&self, rng: &R) -> String {
        let mut parts: Vec<String> = Vec::new();
        if self.age < 18 {
            parts.push(if self.age < 5 {
                "Lives with parents.".into()
            } else {
                format!("Lives with parents, in grade {} at school.", (self.age.saturating_sub(5)).clamp(1, 12))
            });
            return parts.join(" ");
        }
        if chance(rng, 0.6) {
            parts.push(if chance(rng, 0.5) {
                format!("Works as a {}.", pick(rng, vocab::OCCUPATIONS))
            } else {
                format!("Lives with {}.", pick(rng, vocab::LIVES_WITH))
            });
        }
        let find = |p: &str| self.secs.iter().find(|s| s.code.starts_with(p));
        match find("F17").or_else(|| find("Z87.891")) {
            Some(s) => parts.push(sentence(&format!("Tobacco: {}", term(rng, s)))),
            None => parts.push(pick(rng, &["Never smoker.", "Denies tobacco use.", "No tobacco.", "Nonsmoker."]).to_string()),
        }
        match find("F10") {
            Some(s) => parts.push(sentence(&format!("Alcohol: {}", term(rng, s)))),
            None => parts
                .push(pick(rng, &["Occasional alcohol.", "Drinks socially.", "Denies alcohol use.", "1-2 glasses of wine per week.", "No EtOH."]).to_string()),
        }
        match find("F11").or_else(|| find("F12")) {
            Some(s) => parts.push(sentence(&format!("Substance use: {}", term(rng, s)))),
            None => {
                if chance(rng, 0.6) {
                    parts.push(pick(rng, &["Denies illicit drug use.", "No drug use.", "No recreational drugs."]).to_string())
                }
            }
        }
        parts.join(" ")
    }

    fn family(&self, rng: &R) -> String {
        let fh = self.distractors_of(&["family_history"]);
        if fh.is_empty() {
            return pick(rng, &["Noncontributory.", "Unremarkable.", "No pertinent family history.", "Reviewed, noncontributory."]).to_string();
        }
        fh.iter().map(|f| sentence(f)).collect::<Vec<_>>().join(" ")
    }

    fn ros(&self, rng: &R, full: bool) -> String {
        let positive: Vec<String> = pick_n(rng, &self.complaints, 2);
        if !full {
            let negs: Vec<String> = pick_n(rng, &self.ros_neg, rng.gen_range(3..=6)).iter().map(|&i| vocab::ROS_NEG[i].0.to_string()).collect();
            if negs.is_empty() {
                return "Negative except as per HPI.".into();
            }
            let mut s = match rng.gen_range(0..3) {
                0 => format!("Denies {}.", prose_list(rng, &negs)),
                1 => format!("Negative for {}.", negs.join(", ")),
                _ => format!("No {}.", prose_list(rng, &negs)),
            };
            if !positive.is_empty() && chance(rng, 0.5) {
                s = format!("Positive for {}. {s}", positive.join(", "));
            } else if chance(rng, 0.4) {
                s.push_str(" All other systems reviewed and negative.");
            }
            return s;
        }
        let mut lines = Vec::new();
        for (sys, idx) in vocab::ROS_SYSTEMS {
            let negs: Vec<&str> = idx.iter().filter(|i| self.ros_neg.contains(i)).map(|&i| vocab::ROS_NEG[i].0).collect();
            let body = if negs.is_empty() { "As per HPI.".to_string() } else { format!("Negative for {}.", negs.join(", ")) };
            lines.push(format!("{sys}: {body}"));
        }
        if !positive.is_empty() {
            lines.insert(0, format!("Pertinent positives: {}.", positive.join(", ")));
        }
        lines.join(if self.style.bullets { "\n" } else { " " })
    }

    fn vitals(&self, rng: &R) -> String {
        if !self.vitals_from_primary.is_empty() {
            return self.vitals_from_primary.join(", ");
        }
        let (sbp, dbp) = (rng.gen_range(104..=136), rng.gen_range(62..=84));
        let hr = rng.gen_range(60..=96);
        let rr = rng.gen_range(12..=18);
        let spo2 = rng.gen_range(96..=100);
        let t = if chance(rng, 0.6) { format!("T {:.1} F", rng.gen_range(97.4..99.0)) } else { format!("T {:.1} C", rng.gen_range(36.3..37.2)) };
        match rng.gen_range(0..3) {
            0 => format!("BP {sbp}/{dbp}, HR {hr}, RR {rr}, {t}, SpO2 {spo2}% RA"),
            1 => format!("{t}, BP {sbp}/{dbp}, P {hr}, R {rr}, O2 sat {spo2}% on room air"),
            _ => format!("Blood pressure {sbp}/{dbp}, pulse {hr}, respirations {rr}, temperature {}, saturation {spo2}%", &t[2..]),
        }
    }

    /// Exam with the primary's findings routed to their body system; other systems normal.
    fn exam(&self, rng: &R, full: bool) -> String {
        let mut by_sys: Vec<Vec<String>> = vec![Vec::new(); SYSTEMS.len()];
        for f in &self.exam {
            let lf = format!(" {} ", f.to_lowercase());
            let i = SYSTEMS.iter().position(|s| s.keys.iter().any(|k| lf.contains(k))).unwrap_or(0);
            by_sys[i].push(f.clone());
        }
        let mut lines = Vec::new();
        for (i, s) in SYSTEMS.iter().enumerate() {
            let core = matches!(s.labels[0], "Gen" | "Lungs" | "CV");
            let include = !by_sys[i].is_empty() || (full && s.labels[0] != "Breast") || core && chance(rng, 0.7);
            if !include {
                continue;
            }
            let label = s.labels[self.style.hcase.min(2) as usize];
            let body = if by_sys[i].is_empty() { pick(rng, s.normal).to_string() } else { by_sys[i].join(", ") };
            lines.push(format!("{label}: {body}"));
        }
        lines.join(if self.style.bullets || chance(rng, 0.6) { "\n" } else { ". " })
    }

    fn data(&self, rng: &R, long: bool) -> String {
        let e = self.p.entry;
        let n = if long { e.tests.len() } else { rng.gen_range(1..=3) };
        let mut t: Vec<String> = pick_n(rng, &e.tests, n).into_iter().filter(|x| !self.vitals_from_primary.contains(x)).collect();
        for s in &self.secs {
            if chance(rng, 0.25) {
                t.push(pick(rng, &s.entry.tests).clone());
            }
        }
        for d in self.distractors_of(&["negated"]) {
            if chance(rng, 0.3) {
                t.push(d);
            }
        }
        self.style.list(rng, &t)
    }

    fn primary_plan(&self, rng: &R) -> Vec<String> {
        let e = self.p.entry;
        let mut v: Vec<String> = pick_n(rng, &e.plan, rng.gen_range(1..=3));
        let m = pick(rng, &self.p.meds).clone();
        let verb = match e.kind {
            Kind::Chronic | Kind::Status => pick(rng, &["continue", "Continue", "increase to", "start", "refill"]),
            _ => pick(rng, &["start", "Start", "given", "Rx", "prescribed"]),
        };
        v.insert(rng.gen_range(0..=v.len()), format!("{verb} {m}"));
        v
    }

    fn sec_plan(&self, rng: &R, s: &Lex) -> String {
        match rng.gen_range(0..4) {
            0 => format!("continue {}", pick(rng, &s.meds)),
            1 => pick(rng, &s.entry.plan).clone(),
            2 => pick(rng, &["stable", "stable, no changes", "at baseline", "well controlled", "monitor"]).to_string(),
            _ => format!("stable on {}", pick(rng, &s.meds)),
        }
    }

    fn secs_for_assessment(&self, rng: &R, pmh_shown: bool, sh_shown: bool) -> Vec<&'g Lex<'a>> {
        self.secs
            .iter()
            .copied()
            .filter(|s| {
                let documented = (pmh_shown && in_pmh(s)) || (sh_shown && social_code(&s.code));
                !documented || chance(rng, 0.65)
            })
            .collect()
    }

    fn implied(&self, rng: &R) -> String {
        pick(
            rng,
            &["Symptoms and findings as above", "Presentation as described in HPI", "Clinical picture as above", "Findings as documented above", "As above"],
        )
        .to_string()
    }

    /// The assessment and plan, in one of three shapes.
    /// `pmh_shown` / `sh_shown`: the past-history / social-history section documents the
    /// chronic / substance-use secondaries, so the assessment may leave some of them out.
    fn assessment_plan(&self, rng: &R, parts: &mut Vec<String>, pmh_shown: bool, sh_shown: bool) {
        let st = &self.style;
        let pt = self.pname(rng).unwrap_or_else(|| self.implied(rng));
        let plan = self.primary_plan(rng);
        let rule = self.distractors_of(&["ruled_out", "negated"]);
        let rule_s: String = rule.iter().filter(|_| chance(rng, 0.8)).map(|r| format!(" {}", sentence(r))).collect();
        let secs: Vec<(String, String)> =
            self.secs_for_assessment(rng, pmh_shown, sh_shown).into_iter().map(|s| (term(rng, s), self.sec_plan(rng, s))).collect();
        match rng.gen_range(0..3) {
            0 if st.numbered => {
                let mut lines = vec![format!("1. {}{} {}.{rule_s}", cap(&pt), pick(rng, &[":", " -", "."]), plan.join("; "))];
                for (i, (t, p)) in secs.iter().enumerate() {
                    lines.push(format!("{}. {} - {p}.", i + 2, cap(t)));
                }
                parts.push(st.section(rng, Sec::AssessPlan, &lines.join("\n")));
            }
            1 => {
                let mut a = sentence(&pt);
                if !secs.is_empty() {
                    let l: Vec<String> = secs.iter().map(|(t, _)| t.clone()).collect();
                    a.push_str(&format!(" {}", sentence(&format!("{} {}", pick(rng, &["Also", "Additional:", "Comorbid", "Chronic:"]), prose_list(rng, &l)))));
                }
                a.push_str(&rule_s);
                parts.push(st.section(rng, Sec::Assessment, &a));
                let mut p: Vec<String> = plan.iter().map(|x| cap(x)).collect();
                for (t, sp) in &secs {
                    p.push(format!("{}: {sp}", cap(t)));
                }
                let body = if st.bullets {
                    p.iter().map(|x| format!("- {x}")).collect::<Vec<_>>().join("\n")
                } else {
                    p.iter().map(|x| sentence(x)).collect::<Vec<_>>().join(" ")
                };
                parts.push(st.section(rng, Sec::Plan, &body));
            }
            _ => {
                let who = self.who(rng);
                let mut s = format!("{} with {pt}.{rule_s} ", cap(&who));
                s.push_str(&plan.iter().map(|x| sentence(x)).collect::<Vec<_>>().join(" "));
                for (t, sp) in &secs {
                    s.push_str(&format!(" {}", sentence(&format!("{}: {sp}", cap(t)))));
                }
                parts.push(st.section(rng, Sec::AssessPlan, &s));
            }
        }
    }

    fn write(&self, rng: &R) -> String {
        let st = &self.style;
        let e = self.p.entry;
        let chronic = matches!(e.kind, Kind::Chronic | Kind::Status);
        let mut parts: Vec<String> = Vec::new();
        match self.nt {
            NoteType::OneLiner => return self.one_liner(rng),
            NoteType::Nurse => {
                let c = self.complaint(rng);
                let mut s = format!(
                    "{} {} {c}. VS: {}.",
                    pick(rng, &["Nursing note:", "RN note:", "Nurse triage:", "", "Phone call:"]),
                    pick(rng, &["Pt c/o", "Patient reports", "Pt states", "Pt seen for"]),
                    self.vitals(rng)
                );
                if let Some(t) = self.pname(rng).filter(|_| chance(rng, 0.8)) {
                    s.push_str(&format!(" {}", pick(rng, &[format!("Hx {t}."), format!("Known {t}."), format!("Dx: {t}."), format!("Pt with {t}.")])));
                }
                if !self.secs.is_empty() {
                    let t: Vec<String> = self.secs.iter().map(|x| term(rng, x)).collect();
                    s.push_str(&format!(" Also {}.", prose_list(rng, &t)));
                }
                if chance(rng, 0.6) {
                    s.push_str(&format!(" {}.", cap(pk(rng, &self.p.meds))));
                }
                s.push_str(&format!(
                    " {}",
                    pick(rng, &["MD notified.", "Will continue to monitor.", "Provider aware.", "Advised to call back if worse.", "Call light in reach."])
                ));
                return s.trim().to_string();
            }
            NoteType::Brief => {
                parts.push(st.section(rng, Sec::Subjective, &self.hpi(rng, false)));
                if chance(rng, 0.6) {
                    parts.push(st.section(rng, Sec::Exam, &self.exam(rng, false)));
                }
                self.assessment_plan(rng, &mut parts, false, false);
            }
            NoteType::Telehealth => {
                parts.push(
                    pick(
                        rng,
                        &[
                            "Telehealth visit (video). Patient located at home; consent for virtual visit obtained.",
                            "Virtual visit via secure video. Identity verified with two identifiers.",
                            "Telephone visit, audio only; patient consented.",
                            "TELEMEDICINE ENCOUNTER - synchronous audio/video.",
                        ],
                    )
                    .to_string(),
                );
                parts.push(st.section(rng, if chance(rng, 0.5) { Sec::Subjective } else { Sec::Hpi }, &self.hpi(rng, false)));
                if !self.secs.is_empty() && chance(rng, 0.5) {
                    parts.push(st.section(rng, Sec::Meds, &self.meds(rng, chronic)));
                }
                let pmh_shown = !self.secs.is_empty() && chance(rng, 0.5);
                if pmh_shown {
                    parts.push(st.section(rng, Sec::Pmh, &self.pmh(rng)));
                }
                parts.push(st.section(
                    rng,
                    Sec::Objective,
                    pk(
                        rng,
                        &[
                            "Limited video exam: alert, conversant, no respiratory distress, speaking full sentences.",
                            "Appears well on video. Normal work of breathing.",
                            "Exam limited by virtual format.",
                            "Patient-reported home readings reviewed.",
                        ],
                    ),
                ));
                self.assessment_plan(rng, &mut parts, pmh_shown, false);
                parts.push(format!("Total time {} minutes.", rng.gen_range(10..35)));
            }
            NoteType::Soap => {
                let mut s = Vec::new();
                if chance(rng, 0.6) {
                    s.push(st.section(rng, Sec::Cc, &self.cc(rng)));
                }
                s.push(st.section(rng, if chance(rng, 0.5) { Sec::Hpi } else { Sec::Subjective }, &self.hpi(rng, false)));
                if chance(rng, 0.5) {
                    s.push(st.section(rng, Sec::Ros, &self.ros(rng, false)));
                }
                let pmh_shown = !self.secs.is_empty() || chance(rng, 0.5);
                if pmh_shown {
                    s.push(st.section(rng, Sec::Pmh, &self.pmh(rng)));
                }
                if chance(rng, 0.6) {
                    s.push(st.section(rng, Sec::Meds, &self.meds(rng, chronic)));
                }
                if chance(rng, 0.5) {
                    s.push(st.section(rng, Sec::Allergies, pk(rng, vocab::ALLERGIES)));
                }
                parts.extend(s);
                parts.push(st.section(rng, Sec::Vitals, &self.vitals(rng)));
                parts.push(st.section(rng, Sec::Exam, &self.exam(rng, false)));
                if chance(rng, 0.6) {
                    parts.push(st.section(rng, Sec::Data, &self.data(rng, false)));
                }
                self.assessment_plan(rng, &mut parts, pmh_shown, false);
                if chance(rng, 0.4) {
                    parts.push(format!("RTC {}.", pick(rng, &["in 3 months", "in 4-6 weeks", "PRN", "in 2 weeks", "in 1 year for annual exam"])));
                }
            }
            NoteType::Hp | NoteType::Consult | NoteType::Discharge | NoteType::Ed => return self.long_note(rng, chronic),
            _ => return self.chart(rng),
        }
        st.join_sections(&parts)
    }

    fn long_note(&self, rng: &R, chronic: bool) -> String {
        let st = &self.style;
        let long = chance(rng, 0.55);
        let mut head: Vec<String> = Vec::new();
        match self.nt {
            NoteType::Consult => {
                let reason = self.pname(rng).filter(|_| chance(rng, 0.6)).unwrap_or_else(|| self.complaint(rng));
                head.push(st.section(rng, Sec::Reason, &cap(&reason)));
                head.push(format!("Requesting physician: Dr. {}", pick(rng, vocab::SURNAMES)));
            }
            NoteType::Discharge => {
                let (m, d) = (rng.gen_range(1..=12), rng.gen_range(1..=27));
                head.push(format!("Admission date: {m:02}/{d:02}    Discharge date: {m:02}/{:02}", d + rng.gen_range(1..=4)));
                let pt = self.pname(rng).unwrap_or_else(|| self.complaint(rng));
                let mut dx = vec![format!("1. {}", cap(&pt))];
                for (i, s) in self.secs.iter().enumerate() {
                    dx.push(format!("{}. {}", i + 2, cap(&term(rng, s))));
                }
                head.push(st.section(rng, Sec::DischargeDx, &dx.join("\n")));
                let mut course = format!("{} ", self.hpi(rng, false));
                let tests = pick_n(rng, &self.p.entry.tests, 2);
                course.push_str(&format!("Work-up showed {}. ", tests.join(" and ")));
                course.push_str(&self.distractors_of(&["ruled_out", "negated"]).iter().map(|d| sentence(d)).collect::<Vec<_>>().join(" "));
                course.push_str(&format!(" Treated with {}. {}", pick(rng, &self.p.meds), sentence(pk(rng, &self.p.entry.plan))));
                course.push_str(&format!(" {} improved and was discharged in stable condition.", cap(self.he())));
                head.push(st.section(rng, Sec::Course, course.trim()));
                head.push(st.section(rng, Sec::DischargeMeds, &self.meds(rng, true)));
                if long {
                    head.push(st.section(rng, Sec::Exam, &self.exam(rng, false)));
                }
                head.push(st.section(
                    rng,
                    Sec::FollowUp,
                    pk(
                        rng,
                        &["PCP in 1 week.", "Follow up with primary care within 7 days; return for worsening symptoms.", "Clinic in 2 weeks with labs prior."],
                    ),
                ));
                return st.join_sections(&head);
            }
            _ => {
                if chance(rng, 0.8) {
                    head.push(st.section(rng, Sec::Cc, &self.cc(rng)));
                }
            }
        }
        head.push(st.section(rng, Sec::Hpi, &self.hpi(rng, long)));
        let mut hist = vec![
            st.section(rng, Sec::Pmh, &self.pmh(rng)),
            st.section(rng, Sec::Psh, &{
                let mut ops = if chance(rng, 0.5) { pick_n(rng, &vocab::SURGERIES.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 2) } else { Vec::new() };
                ops.extend(self.distractors_of(&["surgical_history"]));
                if ops.is_empty() {
                    "None".into()
                } else {
                    prose_list(rng, &ops)
                }
            }),
            st.section(rng, Sec::Meds, &self.meds(rng, chronic)),
            st.section(rng, Sec::Allergies, pk(rng, vocab::ALLERGIES)),
            st.section(rng, Sec::Social, &self.social(rng)),
            st.section(rng, Sec::Family, &self.family(rng)),
        ];
        if !long {
            // Shorter notes drop some history sections, never the ones that document secondaries.
            let mut i = 0;
            hist.retain(|_| {
                i += 1;
                i == 1 || i == 5 || chance(rng, 0.7)
            });
        }
        if chance(rng, 0.25) {
            // Order varies between templates.
            let i = rng.gen_range(0..hist.len().max(1));
            let j = rng.gen_range(0..hist.len().max(1));
            if i < hist.len() && j < hist.len() {
                hist.swap(i, j);
            }
        }
        head.extend(hist);
        head.push(st.section(rng, Sec::Ros, &self.ros(rng, long)));
        head.push(st.section(rng, Sec::Vitals, &self.vitals(rng)));
        head.push(st.section(rng, Sec::Exam, &self.exam(rng, long)));
        head.push(st.section(rng, Sec::Data, &self.data(rng, long)));
        if self.nt == NoteType::Ed {
            let given: Vec<String> = pick_n(rng, &self.p.meds, 2);
            head.push(st.section(
                rng,
                Sec::EdCourse,
                &format!(
                    "Received {}. {}",
                    prose_list(rng, &given),
                    pick(rng, &["Symptoms improved.", "Reassessed, feeling better.", "Tolerating PO.", "Remained hemodynamically stable."])
                ),
            ));
            let neg = self.distractors_of(&["ruled_out", "negated"]);
            if !neg.is_empty() && chance(rng, 0.7) {
                head.push(st.section(rng, Sec::Mdm, &neg.iter().map(|n| sentence(n)).collect::<Vec<_>>().join(" ")));
            }
        }
        if self.nt == NoteType::Consult {
            let pt = self.pname(rng).unwrap_or_else(|| self.implied(rng));
            let mut a = sentence(&pt);
            let other: Vec<String> = self.secs_for_assessment(rng, true, true).iter().map(|s| term(rng, s)).collect();
            if !other.is_empty() {
                a.push_str(&format!(
                    " {}",
                    sentence(&format!("{} {}", pk(rng, &["Other active problems:", "Also", "Comorbidities:"]), prose_list(rng, &other)))
                ));
            }
            head.push(st.section(rng, Sec::Assessment, &a));
            let recs: Vec<String> = self.primary_plan(rng).iter().enumerate().map(|(i, r)| format!("{}. {}", i + 1, cap(r))).collect();
            head.push(st.section(rng, Sec::Recs, &recs.join("\n")));
            head.push("Thank you for this consultation; we will follow along.".into());
        } else {
            self.assessment_plan(rng, &mut head, true, true);
        }
        if self.nt == NoteType::Ed {
            head.push(st.section(
                rng,
                Sec::Disposition,
                pk(rng, &["Discharged home with return precautions.", "Admit to medicine.", "Home, f/u PCP 2-3 days.", "Observation unit."]),
            ));
        }
        st.join_sections(&head)
    }

    fn one_liner(&self, rng: &R) -> String {
        let e = self.p.entry;
        let t = self.pterm.clone().unwrap_or_else(|| name_of(rng, self.p, 0.0).0);
        let c: Vec<String> = pick_n(rng, &self.complaints, 2);
        let (c1, c2) = match c.len() {
            0 => (t.clone(), None),
            1 => (c[0].clone(), None),
            _ => (c[0].clone(), Some(c[1].clone())),
        };
        let both = match &c2 {
            Some(c2) => format!("{c1} and {c2}"),
            None => c1.clone(),
        };
        let who = self.who(rng);
        let chronic = matches!(e.kind, Kind::Chronic | Kind::Status);
        let opts: Vec<String> = if chronic {
            vec![
                format!("Patient presents with {both}. History of {t}."),
                format!("Patient presents with {both}. History of {t}."),
                format!("Patient presents with {both}. History of {t}."),
                format!("Patient presents with {both}. Hx of {t}."),
                format!("{} with {t}, here with {both}.", cap(&who)),
                format!("{}. {}.", cap(&t), cap(pk(rng, &self.p.meds))),
                format!("Follow-up for {t}; {}.", pick(rng, &e.plan)),
                format!("{} c/o {both}. Hx {t}.", cap(&who)),
            ]
        } else {
            vec![
                format!("Patient presents with {both}. Dx: {t}."),
                format!("{} with {both} {}, consistent with {t}.", cap(&who), duration(rng, e.kind)),
                format!("{} c/o {both}. Likely {t}.", cap(&who),),
                format!("{}: {}.", cap(&t), pick(rng, &self.p.meds)),
                format!("Seen for {t}. {}.", cap(pk(rng, &e.plan))),
            ]
        };
        pick(rng, &opts).clone()
    }
}

/// "a 87-year-old" -> "an 87-year-old".
fn fix_articles(text: &str) -> String {
    let mut t = text.replace(" a 8", " an 8").replace("A 8", "An 8");
    for n in ["11", "18"] {
        for after in ["-", " ", "y"] {
            t = t.replace(&format!(" a {n}{after}"), &format!(" an {n}{after}"));
        }
    }
    t
}

/// Chronic conditions and status codes, listed under past medical history.
fn in_pmh(l: &Lex) -> bool {
    !social_code(&l.code) && matches!(l.entry.kind, Kind::Chronic | Kind::Status)
}

/// Conditions of this encounter (acute, symptom, injury), documented as current findings.
fn is_current(l: &Lex) -> bool {
    matches!(l.entry.kind, Kind::Acute | Kind::Symptom | Kind::Injury)
}

/// Codes documented in the social history rather than the problem list.
fn social_code(code: &str) -> bool {
    ["F17", "Z87.891", "F10", "F11", "F12"].iter().any(|p| code.starts_with(p))
}

const VITAL_KEYS: &[&str] =
    &["bp ", "blood pressure", "hr ", "heart rate", "temperature", "temp ", "spo2", "o2 sat", "rr ", "febrile", "tachycard", "pulse ox"];

fn pick_note_type(rng: &R, l: &Lex) -> NoteType {
    // v2: about one note in six (besides the forced one-liners) keeps a v1 short shape;
    // the rest are full-length dictated documents like real charts.
    if chance(rng, 0.17) {
        return pick_v1_type(rng, l);
    }
    chart::pick_chart_type(rng, l)
}

fn pick_v1_type(rng: &R, l: &Lex) -> NoteType {
    let r: f64 = rng.gen_f64();
    if r < 0.04 {
        return NoteType::OneLiner;
    }
    if r < 0.15 {
        return NoteType::Brief;
    }
    match pick(rng, &l.entry.settings) {
        Setting::Clinic => *pick(rng, &[NoteType::Soap, NoteType::Soap, NoteType::Soap, NoteType::Hp]),
        Setting::Ed => NoteType::Ed,
        Setting::Inpatient => *pick(rng, &[NoteType::Hp, NoteType::Discharge]),
        Setting::Telehealth => NoteType::Telehealth,
        Setting::Nursing => NoteType::Nurse,
        Setting::Consult => NoteType::Consult,
    }
}

fn fits(l: &Lex, age: u32, female: bool) -> bool {
    let [lo, hi] = l.entry.age;
    let sex_ok = match l.entry.sex {
        Sex::Any => true,
        Sex::Female => female,
        Sex::Male => !female,
    };
    sex_ok && age + 10 >= lo as u32 && age <= hi as u32 + 10
}

fn choose_secondaries<'g, 'a>(g: &'g Generator<'a>, rng: &R, p: &Lex, age: u32, female: bool, nt: NoteType) -> Vec<&'g Lex<'a>> {
    let n = match nt {
        NoteType::OneLiner | NoteType::Radiology => 0,
        NoteType::Nurse => usize::from(chance(rng, 0.2)),
        NoteType::Newborn | NoteType::Obstetric => usize::from(chance(rng, 0.3)),
        _ if age < 18 => usize::from(chance(rng, 0.25)),
        // A chronic follow-up visit reviews several problems: multi-label by nature.
        NoteType::ChronicFollowUp => *pick(rng, &[2usize, 2, 3, 3, 4, 5]),
        NoteType::Operative | NoteType::Endoscopy => *pick(rng, &[0usize, 0, 1, 1, 2, 3]),
        NoteType::HospitalDischarge => *pick(rng, &[1usize, 2, 2, 3, 3, 4, 5]),
        // Full H&Ps and consults document the whole active problem list.
        NoteType::FullHp | NoteType::ConsultLetter | NoteType::Psych => *pick(rng, &[0usize, 1, 1, 2, 2, 3, 3, 4]),
        _ => *pick(rng, &[0usize, 0, 0, 1, 1, 1, 2, 2, 3, 4]),
    };
    let mut out: Vec<&Lex> = Vec::new();
    let mut tries = 0;
    while out.len() < n && tries < 12 + 8 * n {
        tries += 1;
        let cand = if !p.entry.comorbid.is_empty() && chance(rng, 0.7) {
            match g.get(pk(rng, &p.entry.comorbid)) {
                Some(c) => c,
                None => continue,
            }
        } else {
            if age < 18 || g.prevalent.is_empty() {
                continue;
            }
            let total: u32 = g.prevalent.iter().map(|(_, w)| w).sum();
            let mut x = rng.gen_range(0..total);
            let mut idx = g.prevalent[0].0;
            for &(i, w) in &g.prevalent {
                if x < w {
                    idx = i;
                    break;
                }
                x -= w;
            }
            &g.lex[idx]
        };
        let clash = conflicts(&cand.code, &p.code) || out.iter().any(|o| conflicts(&o.code, &cand.code));
        let symptom_skip = matches!(cand.entry.kind, Kind::Symptom) && !chance(rng, 0.35);
        if clash || symptom_skip || !fits(cand, age, female) || matches!(cand.entry.kind, Kind::Encounter) {
            continue;
        }
        out.push(cand);
    }
    out
}

pub(crate) fn compose(g: &Generator, label: usize, rng: &R, typo_rate: f64, one_liner: bool) -> Note {
    let p = &g.lex[label];
    let e = p.entry;
    let female = match e.sex {
        Sex::Female => true,
        Sex::Male => false,
        Sex::Any => chance(rng, 0.5),
    };
    let age = rng.gen_range(e.age[0]..=e.age[1]) as u32;
    let nt = if one_liner { NoteType::OneLiner } else { pick_note_type(rng, p) };
    let secs = choose_secondaries(g, rng, p, age, female, nt);
    let terse = matches!(nt, NoteType::OneLiner | NoteType::Nurse | NoteType::Brief);
    let style = if nt.is_v1() { Style::random(rng, terse) } else { Style::chart(rng) };
    let mut secs = secs;
    // Screening colonoscopy that finds something: the screening code stays first, the
    // finding is coded after it (ICD-10-CM guidelines, section IV.A / I.C.21.c.5).
    let mut screen_finding = false;
    if nt == NoteType::Endoscopy && p.code.starts_with("Z12.11") && chance(rng, 0.45) {
        let found = g.get(pk(rng, &["D12.6", "K63.5", "K57.30", "K64.9", "D12.6"])).filter(|f| !secs.iter().any(|s| conflicts(&s.code, &f.code)));
        if let Some(f) = found {
            secs.insert(0, f);
            screen_finding = true;
        }
    }
    // Sibling codes share their non-deciding vocabulary (issue #15): the note draws on
    // the whole family's background, and only the deciding words set the code.
    let narrow = matches!(nt, NoteType::Radiology | NoteType::Endoscopy | NoteType::Operative);
    let shared = if nt == NoteType::OneLiner { None } else { Some(mix::prepare(g, p, rng, narrow)) };
    let local: Lex;
    let mut background: Vec<String> = Vec::new();
    let p: &Lex = match &shared {
        Some(sh) => {
            let mut blob = p.blob.clone();
            for (_, t) in sh.entry.text_fields() {
                blob.push_str(&t.to_ascii_lowercase());
                blob.push_str(" | ");
            }
            for t in sh.meds.iter().chain(&sh.risk).chain(&sh.background) {
                blob.push_str(&t.to_ascii_lowercase());
                blob.push_str(" | ");
            }
            let ros_blocked = super::ros_blocked(&p.code, &blob, &p.names);
            background.clone_from(&sh.background);
            local = Lex { entry: &sh.entry, meds: sh.meds.clone(), risk: sh.risk.clone(), blob, ros_blocked, ..p.clone() };
            &local
        }
        None => p,
    };
    let e = p.entry;
    let may_imply = matches!(nt, NoteType::Soap | NoteType::Hp | NoteType::Ed | NoteType::Consult) && !matches!(e.kind, Kind::Encounter | Kind::Status);
    let (pterm, psource) = if may_imply && chance(rng, 0.07) {
        (None, "implied")
    } else {
        let (t, s) = name_of(rng, p, 0.02);
        (Some(t), s)
    };

    // Names of every record code, to keep negations and family history off them.
    let record: Vec<&Lex> = std::iter::once(p).chain(secs.iter().copied()).collect();
    let names: Vec<&str> = record.iter().flat_map(|l| l.names.iter().map(String::as_str)).collect();
    let names_neg = |s: &str| {
        let ls = s.to_lowercase();
        (ls.starts_with("no ") || ls.starts_with("denies") || ls.contains(" no ")) && names.iter().any(|n| n.len() >= 3 && contains_phrase_lc(&ls, n))
    };
    let mut complaints = Vec::new();
    let mut statements = background;
    for s in &e.symptoms {
        if names_neg(s) {
            continue;
        }
        if is_complaint(s) {
            complaints.push(s.clone());
        } else {
            statements.push(s.clone());
        }
    }
    let ros_neg: Vec<usize> = (0..vocab::ROS_NEG.len()).filter(|&i| !record.iter().any(|l| l.ros_blocked[i])).collect();

    // Distractors: other codes' names, negated, ruled out, in the family, or resolved.
    let mut distractors = Vec::new();
    let ok = |cand: &Lex, name: &str| {
        let name = name.to_ascii_lowercase();
        !record.iter().any(|l| conflicts(&l.code, &cand.code))
            && !names.iter().any(|n| n.len() >= 3 && (contains_phrase_lc(n, &name) || contains_phrase_lc(&name, n)))
            && !record.iter().any(|l| contains_phrase_lc(&l.blob, &name))
            && super::leak::find_code_like(&name).is_none()
    };
    let n_dis = match nt {
        NoteType::OneLiner => 0,
        NoteType::Nurse | NoteType::Brief | NoteType::Telehealth => rng.gen_range(0..=1),
        NoteType::Radiology | NoteType::Endoscopy | NoteType::Operative => rng.gen_range(0..=2),
        _ if !nt.is_v1() => rng.gen_range(1..=4),
        _ => rng.gen_range(0..=3),
    };
    // "Ruled out" diagnoses are never coded: a symptom admission that excluded the
    // dangerous cause keeps the symptom code, and the note says what was ruled out.
    if nt != NoteType::OneLiner && chance(rng, 0.75) {
        if let Some(other) = chart::ruled_out_for(&p.code).and_then(|c| g.get(c)) {
            let name = pick(rng, &other.short).to_ascii_lowercase();
            let clash = names.iter().any(|n| n.len() >= 3 && (contains_phrase_lc(n, &name) || contains_phrase_lc(&name, n)));
            if !clash && super::leak::find_code_like(&name).is_none() {
                let text = pick(
                    rng,
                    &[
                        format!("{name} was ruled out"),
                        format!("{name} was ruled out with serial testing"),
                        format!("work-up for {name} was negative and it was ruled out"),
                        format!("{name} has been excluded"),
                    ],
                )
                .clone();
                distractors.push(Distractor { kind: "ruled_out", code: Some(other.code.clone()), text });
            }
        }
    }
    // Procedure and imaging reports only carry negative findings.
    for _ in 0..n_dis {
        let kind = if narrow { "negated" } else { *pick(rng, &["negated", "ruled_out", "family_history", "resolved", "negated"]) };
        for _ in 0..30 {
            let cand = &g.lex[rng.gen_range(0..g.lex.len())];
            let k = cand.entry.kind;
            let good_kind = match kind {
                "negated" | "ruled_out" => {
                    matches!(k, Kind::Acute | Kind::Symptom | Kind::Injury)
                        && (cand.chapter == p.chapter || (!narrow && chance(rng, if nt.is_v1() { 0.3 } else { 0.1 })))
                }
                "family_history" => matches!(k, Kind::Chronic) && !cand.code.starts_with(['F', 'Z', 'O', 'P', 'Q', 'R']),
                _ => {
                    matches!(k, Kind::Acute | Kind::Injury)
                        && !["I21", "I63", "I26", "O", "P", "Z", "C", "A41", "B20", "T81", "S72"].iter().any(|x| cand.code.starts_with(x))
                }
            };
            if !good_kind || distractors.iter().any(|d: &Distractor| d.code.as_deref() == Some(cand.code.as_str())) {
                continue;
            }
            let name = pick(rng, &cand.short).clone();
            if !ok(cand, &name) {
                continue;
            }
            let text = match kind {
                "negated" => pick(
                    rng,
                    &[
                        format!("no evidence of {name}"),
                        format!("imaging without evidence of {name}"),
                        format!("doubt {name}"),
                        format!("not consistent with {name}"),
                        format!("negative for {name}"),
                    ],
                )
                .clone(),
                "ruled_out" => pick(
                    rng,
                    &[
                        format!("r/o {name} - ruled out"),
                        format!("initially concerned for {name}; work-up negative"),
                        format!("{name} was considered and ruled out"),
                        format!("differential included {name}, which was excluded"),
                        format!("low suspicion for {name}"),
                    ],
                )
                .clone(),
                "family_history" => {
                    let rel = pick(rng, vocab::RELATIVES);
                    pick(
                        rng,
                        &[
                            format!("{rel} with {name}"),
                            format!("family history of {name} ({rel})"),
                            format!("FH of {name} in {rel}"),
                            format!("family history is negative for {name}"),
                        ],
                    )
                    .clone()
                }
                _ => {
                    let y = rng.gen_range(1995..2023);
                    // Past episodes come with their treatment, as histories tell them.
                    let rx = if cand.quiet_meds.is_empty() { "antibiotics".to_string() } else { pk(rng, &cand.quiet_meds).to_string() };
                    pick(
                        rng,
                        &[
                            format!("{name} in {y}, resolved"),
                            format!("remote history of {name}, treated"),
                            format!("{name} several years ago, fully recovered"),
                            format!("treated for {name} ({y}), no recurrence"),
                            format!("h/o {name}, resolved"),
                            format!("{name} in {y}, treated with {rx}, resolved"),
                            format!("s/p treatment for {name} in {y} with {rx}; fully resolved"),
                        ],
                    )
                    .clone()
                }
            };
            distractors.push(Distractor { kind, code: Some(cand.code.clone()), text });
            break;
        }
    }

    // Pertinent negatives: other codes' complaints, denied (siblings' deciding ones first).
    let blob_all: String = record.iter().map(|l| l.blob.as_str()).collect::<Vec<_>>().join(" ");
    let n_neg = match nt {
        NoteType::OneLiner | NoteType::Nurse => 0,
        _ if nt.is_v1() => rng.gen_range(0..=2),
        NoteType::Radiology | NoteType::Operative | NoteType::Endoscopy | NoteType::Newborn => 0,
        _ => rng.gen_range(1..=4),
    };
    for (code, text) in mix::pertinent_negatives(g, p, &record, &blob_all, (age, female), rng, n_neg) {
        distractors.push(Distractor { kind: "pertinent_negative", code: Some(code), text });
    }
    // Operations that ended a condition, in the surgical history.
    if !nt.is_v1() && !matches!(nt, NoteType::Radiology | NoteType::Newborn) && chance(rng, 0.4) {
        for (code, text) in mix::past_operations(g, &record, &names, age, rng, 1) {
            distractors.push(Distractor { kind: "surgical_history", code: Some(code), text });
        }
    }

    let risk: Vec<String> = p
        .risk
        .iter()
        .filter(|r| {
            let r = r.to_ascii_lowercase();
            // Substring, not phrase: "family history of colon polyps" names "colon polyp".
            !(r.contains("family") || r.contains("mother") || r.contains("father") || r.contains("sibling"))
                || !names.iter().any(|n| n.len() >= 3 && r.contains(n))
        })
        .cloned()
        .collect();

    // Vital-sign findings of the primary go to the vitals line, the rest to the exam.
    let is_vital = |s: &String| {
        let l = format!("{} ", s.to_lowercase());
        VITAL_KEYS.iter().any(|k| l.starts_with(k) || l.contains(&format!(" {k}")) || l.contains(&format!(",{k}")))
    };
    let findings = pick_n(rng, &e.exam, rng.gen_range(2..=4));
    let vitals_from_primary: Vec<String> = e.exam.iter().chain(&e.tests).filter(|s| is_vital(s)).take(2).cloned().collect();
    let exam: Vec<String> = findings.into_iter().filter(|f| !vitals_from_primary.contains(f) && !names_neg(f)).collect();

    // Sibling labels (same category) compete on their deciding words.
    let cues = [
        "denies ",
        "no evidence of ",
        "negative for ",
        "family history of ",
        "fh of ",
        "r/o ",
        "doubt ",
        "low suspicion for ",
        "concerned for ",
        "without evidence of ",
        "no ",
    ];
    let contrast: Vec<String> = if !matches!(nt, NoteType::OneLiner | NoteType::Nurse) && chance(rng, 0.6) {
        chart::contrast_for(&p.code)
            .iter()
            .filter(|c| {
                let lc = c.to_ascii_lowercase();
                !names.iter().any(|n| n.len() >= 3 && cues.iter().any(|cue| lc.contains(&format!("{cue}{n}"))))
            })
            .take(2)
            .map(|c| c.to_string())
            .collect()
    } else {
        Vec::new()
    };
    let rule = chart::coding_rule(nt, p, screen_finding);
    let sec_names: Vec<String> = secs.iter().map(|s| name_of(rng, s, 0.004).0).collect();
    let base = if nt == NoteType::OneLiner { None } else { mix::base_name(p, rng) };
    // Multi-problem documents: one chronic secondary is told in more detail than the
    // primary, which stays first by the encounter's reason and the assessment's order.
    let multi_doc = matches!(
        nt,
        NoteType::FullHp | NoteType::ChronicFollowUp | NoteType::ConsultLetter | NoteType::HospitalDischarge | NoteType::Psych | NoteType::Obstetric
    );
    let focus = if multi_doc && !screen_finding && chance(rng, 0.8) {
        let chronic: Vec<&Lex> = secs.iter().copied().filter(|s| matches!(s.entry.kind, Kind::Chronic)).collect();
        (!chronic.is_empty()).then(|| *pick(rng, &chronic))
    } else {
        None
    };
    let focus_sym: Vec<String> = focus.map(|f| f.entry.symptoms.iter().filter(|s| !names_neg(s)).cloned().collect()).unwrap_or_default();
    let mut exam = exam;
    if let Some(f) = focus {
        for x in pick_n(rng, &f.entry.exam, 2) {
            if !is_vital(&x) && !names_neg(&x) && !exam.contains(&x) {
                exam.push(x);
            }
        }
    }
    let n_extra = match nt {
        NoteType::OneLiner | NoteType::Nurse | NoteType::Radiology | NoteType::Newborn => 0,
        _ if nt.is_v1() => rng.gen_range(0..=2),
        _ => rng.gen_range(0..=4),
    };
    let extra_meds = mix::unnamed_meds(g, &record, age, female, rng, n_extra);
    let case = Case {
        p,
        secs,
        age,
        female,
        nt,
        style,
        pterm,
        psource,
        complaints,
        statements,
        risk,
        ros_neg,
        distractors,
        vitals_from_primary,
        exam,
        surname: pk(rng, vocab::SURNAMES),
        contrast,
        rule,
        screen_finding,
        sec_names,
        base,
        focus,
        focus_sym,
        extra_meds,
    };
    let mut text = fix_articles(&case.write(rng));
    text = abbreviate(rng, &text, case.style.abbrev);
    if matches!(nt, NoteType::Nurse | NoteType::OneLiner | NoteType::Brief) && chance(rng, 0.1) {
        text = text.to_lowercase();
    }
    let (text, n_typos) = typos(rng, &text, typo_rate);
    let codes: Vec<String> = case.codes().map(|l| l.code.clone()).collect();
    let mut meta = Map::new();
    meta.insert("note_type".into(), case.nt.name().into());
    meta.insert("age".into(), json!(case.age));
    meta.insert("sex".into(), json!(if case.female { "F" } else { "M" }));
    meta.insert("primary_term".into(), json!(case.pterm));
    meta.insert("term_source".into(), json!(case.psource));
    meta.insert("distractors".into(), Value::Array(case.distractors.iter().map(|d| json!({"kind": d.kind, "code": d.code, "text": d.text})).collect()));
    meta.insert("coding_rule".into(), json!(case.rule));
    meta.insert("sibling_contrast".into(), json!(case.contrast));
    meta.insert("focus_secondary".into(), json!(case.focus.map(|f| f.code.clone())));
    meta.insert("unnamed_meds".into(), json!(case.extra_meds));
    meta.insert("typos".into(), json!(n_typos));
    meta.insert("tokens".into(), json!(estimate_tokens(&text)));
    Note { text, codes, meta }
}
