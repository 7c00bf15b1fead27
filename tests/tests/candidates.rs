//! Codes beyond the model's labels (`icd_core::candidates`) on the real April 2026 table:
//! hand-written statements for codes outside the default 300 labels, specificity options and
//! the fusion with a model's suggestions.

use icd_core::candidates::{fuse, fuse_note, propose};
use icd_core::{CodeTable, CodedLabel, SearchIndex, Source};
use icd_tests::code_table;

fn proposed(t: &CodeTable, idx: &SearchIndex, note: &str) -> Vec<String> {
    propose(t, idx, note).iter().map(|c| t.codes()[c.index].code.clone()).collect()
}

fn model_code(code: &str, score: f32) -> CodedLabel {
    CodedLabel::new(code, "", 0, score)
}

#[test]
fn diagnostic_statements_propose_codes_outside_the_labels() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let bph = "CHIEF COMPLAINT: Trouble emptying the bladder.\n\nPAST MEDICAL HISTORY: Hypertension, type 2 diabetes.\n\nASSESSMENT: BPH with LUTS, nocturia x3.\n\nPLAN: Start tamsulosin 0.4 mg nightly.";
    let got = proposed(&t, &idx, bph);
    assert_eq!(got.first().map(String::as_str), Some("N40.1"), "{got:?}");
    // The history's conditions are not statements.
    assert!(!got.iter().any(|c| c.starts_with("E11") || c == "I10"), "{got:?}");

    let fx = "ED NOTE\nCHIEF COMPLAINT: Fell on outstretched hand.\nIMPRESSION: Closed fracture of the right distal radius, initial encounter.\nPLAN: Splint, orthopedics follow-up.";
    let got = proposed(&t, &idx, fx);
    assert!(got[0].starts_with("S52.5") && got[0].ends_with('A'), "{got:?}");

    let screen = "INDICATION: Screening for colon cancer. Average risk.\nFINDINGS: Normal colon to the cecum.\nIMPRESSION: Normal colonoscopy.";
    let got = proposed(&t, &idx, screen);
    assert_eq!(got.first().map(String::as_str), Some("Z12.11"), "{got:?}");
}

#[test]
fn negated_and_family_statements_propose_nothing() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let got = proposed(&t, &idx, "ASSESSMENT: No evidence of kidney stone. Mother had breast cancer.");
    assert!(!got.iter().any(|c| c.starts_with("N20") || c.starts_with("C50")), "{got:?}");
}

#[test]
fn fusion_ranks_a_strong_statement_above_a_weak_model_guess_and_offers_specificity() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let note =
        "PREOPERATIVE DIAGNOSIS: Right distal radius fracture.\nPOSTOPERATIVE DIAGNOSIS: Right distal radius fracture, initial encounter.\nPROCEDURE: ORIF.";
    let cands = propose(&t, &idx, note);
    let fused = fuse(&t, note, vec![model_code("M25.561", 0.2), model_code("S52.501A", 0.1)], &cands, 5);
    let first = &fused.codes[0];
    assert!(first.code.starts_with("S52.5"), "{:?}", fused.codes.iter().map(|c| &c.code).collect::<Vec<_>>());
    assert!(matches!(first.source, Source::Table | Source::Both));
    assert!(!first.evidence.is_empty() && first.evidence[0].text.contains("radius"));
    let spec = first.specificity.as_ref().expect("a fracture code offers its 7th characters");
    assert!(spec.facts.iter().any(|f| f.contains("7th character")), "{:?}", spec.facts);
    let base = &first.code[..7];
    assert!(spec.options.iter().any(|o| o.code == format!("{base}D")), "{:?}", spec.options);
    assert!(!fused.low_confidence);

    // A confident model code the statements confirm stays first, marked as both.
    let note = "ASSESSMENT: Asthma, well controlled.";
    let cands = propose(&t, &idx, note);
    let fused = fuse(&t, note, vec![model_code("J45.909", 0.9), model_code("J30.9", 0.05)], &cands, 5);
    assert_eq!(fused.codes[0].code, "J45.909");
    assert_eq!(fused.codes[0].source, Source::Both);
}

#[test]
fn neither_source_confident_is_low_confidence() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let note = "Patient doing fine today. Return as needed.";
    let cands = propose(&t, &idx, note);
    let fused = fuse(&t, note, vec![model_code("M25.561", 0.12), model_code("J45.909", 0.1)], &cands, 5);
    assert!(fused.low_confidence, "{:?}", fused.codes);
}

#[test]
fn pregnancy_and_newborn_codes_need_a_pregnancy_or_a_newborn() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    // "laboratory" is no labor: nothing from chapter 15 or 16 for an adult's anemia.
    let got = proposed(&t, &idx, "LABORATORY: Hgb 9.1.\nASSESSMENT: Anemia.");
    assert!(!got.iter().any(|c| c.starts_with('O') || c.starts_with('P')), "{got:?}");
    let got = proposed(&t, &idx, "ASSESSMENT: Anemia of pregnancy, 28 weeks gestation.");
    assert!(got.iter().any(|c| c.starts_with("O99.0")), "{got:?}");
}

#[test]
fn a_title_that_excludes_what_the_statement_names_is_not_proposed() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    // I11.9 is "... without heart failure": the statement's own item names the heart failure.
    let got = proposed(&t, &idx, "ASSESSMENT: Hypertensive heart disease, and acute on chronic diastolic heart failure.");
    assert!(!got.iter().any(|c| c == "I11.9"), "{got:?}");
    assert!(got.iter().any(|c| c == "I11.0"), "{got:?}");
    // Saying "without" keeps the default.
    let got = proposed(&t, &idx, "ASSESSMENT: Hypertensive heart disease without heart failure.");
    assert_eq!(got.first().map(String::as_str), Some("I11.9"), "{got:?}");
}

#[test]
fn a_screening_encounter_lists_the_screening_code_before_its_findings() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let note = "COLONOSCOPY REPORT\nINDICATION: Average-risk screening for colorectal cancer. First colonoscopy.\n\
        FINDINGS: Two 4 mm sessile polyps in the sigmoid colon, removed with cold snare.\n\
        IMPRESSION:\n1. Two small colon polyps, removed.\n2. Left-sided diverticulosis.";
    let fused = fuse_note(&t, &idx, note, vec![model_code("K63.5", 0.6), model_code("Z12.11", 0.3)], 5);
    let codes: Vec<&str> = fused.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes[0], "Z12.11", "{codes:?}");
    assert!(codes.contains(&"K63.5"), "{codes:?}");
    // A diagnostic colonoscopy (no screening reason) lists its finding first.
    let note = note.replace("Average-risk screening for colorectal cancer. First colonoscopy.", "Rectal bleeding.");
    let fused = fuse_note(&t, &idx, &note, vec![model_code("K63.5", 0.6), model_code("Z12.11", 0.3)], 5);
    assert_eq!(fused.codes[0].code, "K63.5", "{:?}", fused.codes.iter().map(|c| &c.code).collect::<Vec<_>>());
    // A screening named after the visit's reason is not the reason.
    let visit = "CHIEF COMPLAINT: Diabetes follow-up. Also due for screening mammogram.\nASSESSMENT:\n1. Type 2 diabetes mellitus without complications.";
    let fused = fuse_note(&t, &idx, visit, vec![model_code("E11.9", 0.5), model_code("Z12.31", 0.2)], 5);
    assert_eq!(fused.codes[0].code, "E11.9", "{:?}", fused.codes.iter().map(|c| &c.code).collect::<Vec<_>>());
}

#[test]
fn the_first_listed_diagnosis_outranks_a_better_worded_secondary_one() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    // The model is unsure; the table matches "Dehydration" exactly but it is the second item.
    let note = "IMPRESSION:\n1. Acute kidney injury, prerenal.\n2. Dehydration.\n3. Hypokalemia.";
    let fused = fuse_note(&t, &idx, note, vec![model_code("N17.9", 0.35), model_code("E86.0", 0.2)], 5);
    assert_eq!(fused.codes[0].code, "N17.9", "{:?}", fused.codes.iter().map(|c| (&c.code, c.score)).collect::<Vec<_>>());
    // "Acute kidney injury" is the kidney failure of N17, not an injury (S37) of the kidney.
    let got = proposed(&t, &idx, note);
    assert!(!got.iter().any(|c| c.starts_with("S37")), "{got:?}");
}

#[test]
fn hypertension_alone_is_not_pulmonary_hypertension() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let got = proposed(&t, &idx, "ASSESSMENT:\n1. Hypertension.\n2. HTN, uncontrolled.");
    assert!(got.iter().any(|c| c == "I10"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("I27")), "{got:?}");
}

#[test]
fn diabetes_of_no_stated_type_is_type_2() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let got = proposed(&t, &idx, "ASSESSMENT:\n1. Diabetes mellitus with diabetic chronic kidney disease.");
    assert!(got.iter().any(|c| c == "E11.22"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("E10") || c.starts_with("E13")), "{got:?}");
    let got = proposed(&t, &idx, "ASSESSMENT:\n1. Type 1 diabetes mellitus with diabetic chronic kidney disease.");
    assert_eq!(got.first().map(String::as_str), Some("E10.22"), "{got:?}");
    // "DM 10 years" is not type 1.
    let got = proposed(&t, &idx, "ASSESSMENT:\n1. DM 10 years with diabetic chronic kidney disease.");
    assert!(!got.iter().any(|c| c.starts_with("E10")), "{got:?}");
}

#[test]
fn hypoglycemia_in_a_diabetic_is_the_diabetes_code_with_hypoglycemia() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let note = "ASSESSMENT:\n1. Hypoglycemia.\n2. Type 2 diabetes mellitus on insulin.";
    let fused = fuse_note(&t, &idx, note, vec![model_code("E16.2", 0.6), model_code("E11.9", 0.3)], 5);
    let codes: Vec<&str> = fused.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes[0], "E11.649", "{codes:?}");
    assert!(!codes.iter().any(|c| c.starts_with("E16")), "{codes:?}");
    assert!(!fused.codes[0].evidence.is_empty(), "the hypoglycemia's evidence stays");
    // Listed already, lower: it takes the hypoglycemia's place.
    let fused = fuse_note(&t, &idx, note, vec![model_code("E16.2", 0.6), model_code("E11.9", 0.3), model_code("E11.649", 0.05)], 5);
    let codes: Vec<&str> = fused.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes[0], "E11.649", "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "E11.649").count(), 1, "{codes:?}");
    // Without diabetes (a weak model guess of one is not diabetes), hypoglycemia is E16.
    let fused = fuse_note(&t, &idx, "ASSESSMENT:\n1. Hypoglycemia after a prolonged fast.", vec![model_code("E16.2", 0.6), model_code("E11.9", 0.02)], 5);
    assert_eq!(fused.codes[0].code, "E16.2");
}
