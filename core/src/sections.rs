//! Section detection: where a chart's headed sections start and end, and which of them
//! carry the diagnostic statements a coder codes from.
//!
//! Coders read the chief complaint / reason for visit, the assessment or impression, the
//! pre- and postoperative, admitting and discharge diagnoses, the problem list and the
//! indication; the rest of a chart (history, medications, review of systems, exam) names
//! many conditions that are not coded. Charts mark those parts with headers: a label at the
//! start of a line, in any case, followed by a colon (`ASSESSMENT:`, `Chief complaint: cough`)
//! or alone on its line in capitals (`IMPRESSION`). Spans are byte offsets into the text.
//!
//! A line that starts with a label and a colon is a header when the label is a known section
//! name (any case) or is written in capitals (`HEENT:`, an unknown sub-heading still ends the
//! section before it). Title-case labels that are no section name (`Hypertension: stable`)
//! are body text, so a problem-oriented assessment is not cut at its first problem.

/// What a section holds, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// Chief complaint, reason for visit / consultation / referral / admission / exam.
    ChiefComplaint,
    /// Any "diagnosis" header: pre- / postoperative, admitting, discharge, final, principal.
    Diagnosis,
    /// Assessment, assessment and plan.
    Assessment,
    /// Impression (radiology, endoscopy, consults).
    Impression,
    /// Indication(s) for a procedure or an exam, clinical history of an imaging request.
    Indication,
    /// Problem list, active problems.
    Problems,
    /// History of present illness, subjective, interval history.
    History,
    PastMedicalHistory,
    SurgicalHistory,
    Medications,
    Allergies,
    SocialHistory,
    FamilyHistory,
    ReviewOfSystems,
    /// Physical examination, objective, vital signs and exam sub-headings.
    Exam,
    /// Laboratory, imaging and other data.
    Results,
    Findings,
    /// Procedure performed, technique, description of the operation, anesthesia.
    Procedure,
    HospitalCourse,
    /// Plan, recommendations, disposition, follow-up.
    Plan,
    /// A header that names none of the above.
    Other,
}

impl SectionKind {
    /// Sections whose statements are coded: the reason for the encounter and the diagnoses.
    pub fn is_diagnostic(self) -> bool {
        matches!(
            self,
            SectionKind::ChiefComplaint
                | SectionKind::Diagnosis
                | SectionKind::Assessment
                | SectionKind::Impression
                | SectionKind::Indication
                | SectionKind::Problems
        )
    }

    /// The kind a header label names, `None` when it names no known section.
    /// `label` is the header text without its colon.
    pub fn of_label(label: &str) -> Option<SectionKind> {
        use SectionKind::*;
        let l = normalize(label);
        let l = l.as_str();
        let has = |p: &str| contains_word_seq(l, p);
        let exact = |ps: &[&str]| ps.contains(&l);
        // Order matters: "postoperative diagnosis" before "procedure", "family history"
        // before "history", "diagnostic studies" (data) before "diagnosis".
        let kind = if exact(&["cc", "c/c"]) || has("chief complaint") || has("presenting complaint") || l.starts_with("reason for") || has("reason for visit") {
            ChiefComplaint
        } else if has("diagnostic") {
            Results
        } else if has("diagnosis") || has("diagnoses") || exact(&["dx", "pre-op dx", "post-op dx", "preop dx", "postop dx"]) {
            Diagnosis
        } else if (has("pathology") || has("pathologic")) && ["addendum", "final", "result", "results", "report"].iter().any(|w| has(w)) {
            // The examined tissue's result: what the procedure's finding turned out to be.
            Diagnosis
        } else if has("assessment") || exact(&["a/p", "a&p", "a & p", "a"]) {
            Assessment
        } else if has("impression") || has("impressions") || has("conclusion") || has("conclusions") {
            Impression
        } else if has("indication") || has("indications") || has("clinical history") || has("clinical information") || has("clinical indication") {
            Indication
        } else if has("problem list") || has("active problems") || exact(&["problems", "problem"]) {
            Problems
        } else if has("family history") || exact(&["fh", "fhx", "family hx"]) {
            FamilyHistory
        } else if has("social history") || exact(&["sh", "social", "shx", "social hx"]) {
            SocialHistory
        } else if has("surgical history") || exact(&["psh", "surgeries", "past surgeries", "surgical hx"]) {
            SurgicalHistory
        } else if has("past medical history") || has("medical history") || has("past history") || exact(&["pmh", "pmhx", "past medical hx"]) {
            PastMedicalHistory
        } else if has("allergies") || has("allergy") || exact(&["nkda"]) {
            Allergies
        } else if has("medications") || has("medication") || has("meds") || exact(&["current medicines", "medicines", "rx"]) {
            Medications
        } else if has("review of systems") || has("systems review") || exact(&["ros"]) {
            ReviewOfSystems
        } else if has("present illness") || exact(&["hpi", "subjective", "s", "interval history", "history", "hx", "history of illness"]) {
            History
        } else if has("hospital course") || has("clinical course") || exact(&["course", "ed course", "course in the ed"]) {
            HospitalCourse
        } else if has("findings") || has("finding") {
            Findings
        } else if has("laboratory")
            || has("labs")
            || has("lab")
            || has("data")
            || has("results")
            || has("studies")
            || has("imaging")
            || has("radiology")
            || exact(&["ekg", "ecg", "x-ray", "xray", "ct", "mri", "pathology"])
        {
            Results
        } else if has("procedure")
            || has("procedures")
            || has("operation")
            || has("technique")
            || has("anesthesia")
            || has("description")
            || has("estimated blood loss")
            || exact(&["ebl", "specimen", "specimens", "complications", "drains", "implants", "surgeon", "assistant", "exam", "examination performed"])
        {
            Procedure
        } else if has("physical")
            || has("exam")
            || has("examination")
            || exact(&[
                "pe",
                "objective",
                "o",
                "vitals",
                "vital signs",
                "general",
                "heent",
                "neck",
                "lungs",
                "chest",
                "heart",
                "cardiovascular",
                "abdomen",
                "extremities",
                "neurologic",
                "neurological",
                "skin",
                "psychiatric",
                "musculoskeletal",
                "gu",
                "rectal",
                "pelvic",
            ])
        {
            Exam
        } else if has("plan")
            || has("recommendation")
            || has("recommendations")
            || has("disposition")
            || has("follow-up")
            || has("followup")
            || has("follow up")
            || has("instructions")
            || exact(&["p"])
        {
            Plan
        } else {
            return None;
        };
        Some(kind)
    }
}

/// One headed section: `text[header.0..header.1]` is the label (without the colon),
/// `text[body.0..body.1]` what follows it up to the next header (whitespace trimmed;
/// empty when the next header follows at once).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Section {
    pub kind: SectionKind,
    pub header: (usize, usize),
    pub body: (usize, usize),
}

impl Section {
    /// From the header's first byte to the body's last.
    pub fn span(&self) -> (usize, usize) {
        (self.header.0, self.body.1.max(self.header.1))
    }
}

/// Longest header label, in bytes; longer "labels" are sentences with a colon.
const MAX_LABEL_BYTES: usize = 48;
/// Most words in a header label.
const MAX_LABEL_WORDS: usize = 6;

/// Every headed section of `text`, in order. Text before the first header belongs to no
/// section.
pub fn detect(text: &str) -> Vec<Section> {
    let mut heads: Vec<(SectionKind, (usize, usize), usize)> = Vec::new(); // kind, label, body start
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if let Some((kind, label, body_start)) = header_in_line(line) {
            heads.push((kind, (line_start + label.0, line_start + label.1), line_start + body_start));
        }
        line_start += line.len();
    }
    let mut out = Vec::with_capacity(heads.len());
    for (i, &(kind, header, body_start)) in heads.iter().enumerate() {
        let body_end = heads.get(i + 1).map_or(text.len(), |next| next.1 .0);
        out.push(Section { kind, header, body: trim(text, body_start, body_end) });
    }
    out
}

/// The spans (header and body) of the diagnostic sections ([`SectionKind::is_diagnostic`]),
/// in order.
pub fn diagnostic_spans(text: &str) -> Vec<(usize, usize)> {
    detect(text).into_iter().filter(|s| s.kind.is_diagnostic()).map(|s| s.span()).collect()
}

/// `(kind, label range, body start)` within `line` when the line starts with a header.
fn header_in_line(line: &str) -> Option<(SectionKind, (usize, usize), usize)> {
    let lead = line.len() - line.trim_start().len();
    let rest = &line[lead..];
    let first = rest.chars().next()?;
    if !first.is_alphabetic() {
        return None;
    }
    // The label runs up to the first colon, or is the whole line when there is none.
    let (label, after) = match rest.find(':') {
        Some(c) => (&rest[..c], Some(c + 1)),
        None => (rest.trim_end(), None),
    };
    let label_trim = label.trim_end();
    if label_trim.is_empty() || label_trim.len() > MAX_LABEL_BYTES || label_trim.split_whitespace().count() > MAX_LABEL_WORDS {
        return None;
    }
    // Letters only: "BP 120/80: normal" is a measurement, not a header.
    if !label_trim.chars().all(|c| c.is_alphabetic() || " /&-(),'.".contains(c)) {
        return None;
    }
    let capitals = is_capitals(label_trim);
    let known = SectionKind::of_label(label_trim);
    let kind = match (after, known) {
        // "Label: ..." : a known name in any case, or any label in capitals.
        (Some(_), Some(k)) => k,
        (Some(_), None) if capitals && label_trim.chars().filter(|c| c.is_alphabetic()).count() >= 2 => SectionKind::Other,
        // A line of its own, without a colon: only a known name in capitals.
        (None, Some(k)) if capitals => k,
        _ => return None,
    };
    let body_start = match after {
        Some(c) => lead + c,
        None => line.len(),
    };
    Some((kind, (lead, lead + label_trim.len()), body_start))
}

fn is_capitals(s: &str) -> bool {
    s.chars().any(char::is_alphabetic) && !s.chars().any(char::is_lowercase)
}

/// Lower case, "(s)" dropped, runs of spaces and trailing punctuation collapsed.
fn normalize(label: &str) -> String {
    let l = label.to_lowercase().replace("(s)", "s").replace("(es)", "es");
    let words: Vec<&str> = l.split_whitespace().collect();
    words.join(" ").trim_matches(|c: char| c == '.' || c == ',' || c == '-').to_string()
}

/// Whether `phrase` occurs in `s` on word boundaries.
fn contains_word_seq(s: &str, phrase: &str) -> bool {
    let mut from = 0;
    while let Some(i) = s[from..].find(phrase) {
        let start = from + i;
        let end = start + phrase.len();
        let before_ok = start == 0 || !s[..start].chars().next_back().is_some_and(char::is_alphanumeric);
        let after_ok = end == s.len() || !s[end..].chars().next().is_some_and(char::is_alphanumeric);
        if before_ok && after_ok {
            return true;
        }
        from = start + 1;
        while !s.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

fn trim(text: &str, start: usize, end: usize) -> (usize, usize) {
    let piece = &text[start..end];
    let lead = piece.len() - piece.trim_start().len();
    let t = piece.trim();
    if t.is_empty() {
        (start + lead, start + lead)
    } else {
        (start + lead, start + lead + t.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(SectionKind, &str, &str)> {
        detect(text).into_iter().map(|s| (s.kind, &text[s.header.0..s.header.1], &text[s.body.0..s.body.1])).collect()
    }

    #[test]
    fn soap_note_sections() {
        let t = "CHIEF COMPLAINT: Follow-up of blood pressure.\nHISTORY OF PRESENT ILLNESS:\nDoing well.\nPAST MEDICAL HISTORY: Asthma.\nASSESSMENT AND PLAN:\n1. Hypertension: stable.\n2. Hyperlipidemia.\n";
        use SectionKind::*;
        assert_eq!(
            kinds(t),
            vec![
                (ChiefComplaint, "CHIEF COMPLAINT", "Follow-up of blood pressure."),
                (History, "HISTORY OF PRESENT ILLNESS", "Doing well."),
                (PastMedicalHistory, "PAST MEDICAL HISTORY", "Asthma."),
                (Assessment, "ASSESSMENT AND PLAN", "1. Hypertension: stable.\n2. Hyperlipidemia."),
            ]
        );
        let d: Vec<&str> = diagnostic_spans(t).iter().map(|&(a, b)| &t[a..b]).collect();
        assert_eq!(d, vec!["CHIEF COMPLAINT: Follow-up of blood pressure.", "ASSESSMENT AND PLAN:\n1. Hypertension: stable.\n2. Hyperlipidemia."]);
    }

    #[test]
    fn headers_in_any_case_with_or_without_colon() {
        use SectionKind::*;
        let t = "Chief complaint: cough\nImpression\nPneumonia of the right lower lobe.\nplan: antibiotics\n";
        assert_eq!(
            kinds(t),
            vec![(ChiefComplaint, "Chief complaint", "cough\nImpression\nPneumonia of the right lower lobe."), (Plan, "plan", "antibiotics")],
            "a lower-case header without a colon is text"
        );
        let t = "Chief complaint: cough\nIMPRESSION\nPneumonia of the right lower lobe.\nplan: antibiotics\n";
        assert_eq!(kinds(t)[1], (Impression, "IMPRESSION", "Pneumonia of the right lower lobe."));
    }

    #[test]
    fn operative_and_radiology_headers() {
        use SectionKind::*;
        let t = "PREOPERATIVE DIAGNOSES:\nCholelithiasis.\nPOSTOPERATIVE DIAGNOSIS:  Same.\nPROCEDURE PERFORMED: Laparoscopic cholecystectomy.\nANESTHESIA: General.\nESTIMATED BLOOD LOSS: Minimal.\nDESCRIPTION OF PROCEDURE: The patient was taken to the operating room.\n";
        let k: Vec<SectionKind> = kinds(t).iter().map(|x| x.0).collect();
        assert_eq!(k, vec![Diagnosis, Diagnosis, Procedure, Procedure, Procedure, Procedure]);
        let t = "EXAM: CT abdomen and pelvis with contrast.\nCLINICAL HISTORY: Right flank pain.\nCOMPARISON: None.\nFINDINGS: The liver is normal.\nIMPRESSION:\n1. Obstructing right ureteral stone.\n";
        let k: Vec<SectionKind> = kinds(t).iter().map(|x| x.0).collect();
        assert_eq!(k, vec![Procedure, Indication, Other, Findings, Impression]);
        let t = "INDICATIONS: Screening colonoscopy.\nFINDINGS: A small polyp.\nDIAGNOSTIC STUDIES: None.\nDISCHARGE DIAGNOSES:\n1. Pneumonia.\n";
        let k: Vec<SectionKind> = kinds(t).iter().map(|x| x.0).collect();
        assert_eq!(k, vec![Indication, Findings, Results, Diagnosis]);
        // A pathology result is a diagnosis; a bare "PATHOLOGY" line (sent, pending) is data.
        let t = "IMPRESSION: Sigmoid polyp, removed.\nPATHOLOGY: Pending.\nADDENDUM - PATHOLOGY: Tubular adenoma.\nFINAL PATHOLOGY REPORT: Same.\n";
        let k: Vec<SectionKind> = kinds(t).iter().map(|x| x.0).collect();
        assert_eq!(k, vec![Impression, Results, Diagnosis, Diagnosis]);
    }

    #[test]
    fn unknown_capitals_end_a_section_but_title_case_text_does_not() {
        use SectionKind::*;
        let t = "ASSESSMENT:\nDiabetes: A1c 8.2.\nCOMPARISON: none\n";
        assert_eq!(kinds(t), vec![(Assessment, "ASSESSMENT", "Diabetes: A1c 8.2."), (Other, "COMPARISON", "none")]);
        // Known exam sub-headings in title case still count; they are no diagnostic section.
        let t = "Impression: otitis media\nLungs: clear\n";
        assert_eq!(kinds(t), vec![(Impression, "Impression", "otitis media"), (Exam, "Lungs", "clear")]);
    }

    #[test]
    fn sentences_and_numbers_are_not_headers() {
        assert!(detect("The patient states: I feel fine.\n").is_empty());
        assert!(detect("1. Hypertension: stable\n").is_empty());
        assert!(detect("BP 120/80, HR 72: normal\n").is_empty());
        assert!(detect("She says that her pain began two weeks ago after a fall at home: it is worse now\n").is_empty());
        assert!(detect("").is_empty());
    }

    #[test]
    fn offsets_are_bytes_with_multibyte_text() {
        let t = "Señora García.\nIMPRESSION: Neumonía — right lower lobe\n";
        let s = detect(t);
        assert_eq!(s.len(), 1);
        assert_eq!(&t[s[0].body.0..s[0].body.1], "Neumonía — right lower lobe");
        assert_eq!(s[0].span().1, t.trim_end().len());
    }

    #[test]
    fn empty_body_and_crlf() {
        use SectionKind::*;
        let t = "CHIEF COMPLAINT:\r\nASSESSMENT: Gout.\r\n";
        assert_eq!(kinds(t), vec![(ChiefComplaint, "CHIEF COMPLAINT", ""), (Assessment, "ASSESSMENT", "Gout.")]);
    }

    #[test]
    fn labels_map_to_kinds() {
        use SectionKind::*;
        for (label, kind) in [
            ("Reason for Consultation", ChiefComplaint),
            ("REASON FOR VISIT", ChiefComplaint),
            ("CC", ChiefComplaint),
            ("Admitting Diagnosis", Diagnosis),
            ("FINAL DIAGNOSES", Diagnosis),
            ("Post-op Dx", Diagnosis),
            ("A/P", Assessment),
            ("Clinical Impression", Impression),
            ("Indication(s) for procedure", Indication),
            ("PROBLEM LIST", Problems),
            ("FAMILY HISTORY", FamilyHistory),
            ("Past Surgical History", SurgicalHistory),
            ("PMH", PastMedicalHistory),
            ("Current Medications", Medications),
            ("ROS", ReviewOfSystems),
            ("HPI", History),
            ("Hospital Course", HospitalCourse),
            ("LABORATORY DATA", Results),
            ("Physical Examination", Exam),
            ("RECOMMENDATIONS", Plan),
        ] {
            assert_eq!(SectionKind::of_label(label), Some(kind), "{label}");
        }
        assert_eq!(SectionKind::of_label("Hypertension"), None);
        assert!(SectionKind::ChiefComplaint.is_diagnostic() && !SectionKind::FamilyHistory.is_diagnostic());
    }
}
