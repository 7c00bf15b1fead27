//! Codes beyond the model's labels (`icd_core::candidates`) on the real April 2026 table:
//! hand-written statements for codes outside the default 300 labels, specificity options and
//! the fusion with a model's suggestions.

use icd_core::candidates::{fuse, fuse_note, propose};
use icd_core::{CodeTable, CodedLabel, SearchIndex, Source};
use icd_tests::table_and_index;

fn proposed(t: &CodeTable, idx: &SearchIndex, note: &str) -> Vec<String> {
    propose(t, idx, note).iter().map(|c| t.codes()[c.index].code.clone()).collect()
}

fn model_code(code: &str, score: f32) -> CodedLabel {
    CodedLabel::new(code, "", 0, score)
}

#[test]
fn diagnostic_statements_propose_codes_outside_the_labels() {
    let (t, idx) = table_and_index();
    let bph = "CHIEF COMPLAINT: Trouble emptying the bladder.\n\nPAST MEDICAL HISTORY: Hypertension, type 2 diabetes.\n\nASSESSMENT: BPH with LUTS, nocturia x3.\n\nPLAN: Start tamsulosin 0.4 mg nightly.";
    let got = proposed(t, idx, bph);
    assert_eq!(got.first().map(String::as_str), Some("N40.1"), "{got:?}");
    // The history's conditions are not statements.
    assert!(!got.iter().any(|c| c.starts_with("E11") || c == "I10"), "{got:?}");

    let fx = "ED NOTE\nCHIEF COMPLAINT: Fell on outstretched hand.\nIMPRESSION: Closed fracture of the right distal radius, initial encounter.\nPLAN: Splint, orthopedics follow-up.";
    let got = proposed(t, idx, fx);
    assert!(got[0].starts_with("S52.5") && got[0].ends_with('A'), "{got:?}");

    let screen = "INDICATION: Screening for colon cancer. Average risk.\nFINDINGS: Normal colon to the cecum.\nIMPRESSION: Normal colonoscopy.";
    let got = proposed(t, idx, screen);
    assert_eq!(got.first().map(String::as_str), Some("Z12.11"), "{got:?}");
}

#[test]
fn negated_and_family_statements_propose_nothing() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT: No evidence of kidney stone. Mother had breast cancer.");
    assert!(!got.iter().any(|c| c.starts_with("N20") || c.starts_with("C50")), "{got:?}");
}

#[test]
fn fusion_ranks_a_strong_statement_above_a_weak_model_guess_and_offers_specificity() {
    let (t, idx) = table_and_index();
    let note =
        "PREOPERATIVE DIAGNOSIS: Right distal radius fracture.\nPOSTOPERATIVE DIAGNOSIS: Right distal radius fracture, initial encounter.\nPROCEDURE: ORIF.";
    let cands = propose(t, idx, note);
    let fused = fuse(t, note, vec![model_code("M25.561", 0.2), model_code("S52.501A", 0.1)], &cands, 5);
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
    let cands = propose(t, idx, note);
    let fused = fuse(t, note, vec![model_code("J45.909", 0.9), model_code("J30.9", 0.05)], &cands, 5);
    assert_eq!(fused.codes[0].code, "J45.909");
    assert_eq!(fused.codes[0].source, Source::Both);
}

#[test]
fn neither_source_confident_is_low_confidence() {
    let (t, idx) = table_and_index();
    let note = "Patient doing fine today. Return as needed.";
    let cands = propose(t, idx, note);
    let fused = fuse(t, note, vec![model_code("M25.561", 0.12), model_code("J45.909", 0.1)], &cands, 5);
    assert!(fused.low_confidence, "{:?}", fused.codes);
}

#[test]
fn pregnancy_and_newborn_codes_need_a_pregnancy_or_a_newborn() {
    let (t, idx) = table_and_index();
    // "laboratory" is no labor: nothing from chapter 15 or 16 for an adult's anemia.
    let got = proposed(t, idx, "LABORATORY: Hgb 9.1.\nASSESSMENT: Anemia.");
    assert!(!got.iter().any(|c| c.starts_with('O') || c.starts_with('P')), "{got:?}");
    let got = proposed(t, idx, "ASSESSMENT: Anemia of pregnancy, 28 weeks gestation.");
    assert!(got.iter().any(|c| c.starts_with("O99.0")), "{got:?}");
}

#[test]
fn a_title_that_excludes_what_the_statement_names_is_not_proposed() {
    let (t, idx) = table_and_index();
    // I11.9 is "... without heart failure": the statement's own item names the heart failure.
    let got = proposed(t, idx, "ASSESSMENT: Hypertensive heart disease, and acute on chronic diastolic heart failure.");
    assert!(!got.iter().any(|c| c == "I11.9"), "{got:?}");
    assert!(got.iter().any(|c| c == "I11.0"), "{got:?}");
    // Saying "without" keeps the default.
    let got = proposed(t, idx, "ASSESSMENT: Hypertensive heart disease without heart failure.");
    assert_eq!(got.first().map(String::as_str), Some("I11.9"), "{got:?}");
}

#[test]
fn a_screening_encounter_lists_the_screening_code_before_its_findings() {
    let (t, idx) = table_and_index();
    let note = "COLONOSCOPY REPORT\nINDICATION: Average-risk screening for colorectal cancer. First colonoscopy.\n\
        FINDINGS: Two 4 mm sessile polyps in the sigmoid colon, removed with cold snare.\n\
        IMPRESSION:\n1. Two small colon polyps, removed.\n2. Left-sided diverticulosis.";
    let fused = fuse_note(t, idx, note, vec![model_code("K63.5", 0.6), model_code("Z12.11", 0.3)], 5);
    let codes: Vec<&str> = fused.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes[0], "Z12.11", "{codes:?}");
    assert!(codes.contains(&"K63.5"), "{codes:?}");
    // A diagnostic colonoscopy (no screening reason) lists its finding first.
    let note = note.replace("Average-risk screening for colorectal cancer. First colonoscopy.", "Rectal bleeding.");
    let fused = fuse_note(t, idx, &note, vec![model_code("K63.5", 0.6), model_code("Z12.11", 0.3)], 5);
    assert_eq!(fused.codes[0].code, "K63.5", "{:?}", fused.codes.iter().map(|c| &c.code).collect::<Vec<_>>());
    // A screening named after the visit's reason is not the reason.
    let visit = "CHIEF COMPLAINT: Diabetes follow-up. Also due for screening mammogram.\nASSESSMENT:\n1. Type 2 diabetes mellitus without complications.";
    let fused = fuse_note(t, idx, visit, vec![model_code("E11.9", 0.5), model_code("Z12.31", 0.2)], 5);
    assert_eq!(fused.codes[0].code, "E11.9", "{:?}", fused.codes.iter().map(|c| &c.code).collect::<Vec<_>>());
}

#[test]
fn the_first_listed_diagnosis_outranks_a_better_worded_secondary_one() {
    let (t, idx) = table_and_index();
    // The model is unsure; the table matches "Dehydration" exactly but it is the second item.
    let note = "IMPRESSION:\n1. Acute kidney injury, prerenal.\n2. Dehydration.\n3. Hypokalemia.";
    let fused = fuse_note(t, idx, note, vec![model_code("N17.9", 0.35), model_code("E86.0", 0.2)], 5);
    assert_eq!(fused.codes[0].code, "N17.9", "{:?}", fused.codes.iter().map(|c| (&c.code, c.score)).collect::<Vec<_>>());
    // "Acute kidney injury" is the kidney failure of N17, not an injury (S37) of the kidney.
    let got = proposed(t, idx, note);
    assert!(!got.iter().any(|c| c.starts_with("S37")), "{got:?}");
}

#[test]
fn hypertension_alone_is_not_pulmonary_hypertension() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT:\n1. Hypertension.\n2. HTN, uncontrolled.");
    assert!(got.iter().any(|c| c == "I10"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("I27")), "{got:?}");
}

#[test]
fn diabetes_of_no_stated_type_is_type_2() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT:\n1. Diabetes mellitus with diabetic chronic kidney disease.");
    assert!(got.iter().any(|c| c == "E11.22"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("E10") || c.starts_with("E13")), "{got:?}");
    let got = proposed(t, idx, "ASSESSMENT:\n1. Type 1 diabetes mellitus with diabetic chronic kidney disease.");
    assert_eq!(got.first().map(String::as_str), Some("E10.22"), "{got:?}");
    // "DM 10 years" is not type 1.
    let got = proposed(t, idx, "ASSESSMENT:\n1. DM 10 years with diabetic chronic kidney disease.");
    assert!(!got.iter().any(|c| c.starts_with("E10")), "{got:?}");
}

#[test]
fn hypoglycemia_in_a_diabetic_is_the_diabetes_code_with_hypoglycemia() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT:\n1. Hypoglycemia.\n2. Type 2 diabetes mellitus on insulin.";
    let fused = fuse_note(t, idx, note, vec![model_code("E16.2", 0.6), model_code("E11.9", 0.3)], 5);
    let codes: Vec<&str> = fused.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes[0], "E11.649", "{codes:?}");
    assert!(!codes.iter().any(|c| c.starts_with("E16")), "{codes:?}");
    assert!(!fused.codes[0].evidence.is_empty(), "the hypoglycemia's evidence stays");
    // Listed already, lower: it takes the hypoglycemia's place.
    let fused = fuse_note(t, idx, note, vec![model_code("E16.2", 0.6), model_code("E11.9", 0.3), model_code("E11.649", 0.05)], 5);
    let codes: Vec<&str> = fused.codes.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes[0], "E11.649", "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == "E11.649").count(), 1, "{codes:?}");
    // Without diabetes (a weak model guess of one is not diabetes), hypoglycemia is E16.
    let fused = fuse_note(t, idx, "ASSESSMENT:\n1. Hypoglycemia after a prolonged fast.", vec![model_code("E16.2", 0.6), model_code("E11.9", 0.02)], 5);
    assert_eq!(fused.codes[0].code, "E16.2");
}

fn fused_codes(t: &CodeTable, idx: &SearchIndex, note: &str, model: Vec<CodedLabel>) -> Vec<String> {
    fuse_note(t, idx, note, model, 5).codes.into_iter().map(|c| c.code).collect()
}

#[test]
fn the_primary_malignancy_is_listed_before_its_secondaries() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT:\n1. Metastases to the bone, thoracic spine.\n2. Adenocarcinoma of the prostate.";
    let codes = fused_codes(t, idx, note, vec![model_code("C79.51", 0.6), model_code("C61", 0.2)]);
    assert_eq!(codes[0], "C61", "{codes:?}");
    assert!(codes.contains(&"C79.51".to_string()), "{codes:?}");
    // The encounter is for the metastasis alone: it stays first.
    let palliative = format!("REASON FOR VISIT: Palliative radiation for bone metastases.\n{note}");
    let codes = fused_codes(t, idx, &palliative, vec![model_code("C79.51", 0.6), model_code("C61", 0.2)]);
    assert_eq!(codes[0], "C79.51", "{codes:?}");
    // A primary only in the history (the model's weak guess) does not move.
    let history = "PAST MEDICAL HISTORY: Prostate cancer treated with prostatectomy in 2015.\nASSESSMENT:\n1. Metastases to the bone, thoracic spine.";
    let codes = fused_codes(t, idx, history, vec![model_code("C79.51", 0.6), model_code("C61", 0.2)]);
    assert_eq!(codes[0], "C79.51", "{codes:?}");
}

#[test]
fn a_carcinoma_is_no_benign_neoplasm() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT:\n1. Adenocarcinoma of the sigmoid colon.");
    assert!(got.iter().any(|c| c == "C18.7"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with('D')), "{got:?}");
    let got = proposed(t, idx, "ASSESSMENT:\n1. Benign neoplasm of the sigmoid colon.");
    assert!(got.iter().any(|c| c == "D12.5"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with('C')), "{got:?}");
}

#[test]
fn hiv_positive_without_hiv_disease_is_z21() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT:\n1. HIV positive, on antiretroviral therapy, viral load undetectable, CD4 720.\n2. Hyperlipidemia.";
    let codes = fused_codes(t, idx, note, vec![model_code("B20", 0.7), model_code("E78.5", 0.2)]);
    assert_eq!(codes[0], "Z21", "{codes:?}");
    assert!(!codes.contains(&"B20".to_string()), "{codes:?}");
    // "AIDS" or an HIV-related illness makes it HIV disease.
    for said in ["AIDS, on antiretroviral therapy", "HIV positive with oral thrush"] {
        let note = note.replace("HIV positive, on antiretroviral therapy", said);
        let codes = fused_codes(t, idx, &note, vec![model_code("B20", 0.7), model_code("E78.5", 0.2)]);
        assert_eq!(codes[0], "B20", "{said}: {codes:?}");
    }
}

#[test]
fn a_newborn_birth_stay_lists_its_birth_code_first() {
    let (t, idx) = table_and_index();
    let nursery = "NEWBORN DISCHARGE SUMMARY\nHISTORY: Term male infant born to a 31-year-old G2P2 mother by repeat cesarean section at 39 weeks. \
        Apgars 8 and 9. Birth weight 3.6 kg.\nHOSPITAL COURSE: Admitted to the newborn nursery. Mild jaundice, bilirubin below treatment level.\n\
        DISCHARGE DIAGNOSES:\n1. Neonatal jaundice.\n2. Term newborn.";
    let model = || vec![model_code("P59.9", 0.6), model_code("Z38.00", 0.3)];
    let codes = fused_codes(t, idx, nursery, model());
    assert_eq!(codes[0], "Z38.01", "cesarean: {codes:?}");
    assert!(!codes.contains(&"Z38.00".to_string()), "{codes:?}");
    assert!(codes.contains(&"P59.9".to_string()), "{codes:?}");
    let vaginal = nursery.replace("repeat cesarean section", "spontaneous vaginal delivery");
    assert_eq!(fused_codes(t, idx, &vaginal, model())[0], "Z38.00");
    // The mother's earlier cesareans are not this birth's.
    let vbac = vaginal.replace("Apgars 8 and 9.", "Mother had two previous cesarean sections. Apgars 8 and 9.");
    assert_eq!(fused_codes(t, idx, &vbac, model())[0], "Z38.00");
    // An older infant's admission with a birth history, and a weight check, are not the birth stay.
    let infant = "ADMISSION H&P\nHPI: 4-month-old term male with 3 days of cough and wheeze, admitted for hypoxia.\n\
        BIRTH HISTORY: Born at 39 weeks by spontaneous vaginal delivery, birth weight 3.4 kg, Apgars 8 and 9.\nASSESSMENT:\n1. Acute bronchiolitis due to RSV.";
    let codes = fused_codes(t, idx, infant, vec![model_code("J21.0", 0.6)]);
    assert!(!codes.iter().any(|c| c.starts_with("Z38")), "{codes:?}");
    let check = vaginal.replace("NEWBORN DISCHARGE SUMMARY", "NEWBORN WEIGHT CHECK");
    assert!(!fused_codes(t, idx, &check, model())[0].starts_with("Z38"));
    // The mother's delivery record tells the birth too.
    let mother = "DELIVERY NOTE\nThe patient delivered a viable female infant, Apgars 8 and 9, birth weight 3.2 kg. Placenta delivered intact. Estimated blood loss 300 mL.\n\
        DIAGNOSES:\n1. Term pregnancy, delivered.";
    assert!(!fused_codes(t, idx, mother, vec![model_code("O80", 0.6)])[0].starts_with("Z38"));
}

#[test]
fn the_chemotherapy_or_aftercare_encounter_is_listed_first() {
    let (t, idx) = table_and_index();
    let chemo = "REASON FOR VISIT: Chemotherapy, cycle 3.\n\nASSESSMENT:\n1. Adenocarcinoma of the sigmoid colon.\n2. Hypertension.";
    let codes = fused_codes(t, idx, chemo, vec![model_code("C18.9", 0.6), model_code("I10", 0.3)]);
    assert_eq!(codes[0], "Z51.11", "{codes:?}");
    // A plan for chemotherapy later is not this encounter's reason.
    let consult = "REASON FOR CONSULTATION: Newly diagnosed colon cancer.\n\nASSESSMENT:\n1. Adenocarcinoma of the sigmoid colon. Plan adjuvant chemotherapy.";
    let codes = fused_codes(t, idx, consult, vec![model_code("C18.9", 0.6)]);
    assert!(codes[0].starts_with("C18"), "{codes:?}");
    let sutures = "CHIEF COMPLAINT: Suture removal.\n\nASSESSMENT: Laceration of the left hand, healing well.";
    let codes = fused_codes(t, idx, sutures, vec![model_code("S61.412A", 0.5)]);
    assert_eq!(codes[0], "Z48.02", "{codes:?}");
}

#[test]
fn a_check_after_completed_treatment_is_a_follow_up_encounter() {
    let (t, idx) = table_and_index();
    let cancer = "REASON FOR VISIT: Routine follow-up after treatment of colon cancer.\n\nASSESSMENT:\n1. History of adenocarcinoma of the ascending colon, status post resection and adjuvant chemotherapy, no evidence of recurrence.";
    let codes = fused_codes(t, idx, cancer, vec![model_code("C18.9", 0.7)]);
    assert_eq!(codes[0], "Z08", "{codes:?}");
    let clot = "CHIEF COMPLAINT: Follow-up after completing anticoagulation for deep vein thrombosis.\n\nASSESSMENT:\n1. Provoked left leg DVT, treatment completed, no residual thrombus.";
    let codes = fused_codes(t, idx, clot, vec![model_code("I82.402", 0.7)]);
    assert_eq!(codes[0], "Z09", "{codes:?}");
    // A recurrence found at the visit is coded itself.
    let recurred = cancer.replace("no evidence of recurrence", "biopsy-proven recurrence at the anastomosis");
    assert!(fused_codes(t, idx, &recurred, vec![model_code("C18.9", 0.7)])[0].starts_with("C18"));
    // Surveillance of a condition nobody treated, and an ongoing disease's follow-up, are not.
    let aneurysm = "INDICATION: Surveillance of known infrarenal abdominal aortic aneurysm.\nIMPRESSION: Infrarenal abdominal aortic aneurysm, 4.4 cm.";
    assert!(fused_codes(t, idx, aneurysm, vec![model_code("I71.40", 0.5)])[0].starts_with("I71"));
    let diabetes = "CHIEF COMPLAINT: Diabetes follow-up.\nASSESSMENT:\n1. Type 2 diabetes mellitus without complications.";
    assert_eq!(fused_codes(t, idx, diabetes, vec![model_code("E11.9", 0.7)])[0], "E11.9");
}

#[test]
fn an_unspecified_model_code_yields_to_the_site_the_statement_names() {
    let (t, idx) = table_and_index();
    let note = "DISCHARGE DIAGNOSES:\n1. Adenocarcinoma of the sigmoid colon, status post sigmoid colectomy.\n2. Hypertension.";
    let codes = fused_codes(t, idx, note, vec![model_code_titled(t, "C18.9", 0.8), model_code_titled(t, "I10", 0.3)]);
    assert_eq!(codes[0], "C18.7", "{codes:?}");
    assert_eq!(codes[1], "C18.9", "the model's code stays, next: {codes:?}");
    // A specific model code keeps its place against another reading.
    let codes = fused_codes(t, idx, note, vec![model_code_titled(t, "C18.7", 0.8)]);
    assert_eq!(codes[0], "C18.7", "{codes:?}");
}

fn model_code_titled(t: &CodeTable, code: &str, score: f32) -> CodedLabel {
    let c = t.get(code).expect("a code of the table");
    CodedLabel::new(code, c.description.clone(), c.chapter, score)
}

#[test]
fn a_model_code_whose_without_the_statement_names_yields() {
    let (t, idx) = table_and_index();
    // K80.20 is "calculus of gallbladder without cholecystitis": the statement names it.
    let note = "PREOPERATIVE DIAGNOSIS: Symptomatic cholelithiasis.\nPOSTOPERATIVE DIAGNOSIS: Acute calculous cholecystitis.\nPROCEDURE: Laparoscopic cholecystectomy.";
    let codes = fused_codes(t, idx, note, vec![model_code_titled(t, "K80.20", 0.9)]);
    assert_eq!(codes[0], "K80.00", "{codes:?}");
    // Without the contradiction the sure model keeps its code.
    let plain = note.replace("Acute calculous cholecystitis", "Symptomatic cholelithiasis");
    assert_eq!(fused_codes(t, idx, &plain, vec![model_code_titled(t, "K80.20", 0.9)])[0], "K80.20");
    // The clause ends at a comma: "..., cervical region" is said, not excluded.
    let neck = "IMPRESSION:\n1. Multilevel cervical spondylosis.";
    assert_eq!(fused_codes(t, idx, neck, vec![model_code_titled(t, "M47.812", 0.9)])[0], "M47.812");
}

#[test]
fn an_other_code_yields_to_the_sibling_that_names_the_stated_kind() {
    let (t, idx) = table_and_index();
    let colles = "ASSESSMENT AND PLAN:\n1. Colles fracture of the right distal radius, subsequent encounter, routine healing.";
    let got = proposed(t, idx, colles);
    let at = |c: &str| got.iter().position(|x| x == c);
    assert_eq!(got.first().map(String::as_str), Some("S52.531D"), "{got:?}");
    assert!(at("S52.591D").is_none_or(|i| i > 0), "{got:?}");
    // No kind named: "Other fractures of lower end" stays where its words put it.
    let plain = proposed(t, idx, "ASSESSMENT:\n1. Other fracture of the lower end of the right radius, subsequent encounter, routine healing.");
    assert_eq!(plain.first().map(String::as_str), Some("S52.591D"), "{plain:?}");
    // "depression" is F32.A's kind, not "Other specified depressive episodes".
    let dep = proposed(t, idx, "ASSESSMENT:\n1. Depression.");
    let pos = |v: &[String], c: &str| v.iter().position(|x| x == c);
    assert!(pos(&dep, "F32.A").is_some_and(|a| a < pos(&dep, "F32.89").unwrap_or(usize::MAX)), "{dep:?}");
}

#[test]
fn a_treatment_given_today_with_no_reason_of_its_own_is_the_encounter() {
    let (t, idx) = table_and_index();
    let fraction = "RADIATION ONCOLOGY ON-TREATMENT NOTE\n\nDIAGNOSIS: Adenocarcinoma of the prostate.\n\nCOURSE: Intensity-modulated radiation therapy, 78 Gy in 39 fractions.\n\nFraction 20 of 39 was delivered today without difficulty.\n\nASSESSMENT: Prostate adenocarcinoma on radiation, tolerating well.";
    let codes = fused_codes(t, idx, fraction, vec![model_code("C61", 0.8)]);
    assert_eq!(codes[0], "Z51.0", "{codes:?}");
    assert_eq!(codes[1], "C61", "{codes:?}");
    let infusion = "ONCOLOGY INFUSION NOTE\n\nDIAGNOSIS: Non-small cell carcinoma of the right upper lobe.\n\nPembrolizumab 200 mg was administered today over 30 minutes without reaction.";
    let codes = fused_codes(t, idx, infusion, vec![model_code("C34.11", 0.8)]);
    assert_eq!(codes[0], "Z51.12", "{codes:?}");
    // A treatment planned, not given; an ejection fraction; a reason that is a problem.
    let planned =
        fraction.replace("Fraction 20 of 39 was delivered today without difficulty.", "Simulation today; the first fraction will be delivered next week.");
    assert_eq!(fused_codes(t, idx, &planned, vec![model_code("C61", 0.8)])[0], "C61");
    let heart = "ECHOCARDIOGRAM REPORT\n\nFINDINGS: Left ventricular ejection fraction measured today at 35 percent, delivered images adequate.\n\nIMPRESSION: Chronic systolic heart failure.";
    assert!(!fused_codes(t, idx, heart, vec![model_code("I50.22", 0.6)]).iter().any(|c| c.starts_with("Z51")));
    let nausea = format!("CHIEF COMPLAINT: Nausea and vomiting.\n\n{infusion}");
    let codes = fused_codes(t, idx, &nausea, vec![model_code("C34.11", 0.8)]);
    assert_ne!(codes[0], "Z51.12", "{codes:?}");
}

#[test]
fn a_newborn_weight_check_is_the_newborn_health_examination() {
    let (t, idx) = table_and_index();
    let check = "PEDIATRIC OFFICE VISIT\n\nCHIEF COMPLAINT: Newborn weight check.\n\nHISTORY: A 4-day-old girl born at term by vaginal delivery, breastfeeding well.\n\nASSESSMENT: Healthy newborn, weight 3 percent below birth weight.";
    let codes = fused_codes(t, idx, check, vec![model_code("R63.6", 0.4)]);
    assert_eq!(codes[0], "Z00.110", "{codes:?}");
    let older = check.replace("4-day-old", "12-day-old");
    assert_eq!(fused_codes(t, idx, &older, vec![model_code("R63.6", 0.4)])[0], "Z00.111");
    // A problem as the reason is that problem's visit; a 2-month-old is no newborn.
    let jaundice = check.replace("Newborn weight check.", "Jaundice, newborn weight check.");
    assert_ne!(fused_codes(t, idx, &jaundice, vec![model_code("P59.9", 0.6)])[0], "Z00.110");
    let infant = check.replace("4-day-old", "2-month-old");
    assert!(!fused_codes(t, idx, &infant, vec![model_code("R63.6", 0.4)]).iter().any(|c| c.starts_with("Z00.11")));
}

#[test]
fn a_diabetics_linked_conditions_are_the_diabetes_codes_with_them() {
    let (t, idx) = table_and_index();
    let note = "CHIEF COMPLAINT: Diabetes follow-up.\n\nASSESSMENT AND PLAN:\n1. Type 2 diabetes mellitus.\n2. Chronic kidney disease stage 3a.\n3. Peripheral neuropathy.";
    let codes = fused_codes(t, idx, note, vec![model_code("E11.9", 0.9)]);
    // E11.22 in the place of "without complications", the CKD stage kept after it (E11.22's
    // "use additional code"), the neuropathy in E11.42 (G62.9 goes).
    assert_eq!(codes[0], "E11.22", "{codes:?}");
    assert!(codes.contains(&"N18.31".to_string()) && codes.contains(&"E11.42".to_string()), "{codes:?}");
    assert!(!codes.iter().any(|c| c == "E11.9" || c == "G62.9"), "{codes:?}");
    // The diabetes code goes before the ulcer it causes (L97's "code first"), of its own type.
    let ulcer = "ASSESSMENT:\n1. Non-pressure chronic ulcer of the right heel limited to breakdown of skin.\n2. Type 1 diabetes mellitus.";
    let codes = fused_codes(t, idx, ulcer, vec![model_code("E10.9", 0.5)]);
    assert_eq!(codes[0], "E10.621", "{codes:?}");
    assert!(codes.iter().any(|c| c.starts_with("L97.41")), "{codes:?}");
    // Not when the provider names another cause, nor for diabetes "without complications".
    let due = note.replace("Chronic kidney disease stage 3a", "Chronic kidney disease stage 3a due to DM");
    assert_eq!(fused_codes(t, idx, &due, vec![model_code("E11.9", 0.9)])[0], "E11.22");
    let other = note.replace("Chronic kidney disease stage 3a", "Chronic kidney disease stage 3a due to obstructive uropathy, admission labs stable");
    let codes = fused_codes(t, idx, &other, vec![model_code("E11.9", 0.9)]);
    assert!(!codes.contains(&"E11.22".to_string()) && codes.contains(&"E11.42".to_string()), "{codes:?}");
    let stated = "ASSESSMENT:\n1. Type 2 diabetes mellitus without complications.\n2. Chronic kidney disease stage 3a.";
    assert_eq!(fused_codes(t, idx, stated, vec![model_code("E11.9", 0.9)])[0], "E11.9");
}

#[test]
fn conditions_the_classification_links_are_their_combination_codes() {
    let (t, idx) = table_and_index();
    // Coronary atherosclerosis with angina (I.C.9.b): one code, the angina's kind.
    let cad = "ASSESSMENT AND PLAN:\n1. Coronary artery disease.\n2. Unstable angina.\n3. Hyperlipidemia.";
    let codes = fused_codes(t, idx, cad, vec![model_code("I25.10", 0.8), model_code("I20.9", 0.05)]);
    assert_eq!(codes[0], "I25.110", "{codes:?}");
    assert!(!codes.iter().any(|c| c == "I25.10" || c.starts_with("I20")), "{codes:?}");
    let caused = cad.replace("Unstable angina", "Unstable angina due to severe aortic stenosis");
    assert_eq!(fused_codes(t, idx, &caused, vec![model_code("I25.10", 0.8)])[0], "I25.10");
    // COPD with pneumonia is J44.0, the pneumonia coded too; not a pneumonia "resolved".
    let copd = "ASSESSMENT:\n1. COPD.\n2. Community-acquired pneumonia, right lower lobe.";
    let codes = fused_codes(t, idx, copd, vec![model_code("J44.9", 0.6), model_code("J18.9", 0.3)]);
    assert_eq!(codes[0], "J44.0", "{codes:?}");
    assert!(codes.contains(&"J18.9".to_string()) && !codes.contains(&"J44.9".to_string()), "{codes:?}");
    let resolved = copd.replace("right lower lobe.", "right lower lobe, resolved.");
    assert_eq!(fused_codes(t, idx, &resolved, vec![model_code("J44.9", 0.6)])[0], "J44.9");
    // Influenza with pneumonia: J10.0-, which includes the pneumonia.
    let flu = "ASSESSMENT:\n1. Influenza A.\n2. Pneumonia.";
    let codes = fused_codes(t, idx, flu, vec![model_code("J10.1", 0.9)]);
    assert_eq!(codes[0], "J10.00", "{codes:?}");
    assert!(!codes.iter().any(|c| c.starts_with("J18")), "{codes:?}");
    // Esophageal varices in cirrhosis are secondary (I85.1-), the cirrhosis coded first.
    let varices = "EGD REPORT\nIMPRESSION:\n1. Large esophageal varices without bleeding, banded x3.\n2. Alcoholic cirrhosis of liver.";
    let codes = fused_codes(t, idx, varices, vec![]);
    let at = |c: &str| codes.iter().position(|x| x == c);
    assert_eq!(codes[0], "K70.30", "{codes:?}");
    assert!(at("I85.10").is_some() && at("I85.00").is_none(), "{codes:?}");
    let alone = "EGD REPORT\nIMPRESSION:\n1. Large esophageal varices without bleeding, banded x3.\n2. Hiatal hernia.";
    assert_eq!(fused_codes(t, idx, alone, vec![])[0], "I85.00");
}

#[test]
fn the_systemic_infection_goes_before_the_local_one() {
    let (t, idx) = table_and_index();
    // Sepsis with a localized infection, both present on admission: the sepsis first (I.C.1.d.4).
    let sepsis = "DISCHARGE DIAGNOSES:\n1. Cellulitis of the left lower leg.\n2. Sepsis.";
    assert_eq!(fused_codes(t, idx, sepsis, vec![model_code("L03.116", 0.5)])[0], "A41.9");
    // Not a sepsis the note rules out, nor "urosepsis", nor a match of "organism unknown".
    let not_met = "DISCHARGE DIAGNOSES:\n1. Cellulitis of the left lower leg.\n2. No sepsis.";
    assert_eq!(fused_codes(t, idx, not_met, vec![model_code("L03.116", 0.5)])[0], "L03.116");
    let uro = "DISCHARGE DIAGNOSES:\n1. Urinary tract infection.\n2. Urosepsis.";
    assert_eq!(fused_codes(t, idx, uro, vec![model_code("N39.0", 0.5)])[0], "N39.0");
    let organism = "ASSESSMENT:\n1. Community-acquired pneumonia, right lower lobe. Organism unknown.";
    assert_eq!(fused_codes(t, idx, organism, vec![model_code("J18.9", 0.5)])[0], "J18.9");
    // Septic shock: the infection, then R65.21 (I.C.1.d.1.b); no "postprocedural" shock
    // that no procedure explains.
    let shock = "DISCHARGE DIAGNOSES:\n1. Septic shock due to E. coli pyelonephritis.\n2. Acute kidney injury.";
    let codes = fused_codes(t, idx, shock, vec![model_code("N10", 0.5)]);
    let at = |c: &str| codes.iter().position(|x| x == c).unwrap_or(usize::MAX);
    assert!(at("A41.51") < at("N10") && at("A41.51") < at("R65.21") && at("R65.21") < usize::MAX, "{codes:?}");
    let alone = "DISCHARGE DIAGNOSES:\n1. Septic shock.\n2. Pneumonia.";
    let codes = fused_codes(t, idx, alone, vec![]);
    assert_eq!(codes[..2], ["A41.9", "R65.21"], "{codes:?}");
    assert!(!codes.iter().any(|c| c.starts_with("T81")), "{codes:?}");
    // COVID-19 before its pneumonia, which is J12.82 (I.C.1.g.1).
    let covid = "DISCHARGE DIAGNOSES:\n1. Pneumonia.\n2. COVID-19 infection.\n3. Hypoxia.";
    let codes = fused_codes(t, idx, covid, vec![model_code("J18.9", 0.7), model_code("U07.1", 0.1)]);
    assert_eq!(codes[..2], ["U07.1", "J12.82"], "{codes:?}");
}

#[test]
fn index_terms_and_unsaid_episodes() {
    let (t, idx) = table_and_index();
    // "NSTEMI" is I21.4.
    let mi = "CHIEF COMPLAINT: Chest pain.\n\nASSESSMENT:\n1. NSTEMI.\n2. Coronary artery disease.";
    let codes = fused_codes(t, idx, mi, vec![model_code("R07.9", 0.5)]);
    assert_eq!(codes[0], "I21.4", "{codes:?}");
    // The sacrum is the sacral region; a fracture "due to osteoporosis" is M80 (pathological).
    let ulcer = "ASSESSMENT:\n1. Stage 3 pressure ulcer of the sacrum.\n2. Dementia.";
    assert_eq!(fused_codes(t, idx, ulcer, vec![])[0], "L89.153");
    let fracture = "IMPRESSION:\n1. Compression fracture of L1 due to osteoporosis.";
    assert_eq!(fused_codes(t, idx, fracture, vec![])[0], "M80.08XA");
}

#[test]
fn a_model_code_whose_condition_the_note_never_names_leaves_the_list() {
    let (t, idx) = table_and_index();
    let ulcer = "ASSESSMENT:\n1. Stage 3 pressure ulcer of the sacrum.\n2. Dementia.";
    let codes = fused_codes(t, idx, ulcer, vec![model_code("E11.621", 0.6), model_code("J45.909", 0.3)]);
    assert!(!codes.iter().any(|c| c.starts_with("E11") || c.starts_with("J45")), "{codes:?}");
    // Named anywhere, even as an abbreviation, the model's code stays.
    let named = format!("{ulcer}\nPMH: DM2, mild intermittent asthma.");
    let codes = fused_codes(t, idx, &named, vec![model_code("E11.621", 0.6), model_code("J45.909", 0.3)]);
    assert!(codes.iter().any(|c| c.starts_with("E11")) && codes.iter().any(|c| c.starts_with("J45")), "{codes:?}");
    // Denied, a relative's, or a lab value alone: not the patient's diagnosis.
    let neuropathy = "IMPRESSION:\n1. Axonal polyneuropathy, cause not found. No diabetes or prediabetes on glucose tolerance \
                      testing. Hemoglobin A1c 5.4%.\nFAMILY HISTORY: Father had type 2 diabetes.";
    let codes = fused_codes(t, idx, neuropathy, vec![model_code("E11.42", 0.6)]);
    assert!(!codes.iter().any(|c| c.starts_with("E11")), "{codes:?}");
    // Every label the table lists is checked the same way: an inguinal hernia code for a note
    // that names only an incisional one goes; named, it stays.
    let incisional = "REASON FOR ADMISSION: Elective repair of ventral incisional hernia.";
    let codes = fused_codes(t, idx, incisional, vec![model_code("K40.90", 0.7)]);
    assert!(!codes.contains(&"K40.90".to_string()) && codes.iter().any(|c| c.starts_with("K43")), "{codes:?}");
    let inguinal = "REASON FOR ADMISSION: Elective repair of right inguinal hernia.";
    assert!(fused_codes(t, idx, inguinal, vec![model_code("K40.90", 0.7)]).contains(&"K40.90".to_string()));
    // A modifier may stand between a cue's words ("pulmonary ... hypertension"), not a
    // phrase's end: a lung nodule and high blood pressure are no pulmonary hypertension.
    let venous = "HISTORY: Known pulmonary venous hypertension from diastolic dysfunction.\nASSESSMENT:\n1. Dyspnea on exertion.";
    assert!(fused_codes(t, idx, venous, vec![model_code("I27.20", 0.7)]).contains(&"I27.20".to_string()));
    let apart = "HISTORY: Known pulmonary nodule; hypertension.\nASSESSMENT:\n1. Dyspnea on exertion.";
    assert!(!fused_codes(t, idx, apart, vec![model_code("I27.20", 0.7)]).contains(&"I27.20".to_string()));
}

#[test]
fn a_title_not_specified_as_what_the_statement_says_or_of_another_side_is_no_reading() {
    let (t, idx) = table_and_index();
    let note = "POSTOPERATIVE DIAGNOSIS: Recurrent right indirect inguinal hernia with cord lipoma.";
    let codes = fused_codes(t, idx, note, vec![model_code_titled(t, "K40.90", 0.7)]);
    // K40.90 is "not specified as recurrent"; K40.21 is bilateral.
    assert_eq!(codes[0], "K40.91", "{codes:?}");
    assert!(!codes.contains(&"K40.21".to_string()), "{codes:?}");
    // "Adenotonsillar hypertrophy" is hypertrophy of tonsils with hypertrophy of adenoids.
    let tonsils = "POSTOPERATIVE DIAGNOSIS: Adenotonsillar hypertrophy with obstructive sleep-disordered breathing.";
    assert_eq!(fused_codes(t, idx, tonsils, vec![model_code("Z01.818", 0.6)])[0], "J35.3");
    // An organ's adjective is the organ of the title: "gastric" is the stomach's.
    let dieulafoy = "IMPRESSION:\n1. Actively bleeding Dieulafoy lesion of the proximal gastric body.";
    assert_eq!(proposed(t, idx, dieulafoy).first().map(String::as_str), Some("K31.82"));
}

#[test]
fn a_manifestation_code_never_leads_its_cause_does() {
    let (t, idx) = table_and_index();
    // D63.1 "Anemia in chronic kidney disease": "code first underlying chronic kidney disease".
    let note = "DIAGNOSIS: Anemia in CKD stage 4.";
    let codes = fused_codes(t, idx, note, vec![model_code("D63.1", 0.9), model_code("E11.9", 0.2)]);
    assert!(codes[0].starts_with("N18"), "the CKD it cites goes first: {codes:?}");
    assert!(codes.contains(&"D63.1".to_string()), "the manifestation stays listed: {codes:?}");
    // Not a manifestation: the agent of an infection, and a disease that names its own cause.
    let uti = "DIAGNOSIS: Urinary tract infection due to E. coli.";
    assert_eq!(fused_codes(t, idx, uti, vec![model_code("N39.0", 0.9)])[0], "N39.0");
}

#[test]
fn hypertension_with_heart_failure_or_ckd_is_the_combination_code() {
    let (t, idx) = table_and_index();
    let both = "ASSESSMENT AND PLAN:\n1. Acute on chronic diastolic heart failure.\n2. Hypertension.\n3. Chronic kidney disease stage 3b.";
    let codes = fused_codes(t, idx, both, vec![model_code("I50.33", 0.7), model_code("I10", 0.5)]);
    assert!(codes.contains(&"I13.0".to_string()) && !codes.contains(&"I10".to_string()), "{codes:?}");
    assert!(codes.contains(&"I50.33".to_string()) && codes.iter().any(|c| c.starts_with("N18.3")), "{codes:?}");
    // The combination takes the hypertension's place: first when hypertension was first.
    let ckd = "ASSESSMENT:\n1. Hypertension, well controlled.\n2. Chronic kidney disease stage 5.";
    let codes = fused_codes(t, idx, ckd, vec![model_code("I10", 0.8)]);
    assert_eq!(codes[0], "I12.0", "{codes:?}");
    let heart = "ASSESSMENT:\n1. Hypertension.\n2. Chronic systolic heart failure.";
    assert_eq!(fused_codes(t, idx, heart, vec![model_code("I10", 0.8)])[0], "I11.0");
    // Not when the note unlinks them, nor for a heart failure that is only suspected.
    let unrelated = format!("{ckd}\nHer kidney disease is unrelated to hypertension (reflux nephropathy).");
    assert_eq!(fused_codes(t, idx, &unrelated, vec![model_code("I10", 0.8)])[0], "I10");
    let suspected = "ASSESSMENT:\n1. Hypertension.\n2. Possible heart failure, echo ordered.";
    assert_eq!(fused_codes(t, idx, suspected, vec![model_code("I10", 0.8)])[0], "I10");
    // The model's combination code keeps what it implies; its guess of a stage alone is no end stage.
    let cardiorenal = "DISCHARGE DIAGNOSES:\n1. Cardiorenal disease.\n2. Low vitamin D.";
    assert_eq!(fused_codes(t, idx, cardiorenal, vec![model_code("I13.0", 0.8), model_code("N18.6", 0.4)])[0], "I13.0");
    // A stated end stage ("ESKD") with heart failure is I13.2.
    let eskd = "DISCHARGE DIAGNOSES:\n1. ESKD on hemodialysis.\n2. Hypertension.\n3. Chronic HFrEF.";
    let codes = fused_codes(t, idx, eskd, vec![model_code("I10", 0.6)]);
    assert!(codes.contains(&"I13.2".to_string()) && codes.contains(&"N18.6".to_string()), "{codes:?}");
}

#[test]
fn a_model_code_of_another_side_than_the_statement_says_yields() {
    let (t, idx) = table_and_index();
    let right = "PREOPERATIVE DIAGNOSIS: Age-related nuclear cataract, right eye.\nPOSTOPERATIVE DIAGNOSIS: Age-related nuclear cataract, right eye.\nPROCEDURE: Phacoemulsification with intraocular lens, right eye.";
    let codes = fused_codes(t, idx, right, vec![model_code_titled(t, "H25.13", 0.9)]);
    assert_eq!(codes[0], "H25.11", "{codes:?}");
    // Both eyes said: the model's bilateral code stays.
    let both = right.replace(
        "right eye.\nPOSTOPERATIVE DIAGNOSIS: Age-related nuclear cataract, right eye.",
        "right and left eyes.\nPOSTOPERATIVE DIAGNOSIS: Age-related nuclear cataract, right and left eyes.",
    );
    assert_eq!(fused_codes(t, idx, &both, vec![model_code_titled(t, "H25.13", 0.9)])[0], "H25.13");
}

#[test]
fn a_without_default_completes_a_match_that_names_the_condition() {
    let (t, idx) = table_and_index();
    // "Gastritis" covers too little of K29.70 "Gastritis, unspecified, without bleeding" on its
    // words alone; absence of bleeding is the default, so K29.70 is the reading, not K29.71.
    let got = proposed(t, idx, "IMPRESSION:\n1. Antral gastritis, biopsied.");
    assert_eq!(got.first().map(String::as_str), Some("K29.70"), "{got:?}");
    // Bleeding is hemorrhage: a bleeding ulcer is no "... without hemorrhage or perforation".
    let got = proposed(t, idx, "ASSESSMENT: Bleeding duodenal ulcer.");
    assert_eq!(got.first().map(String::as_str), Some("K26.4"), "{got:?}");
    assert!(!got.iter().any(|c| ["K26.3", "K26.7", "K26.9"].contains(&c.as_str())), "{got:?}");
    // The defaults never stand in for the condition: a knee is no laceration of it.
    let got = proposed(t, idx, "ASSESSMENT: Osteoarthritis, right knee.");
    assert!(!got.iter().any(|c| c.starts_with("S81")), "{got:?}");
    // "In remission" is a fact to be said, not a default.
    let got = proposed(t, idx, "ASSESSMENT: Type 2 diabetes mellitus.");
    assert!(!got.contains(&"E11.A".to_string()), "{got:?}");
}

#[test]
fn a_statement_may_match_an_inclusion_term_it_says_wholly() {
    let (t, idx) = table_and_index();
    // N92.0's title is "Excessive and frequent menstruation with regular cycle"; its
    // inclusion terms are "Menorrhagia NOS" and "Heavy periods NOS".
    for statement in ["Menorrhagia.", "Heavy periods."] {
        let got = proposed(t, idx, &format!("ASSESSMENT: {statement}"));
        assert_eq!(got.first().map(String::as_str), Some("N92.0"), "{statement}: {got:?}");
    }
    // D72.829's term "Leukocytosis, unspecified".
    let got = proposed(t, idx, "ASSESSMENT: Leukocytosis.");
    assert_eq!(got.first().map(String::as_str), Some("D72.829"), "{got:?}");
    // A word of a term is not the term ("Hers disease" of E74.09).
    let got = proposed(t, idx, "ASSESSMENT: Her withdrawal symptoms.");
    assert!(!got.contains(&"E74.09".to_string()), "{got:?}");
}

#[test]
fn a_femoral_neck_fracture_is_a_fracture_of_the_neck_of_the_femur() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "DISCHARGE DIAGNOSES:\n1. Displaced fracture of the left femoral neck, closed.\n2. Hypertension.");
    assert_eq!(got.first().map(String::as_str), Some("S72.002A"), "{got:?}");
}

#[test]
fn a_model_code_of_no_side_yields_to_the_side_the_statement_says() {
    let (t, idx) = table_and_index();
    let left = "DISCHARGE DIAGNOSES:\n1. Displaced fracture of the left femoral neck, closed.\n2. Hypertension.";
    let codes = fused_codes(t, idx, left, vec![model_code_titled(t, "S72.009A", 0.9)]);
    assert_eq!(codes[0], "S72.002A", "{codes:?}");
    // No side said: the model's code stays.
    let unsided = left.replace("the left femoral neck", "the femoral neck");
    assert_eq!(fused_codes(t, idx, &unsided, vec![model_code_titled(t, "S72.009A", 0.9)])[0], "S72.009A");
}

#[test]
fn what_a_statement_says_is_absent_covers_no_title() {
    let (t, idx) = table_and_index();
    // "no angina": I25.110 "... with unstable angina pectoris" has nothing of it to cover, and
    // I25.10 "... without angina pectoris" is met.
    let got = proposed(t, idx, "ASSESSMENT:\n1. Coronary artery disease s/p remote stent, no angina.");
    assert_eq!(got.first().map(String::as_str), Some("I25.10"), "{got:?}");
    assert!(!got.contains(&"I25.110".to_string()), "{got:?}");
}

#[test]
fn of_two_model_codes_the_one_the_statement_specifies_goes_before_the_unspecified() {
    let (t, idx) = table_and_index();
    let note = "PSYCHIATRY FOLLOW-UP\nASSESSMENT:\n1. Major depressive disorder, recurrent episode, moderate.\nPLAN: Increase sertraline.";
    let model = || vec![model_code_titled(t, "F33.9", 0.32), model_code_titled(t, "F33.1", 0.15)];
    let codes = fused_codes(t, idx, note, model());
    assert_eq!(codes[0], "F33.1", "{codes:?}");
    // No severity said: the unspecified code stays first.
    let unsaid = note.replace("recurrent episode, moderate", "recurrent episode");
    assert_eq!(fused_codes(t, idx, &unsaid, model())[0], "F33.9");
}

#[test]
fn the_admitting_diagnosis_yields_to_the_diagnosis_the_stay_established() {
    let (t, idx) = table_and_index();
    let stay = "DISCHARGE SUMMARY\nADMISSION DIAGNOSIS: Hematemesis.\nDISCHARGE DIAGNOSES:\n1. Bleeding gastric ulcer.\n2. Acute blood loss anemia.";
    let got = proposed(t, idx, stay);
    let at = |c: &str| got.iter().position(|x| x == c).unwrap_or_else(|| panic!("{c} not in {got:?}"));
    assert!(at("K25.4") < at("K92.0"), "{got:?}");
    // So does a reason for admission given as a complaint.
    let reason = "DISCHARGE SUMMARY\nFINAL DIAGNOSES:\n1. Acute gastric ulcer with hemorrhage.\n2. Acute blood loss anemia.\nREASON FOR ADMISSION: Melena and lightheadedness.";
    let got = proposed(t, idx, reason);
    let at = |c: &str| got.iter().position(|x| x == c).unwrap_or_else(|| panic!("{c} not in {got:?}"));
    assert!(at("K25.0") < at("K92.1"), "{got:?}");
    // A stay's list that names no condition leaves the admitting diagnosis first.
    let done = "DISCHARGE SUMMARY\nADMISSION DIAGNOSIS: Hematemesis.\nDISCHARGE DIAGNOSIS: Status post upper endoscopy.";
    let got = proposed(t, idx, done);
    assert_eq!(got.first().map(String::as_str), Some("K92.0"), "{got:?}");
}

#[test]
fn a_pregnancy_code_takes_the_trimester_of_the_weeks_and_a_complication_is_no_normal_pregnancy() {
    let (t, idx) = table_and_index();
    let note = "OB TRIAGE NOTE\nCHIEF COMPLAINT: Elevated blood pressure at 33 weeks 2 days.\nASSESSMENT: G3P2 at 33w2d with gestational hypertension, no proteinuria.\nPLAN: Twice-weekly testing.";
    let model = vec![model_code("Z34.83", 0.6), model_code("I10", 0.4), model_code("O13.9", 0.3)];
    let got = fused_codes(t, idx, note, model);
    assert_eq!(got.first().map(String::as_str), Some("O13.3"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("Z34") || c == "I10" || c == "O13.9" || c == "O13.1"), "{got:?}");
    // With no complication documented, the normal pregnancy's code stays.
    let routine = "PRENATAL VISIT\nASSESSMENT: Normal pregnancy at 20 weeks. Routine prenatal care.";
    let got = fused_codes(t, idx, routine, vec![model_code("Z34.82", 0.8)]);
    assert!(got.iter().any(|c| c == "Z34.82"), "{got:?}");
}

#[test]
fn a_title_whose_condition_the_statement_does_not_name_is_not_matched_by_its_site() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT: Soft cervix. Breast tenderness.");
    assert!(!got.iter().any(|c| c.starts_with("A18") || c.starts_with("C50") || c.starts_with("C53")), "{got:?}");
    // The condition said, the site's code comes: "fractures" of the title is "fracture".
    let got = proposed(t, idx, "IMPRESSION: Tuberculosis of the cervix.");
    assert_eq!(got.first().map(String::as_str), Some("A18.16"), "{got:?}");
}

#[test]
fn a_side_said_in_a_chart_abbreviation_counts() {
    let (t, idx) = table_and_index();
    let eye = "OPERATIVE NOTE\nPOSTOPERATIVE DIAGNOSIS: Age-related nuclear cataract, OS.\nPROCEDURE: Phacoemulsification.";
    let got = fused_codes(t, idx, eye, vec![model_code_titled(t, "H25.13", 0.95)]);
    assert_eq!(got.first().map(String::as_str), Some("H25.12"), "{got:?}");
    let knee = "ED NOTE\nIMPRESSION: Closed displaced transverse fracture of the Rt patella.";
    let got = fused_codes(t, idx, knee, vec![model_code_titled(t, "S82.009A", 0.95)]);
    assert!(got.first().is_some_and(|c| c.starts_with("S82.") && c.ends_with("1A") && c != "S82.009A"), "{got:?}");
}

#[test]
fn a_vertebral_level_names_its_region_and_a_rotator_cuff_muscle_its_cuff() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "IMPRESSION: L3-L4 disc herniation with radiculopathy.");
    assert!(got.iter().take(3).any(|c| c == "M51.16"), "{got:?}");
    let got = proposed(t, idx, "ASSESSMENT: Degenerative subscapularis tear, left shoulder.");
    assert!(got.first().is_some_and(|c| c.starts_with("M75.1") && c.ends_with('2')), "{got:?}");
}

#[test]
fn a_title_with_a_with_clause_needs_something_of_it_said() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT: Mild coronary artery disease on CT angiography.");
    assert!(!got.iter().any(|c| c == "I25.110" || c == "I25.119"), "{got:?}");
    let got = proposed(t, idx, "ASSESSMENT: Asthma flare.");
    assert!(got.iter().take(2).any(|c| c.starts_with("J45.") && c.ends_with('1')), "{got:?}");
}

#[test]
fn a_nonessential_modifier_of_the_index_need_not_be_said() {
    let (t, idx) = table_and_index();
    // Bronchiolitis (acute) ... respiratory syncytial virus J21.0; Pain, chest, wall (anterior) R07.89.
    let got = proposed(t, idx, "ASSESSMENT: RSV bronchiolitis.");
    assert_eq!(got.first().map(String::as_str), Some("J21.0"), "{got:?}");
    let got = proposed(t, idx, "IMPRESSION: Chest wall pain, reproducible on palpation.");
    assert_eq!(got.first().map(String::as_str), Some("R07.89"), "{got:?}");
}

#[test]
fn the_weeks_of_gestation_follow_the_pregnancy_codes() {
    let (t, idx) = table_and_index();
    let note = "L&D TRIAGE\nASSESSMENT: Preterm labor at 32 weeks.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "Z3A.32", 0.9), model_code_titled(t, "O60.03", 0.4)]);
    let at = |c: &str| got.iter().position(|x| x == c).unwrap_or_else(|| panic!("{c} not in {got:?}"));
    assert!(at("O60.03") < at("Z3A.32"), "{got:?}");
}

#[test]
fn a_pregnant_patients_conditions_are_chapter_15_codes() {
    let (t, idx) = table_and_index();
    let note = "ANTEPARTUM NOTE\nASSESSMENT:\n1. Acute pyelonephritis in pregnancy at 22 weeks.\n2. Hypothyroidism on levothyroxine.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "N10", 0.8), model_code_titled(t, "E03.9", 0.6)]);
    let at = |c: &str| got.iter().position(|x| x == c);
    // O23.0 says the kidney infection itself; O99.28 only that a thyroid disease complicates
    // the pregnancy, so E03.9 follows it. The weeks say the second trimester.
    assert_eq!(got.first().map(String::as_str), Some("O23.02"), "{got:?}");
    assert!(at("N10").is_none(), "{got:?}");
    assert!(at("O99.282").is_some_and(|o| at("E03.9").is_some_and(|e| o < e)), "{got:?}");
    assert!(at("Z3A.22").is_some_and(|z| at("E03.9").is_some_and(|e| e < z)), "the weeks after the conditions: {got:?}");
    // Not pregnant: the conditions keep their own codes.
    let plain = note.replace("ANTEPARTUM NOTE", "CLINIC NOTE").replace(" in pregnancy at 22 weeks", "");
    let got = fused_codes(t, idx, &plain, vec![model_code_titled(t, "N10", 0.8), model_code_titled(t, "E03.9", 0.6)]);
    assert_eq!(got.first().map(String::as_str), Some("N10"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with('O') || c.starts_with("Z3A")), "{got:?}");
    // Gestational hypertension is the pregnancy's own: the model's I10 is no pre-existing O10.
    let gestational = "OB TRIAGE\nASSESSMENT: Gestational hypertension in a pregnant patient at 34 weeks.";
    let got = fused_codes(t, idx, gestational, vec![model_code_titled(t, "O13.3", 0.7), model_code_titled(t, "I10", 0.6)]);
    assert!(!got.iter().any(|c| c.starts_with("O10")), "{got:?}");
    // A complication of pregnancy excludes an incidental one (Z33.1's Excludes1: O00-O9A).
    let ectopic = "OPERATIVE NOTE\nPOSTOPERATIVE DIAGNOSIS: Left tubal ectopic pregnancy, unruptured.\nPROCEDURE: Laparoscopic left salpingectomy.";
    let got = fused_codes(t, idx, ectopic, vec![model_code_titled(t, "Z33.1", 0.5)]);
    assert!(got.first().is_some_and(|c| c.starts_with("O00")), "{got:?}");
    assert!(!got.contains(&"Z33.1".to_string()), "{got:?}");
}

#[test]
fn a_history_code_needs_a_past_or_a_relative_said() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT: Urinary tract infection.\n2. Hyperplastic polyp of the sigmoid colon.");
    assert!(got.contains(&"N39.0".to_string()), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("Z87") || c.starts_with("Z86") || c.starts_with("Z83")), "{got:?}");
    let got = proposed(t, idx, "ASSESSMENT: History of recurrent urinary tract infections.");
    assert!(got.contains(&"Z87.440".to_string()), "{got:?}");
}

#[test]
fn a_without_clause_word_the_title_says_elsewhere_is_no_contradiction() {
    let (t, idx) = table_and_index();
    // "ear" is both in "without spontaneous rupture of ear drum" and in ", right ear".
    let got = proposed(t, idx, "ASSESSMENT: Acute suppurative otitis media, right ear.");
    assert_eq!(got.first().map(String::as_str), Some("H66.001"), "{got:?}");
}

#[test]
fn an_x_with_y_title_needs_its_x_said() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT: Acute gout flare.");
    assert!(got.iter().any(|c| c.starts_with("M10")), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("J45") || c.starts_with("J47")), "asthma and bronchiectasis are not said: {got:?}");
}

#[test]
fn pneumonia_of_no_stated_organism_is_j18_9_and_no_manifestation_code() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT: Pneumonia.");
    assert_eq!(got.first().map(String::as_str), Some("J18.9"), "{got:?}");
    assert!(!got.contains(&"J17".to_string()), "J17 is a manifestation code: {got:?}");
}

#[test]
fn an_admission_s_uncertain_diagnosis_counts_as_established_and_hedges_weigh_nothing() {
    let (t, idx) = table_and_index();
    let score = |note: &str, code: &str| propose(t, idx, note).iter().find(|c| t.codes()[c.index].code == code).map(|c| c.score);
    let body =
        "CHIEF COMPLAINT: Cough and fever.\n\nASSESSMENT AND PLAN:\n1. Probable community-acquired pneumonia, right lower lobe. Ceftriaxone and azithromycin.";
    // Outpatient, an uncertain diagnosis is not coded (IV.H); an admission's is (II.H).
    assert_eq!(score(&format!("CLINIC NOTE\n\n{body}"), "J18.9"), None);
    assert!(score(&format!("HISTORY AND PHYSICAL\n\nDATE OF ADMISSION: 03/02\n\n{body}"), "J18.9").is_some());
    // "improving" says nothing a title must cover: the statement matches as "pneumonia" does.
    let plain = score("ASSESSMENT:\n1. Pneumonia.", "J18.9").unwrap();
    let course = score("ASSESSMENT:\n1. Improving pneumonia.", "J18.9").unwrap();
    assert!((course - plain).abs() < 1e-4, "improving {course}, plain {plain}");
}

#[test]
fn a_preoperative_unspecified_code_yields_to_the_postoperative_finding_of_its_category() {
    let (t, idx) = table_and_index();
    let note = "PREOPERATIVE DIAGNOSIS: Acute appendicitis.\n\nPOSTOPERATIVE DIAGNOSIS: Acute gangrenous appendicitis with perforation and localized peritonitis, no abscess.\n\nPROCEDURE: Laparoscopic appendectomy.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "K35.80", 0.95)]);
    assert_eq!(got.first().map(String::as_str), Some("K35.32"), "{got:?}");
    // A preoperative code that names its site keeps its place beside a vaguer postoperative one.
    let lung = "PREOPERATIVE DIAGNOSIS: Right upper lobe lung adenocarcinoma.\n\nPOSTOPERATIVE DIAGNOSIS: Right upper lobe lung adenocarcinoma with metastatic carcinoma in a right hilar lymph node.";
    let got = proposed(t, idx, lung);
    assert_eq!(got.first().map(String::as_str), Some("C34.11"), "{got:?}");
}

#[test]
fn the_hypertensive_combination_goes_before_the_heart_failure_and_ckd_it_includes() {
    let (t, idx) = table_and_index();
    // I50 and N18 say "code first" I11.0 / I13.-: the heart failure listed first does not stay first.
    let note = "ASSESSMENT AND PLAN:\n1. Acute on chronic diastolic heart failure.\n2. Hypertension.\n3. Chronic kidney disease stage 3b.";
    let codes = fused_codes(t, idx, note, vec![model_code("I50.33", 0.9)]);
    assert_eq!(codes[0], "I13.0", "{codes:?}");
    let i50 = codes.iter().position(|c| c == "I50.33").unwrap();
    let n18 = codes.iter().position(|c| c.starts_with("N18.3")).unwrap();
    assert!(i50 > 0 && n18 > 0, "{codes:?}");
    // Not from coronary artery disease, which names no hypertension ("heart disease" alone).
    let cad = "DISCHARGE DIAGNOSES:\n1. Acute on chronic systolic heart failure.\n2. Coronary artery disease, native vessels.";
    let codes = proposed(t, idx, cad);
    assert!(!codes.iter().any(|c| c.starts_with("I11") || c.starts_with("I13")), "{codes:?}");
}

#[test]
fn a_lead_in_before_a_numbered_list_shares_the_first_place_and_an_age_is_no_list_marker() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT AND PLAN:\n68-year-old woman presenting with fever, tachycardia and tachypnea.\n\n1. Sepsis due to E. coli, source acute right pyelonephritis.\n2. Hypertension.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("A41.51"), "{got:?}");
}

#[test]
fn a_consent_s_list_of_risks_proposes_nothing_however_long() {
    let (t, idx) = table_and_index();
    let note = "POSTOPERATIVE DIAGNOSIS: Left hip primary osteoarthritis.\n\nINDICATIONS: The risks of surgery were explained, including bleeding, infection, dislocation, nerve injury, vascular injury, fracture, DVT, pulmonary embolism, loosening and need for revision surgery.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("M16.12"), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("I26") || c.starts_with("I82")), "{got:?}");
}

#[test]
fn the_postoperative_diagnosis_goes_above_a_model_code_no_statement_confirms() {
    let (t, idx) = table_and_index();
    let note = "PREOPERATIVE DIAGNOSIS: Left hip primary osteoarthritis.\nPOSTOPERATIVE DIAGNOSIS: Left hip primary osteoarthritis.\nPROCEDURE: Left total hip arthroplasty.\nDESCRIPTION: The hip was dislocated. Femoral neck osteotomy was performed.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "S72.009A", 0.9)]);
    assert_eq!(got.first().map(String::as_str), Some("M16.12"), "{got:?}");
    // A clinic note keeps the model's ranking of its own.
    let clinic = "ASSESSMENT: Left hip primary osteoarthritis.";
    let got = fused_codes(t, idx, clinic, vec![model_code_titled(t, "S72.009A", 0.9)]);
    assert_eq!(got.first().map(String::as_str), Some("S72.009A"), "{got:?}");
}

#[test]
fn a_model_code_of_another_degree_than_the_statement_says_yields() {
    let (t, idx) = table_and_index();
    let note = "IMPRESSION:\n1. Primary open-angle glaucoma, both eyes, moderate stage.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "H40.1131", 0.95)]);
    assert_eq!(got.first().map(String::as_str), Some("H40.1132"), "{got:?}");
}

#[test]
fn a_vague_code_of_a_piece_yields_to_the_code_its_longer_statement_names() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT AND PLAN:\n1. Acute pancreatitis, alcohol-induced, interstitial edematous, without necrosis or infection.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("K85.20"), "{got:?}");
    // "not in exacerbation" says the exacerbation is absent.
    let copd = "ASSESSMENT:\n1. COPD, moderate, stable, not in exacerbation.";
    let got = proposed(t, idx, copd);
    assert!(!got.contains(&"J44.1".to_string()), "{got:?}");
}

#[test]
fn an_of_title_needs_the_words_before_its_first_of_said() {
    let (t, idx) = table_and_index();
    let note = "IMPRESSION:\n1. The femoral neck and total hip are in the low bone mass range.";
    let got = proposed(t, idx, note);
    assert!(!got.iter().any(|c| c.starts_with("S72")), "{got:?}");
}

#[test]
fn a_bare_condition_is_its_nos_code_before_the_other_code() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT:\n1. Osteoporosis.");
    let nos = got.iter().position(|c| c == "M81.0").expect("M81.0 'Osteoporosis NOS'");
    assert!(got.iter().position(|c| c == "M81.8").is_none_or(|other| other > nos), "{got:?}");
}

#[test]
fn the_evidence_after_based_on_is_no_part_of_the_diagnosis() {
    let (t, idx) = table_and_index();
    let note = "IMPRESSION:\n1. Osteoporosis by WHO criteria based on the lumbar spine T-score of -2.7.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("M81.0"), "{got:?}");
}

#[test]
fn an_unspecified_model_code_yields_to_a_code_of_another_category_that_refines_it() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT:\n1. Rheumatoid arthritis with positive rheumatoid factor, multiple sites, without organ involvement.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "M06.9", 0.97)]);
    assert_eq!(got.first().map(String::as_str), Some("M05.79"), "{got:?}");
}

#[test]
fn a_said_choice_rules_out_the_title_unspecified_as_to_it() {
    let (t, idx) = table_and_index();
    // "small bowel" is intestinal.
    let note = "ASSESSMENT AND PLAN:\n1. Partial small bowel obstruction due to adhesions.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("K56.51"), "{got:?}");
    assert!(!got.contains(&"K56.50".to_string()), "{got:?}");
}

#[test]
fn the_plan_after_a_colon_is_no_part_of_the_diagnosis() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT AND PLAN:\n1. Cellulitis of left lower limb: Start cefazolin 2 g IV every 8 hours with elevation of the leg and daily marking of the border and a venous duplex study to exclude thrombosis.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("L03.116"), "{got:?}");
}

#[test]
fn a_lead_that_introduces_the_patient_is_no_part_of_the_diagnosis() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT: 63-year-old female with adhesive small bowel obstruction, partial, given continued passage of flatus and contrast reaching the colon on CT.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("K56.51"), "{got:?}");
}

#[test]
fn a_piece_s_vague_code_yields_to_the_code_of_another_category_its_item_refines() {
    let (t, idx) = table_and_index();
    let note = "DISCHARGE SUMMARY\n\nPRINCIPAL DIAGNOSIS: Meningitis, most likely viral.\n\nSECONDARY DIAGNOSES:\n1. Dehydration, resolved.";
    let got = proposed(t, idx, note);
    let viral = got.iter().position(|c| c == "A87.9").expect("A87.9");
    assert!(got.iter().position(|c| c == "G03.9").is_none_or(|g| g > viral), "{got:?}");
}

#[test]
fn index_names_for_nerve_lesions_and_tumours_match_their_titles() {
    let (t, idx) = table_and_index();
    // The nerve tells the limb: "upper limb" need not be said.
    let got = proposed(t, idx, "IMPRESSION: Left ulnar neuropathy at the elbow (cubital tunnel syndrome), moderate, with axonal involvement.");
    assert_eq!(got.first().map(String::as_str), Some("G56.22"), "{got:?}");
    let got = proposed(t, idx, "IMPRESSION:\n1. 1.4 cm right vestibular schwannoma (acoustic neuroma), intracanalicular.");
    assert_eq!(got.first().map(String::as_str), Some("D33.3"), "{got:?}");
}

#[test]
fn a_study_s_impression_goes_above_a_model_code_no_statement_confirms_unless_vague() {
    let (t, idx) = table_and_index();
    let note = "THYROID ULTRASOUND\n\nCLINICAL HISTORY: Enlarged thyroid on exam.\n\nIMPRESSION:\n1. Multinodular goiter, with bilateral thyroid enlargement.\n2. Dominant 2.1 cm solid nodule in the left lobe.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "E04.1", 0.9)]);
    assert_eq!(got.first().map(String::as_str), Some("E04.2"), "{got:?}");
    // A vague first impression leaves the model's code first.
    let vague = "CHEST X-RAY\n\nIMPRESSION:\n1. Pneumonia.";
    let got = fused_codes(t, idx, vague, vec![model_code_titled(t, "J15.9", 0.9)]);
    assert_eq!(got.first().map(String::as_str), Some("J15.9"), "{got:?}");
}

#[test]
fn a_code_whose_excludes1_names_the_statement_s_better_reading_yields_to_it() {
    let (t, idx) = table_and_index();
    assert!(icd_core::rules::excludes1(t, "K92.2", "K25.4"));
    assert!(!icd_core::rules::excludes1(t, "K25.4", "K92.2"));
    let note = "ADMISSION DIAGNOSIS: Melena.\n\nDISCHARGE DIAGNOSES:\n1. Bleeding gastric ulcer, lesser curvature of the antrum, with visible vessel.\n2. Hypertension.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "K92.2", 0.9)]);
    let ulcer = got.iter().position(|c| c == "K25.4").expect("K25.4");
    let bleed = got.iter().position(|c| c == "K92.2").expect("K92.2");
    assert!(ulcer < bleed, "{got:?}");
}

#[test]
fn an_endoscopy_s_impression_codes_what_its_indication_said_vaguely() {
    let (t, idx) = table_and_index();
    let note = "COLONOSCOPY REPORT\n\nINDICATION: Ulcerative colitis with increased rectal bleeding; disease activity assessment.\n\nIMPRESSION:\n1. Ulcerative pancolitis, moderately active (Mayo 2), with rectal bleeding.\n2. Sigmoid diverticulosis.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("K51.011"), "{got:?}");
    // "Without complications" is no default beside the bleeding its item says.
    let pan = got.iter().position(|c| c == "K51.011").unwrap();
    assert!(got.iter().position(|c| c == "K51.00").is_none_or(|p| p > pan), "{got:?}");
    // An external cause code goes with an injury: "activity assessment" is no Y93.9.
    assert!(!got.iter().any(|c| c.starts_with('Y') || c.starts_with('W')), "{got:?}");
}

#[test]
fn a_pain_in_title_needs_its_site_said_not_only_its_side() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "CHIEF COMPLAINT: Left flank pain.");
    assert!(!got.iter().any(|c| c.starts_with("M79.6") || c.starts_with("M25.5")), "{got:?}");
    assert_eq!(got.first().map(String::as_str), Some("R10.A2"), "{got:?}");
}

#[test]
fn a_parenthesis_is_cut_from_its_item_s_head() {
    let (t, idx) = table_and_index();
    let note = "DISCHARGE DIAGNOSES:\n1. Sick sinus syndrome (tachycardia-bradycardia syndrome) with symptomatic sinus pauses up to 4.8 seconds.\n2. Paroxysmal atrial fibrillation.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("I49.5"), "{got:?}");
}

#[test]
fn a_complaint_s_symptom_yields_to_the_assessment_s_diagnosis_of_its_body_system() {
    let (t, idx) = table_and_index();
    let note =
        "CHIEF COMPLAINT: Abdominal pain, nausea and vomiting x 2 days.\n\nASSESSMENT: Adhesive small bowel obstruction, partial.\n\nPLAN: NPO, NG tube.";
    let codes = fused_codes(t, idx, note, vec![model_code("R10.9", 0.9)]);
    assert_eq!(codes.first().map(String::as_str), Some("K56.51"), "{codes:?}");
    // A diagnosis of another body system does not explain the complaint.
    let note = "CHIEF COMPLAINT: Abdominal pain x 2 days.\n\nASSESSMENT: Essential hypertension.\n\nPLAN: Recheck.";
    let codes = fused_codes(t, idx, note, vec![model_code("R10.9", 0.9)]);
    assert_eq!(codes.first().map(String::as_str), Some("R10.9"), "{codes:?}");
    // An assessment that states a symptom itself explains nothing.
    let note = "CHIEF COMPLAINT: Headaches.\n\nASSESSMENT:\n1. Headaches.\n2. Dizziness.\n\nPLAN: Labs.";
    let codes = fused_codes(t, idx, note, vec![model_code("R51.9", 0.9)]);
    assert_eq!(codes.first().map(String::as_str), Some("R51.9"), "{codes:?}");
}

#[test]
fn a_stated_complication_of_care_goes_above_the_model_s_aftercare_code() {
    let (t, idx) = table_and_index();
    let note = "REASON FOR CONSULT: Right knee prosthetic joint infection.\n\nASSESSMENT:\n1. Prosthetic joint infection of the right total knee arthroplasty.\n2. Type 2 diabetes.";
    let codes = fused_codes(t, idx, note, vec![model_code("Z47.1", 0.95)]);
    assert_eq!(codes.first().map(String::as_str), Some("T84.53XA"), "{codes:?}");
    // Aftercare with no complication stated stays first.
    let note = "REASON FOR VISIT: Six weeks after right total knee arthroplasty, doing well.\n\nASSESSMENT:\n1. Status post right total knee arthroplasty.\n2. Type 2 diabetes.";
    let codes = fused_codes(t, idx, note, vec![model_code("Z47.1", 0.95)]);
    assert_eq!(codes.first().map(String::as_str), Some("Z47.1"), "{codes:?}");
}

#[test]
fn a_plan_s_numbered_problem_heads_are_statements() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT:\n61-year-old transplant recipient on tacrolimus whose rash has now spread across the trunk despite oral therapy.\n\nPLAN:\n1. Disseminated zoster: Admit, airborne and contact isolation, IV acyclovir.\n2. Labs: CBC, BMP daily.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("B02.7"), "{got:?}");
    // A plan item with no problem head before a colon proposes nothing.
    let note = "ASSESSMENT:\nRash spreading on the trunk.\n\nPLAN:\n1. Admit for IV acyclovir given disseminated zoster; isolation.";
    let got = proposed(t, idx, note);
    assert!(!got.iter().any(|c| c == "B02.7"), "{got:?}");
}

#[test]
fn a_complaint_s_default_code_yields_to_the_assessment_s_code_of_its_category() {
    let (t, idx) = table_and_index();
    let note = "CHIEF COMPLAINT: Six month follow-up, seizures.\n\nASSESSMENT:\n1. Seizure disorder / epilepsy, not intractable, no status epilepticus.\n2. Episodic tension-type headache.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("G40.909"), "{got:?}");
}

#[test]
fn a_model_code_without_complications_yields_to_the_stated_complication() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT:\n1. Disseminated zoster.\n2. Hypertension.";
    let codes = fused_codes(t, idx, note, vec![model_code_titled(t, "B02.9", 0.9)]);
    assert_eq!(codes.first().map(String::as_str), Some("B02.7"), "{codes:?}");
}

#[test]
fn a_category_s_inclusion_terms_name_its_default_code() {
    let (t, idx) = table_and_index();
    // K50.0's term "Crohn's disease [regional enteritis] of ileum": K50.00, without complications.
    let got = proposed(t, idx, "ASSESSMENT:\n1. Crohn's disease of the ileum.");
    assert_eq!(got.first().map(String::as_str), Some("K50.00"), "{got:?}");
    // Not an "unspecified" site: D22's "Atypical nevus" is no D22.9 for a nevus of the back.
    let got = proposed(t, idx, "ASSESSMENT:\n1. Atypical nevus of the back.");
    assert!(!got.iter().any(|c| c == "D22.9"), "{got:?}");
}

#[test]
fn a_postoperative_diagnosis_same_as_the_preoperative_makes_it_postoperative() {
    let note = "PREOPERATIVE DIAGNOSIS: Erectile dysfunction.\n\nPOSTOPERATIVE DIAGNOSIS: Same.\n\nPROCEDURE: Placement of a penile prosthesis.";
    let st = icd_core::candidates::statements(note);
    let first = st.iter().find(|s| &note[s.span.0..s.span.1] == "Erectile dysfunction").expect("the preoperative statement");
    assert!(first.post && !first.pre, "{first:?}");
    // A postoperative diagnosis of its own leaves the preoperative one as it is.
    let note = "PREOPERATIVE DIAGNOSIS: Left parotid mass.\n\nPOSTOPERATIVE DIAGNOSIS: Pleomorphic adenoma of the left parotid.";
    let st = icd_core::candidates::statements(note);
    let first = st.iter().find(|s| &note[s.span.0..s.span.1] == "Left parotid mass").expect("the preoperative statement");
    assert!(first.pre && !first.post, "{first:?}");
}

#[test]
fn a_manifestation_due_to_conditions_classified_elsewhere_is_not_proposed_from_its_words() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "ASSESSMENT:\n1. Erectile dysfunction.");
    assert_eq!(got.first().map(String::as_str), Some("N52.9"), "{got:?}");
    assert!(!got.iter().any(|c| c == "N52.1"), "{got:?}");
}

#[test]
fn a_later_sentence_of_a_line_ranks_below_its_first() {
    let note = "INDICATIONS: 62-year-old man with progressive erectile dysfunction. He has hypertension and hyperlipidemia.\n1. Sepsis due to E. coli. Continue ceftriaxone.";
    let st = icd_core::candidates::statements(note);
    let rank = |said: &str| st.iter().find(|s| &note[s.span.0..s.span.1] == said).map(|s| s.rank).expect(said);
    assert!(rank("He has hypertension and hyperlipidemia") < rank("62-year-old man with progressive erectile dysfunction"));
}

#[test]
fn a_reason_s_code_yields_to_a_later_confident_code_its_excludes1_names() {
    let (t, idx) = table_and_index();
    let note = "INDICATION: 76-year-old woman with osteoporosis and new mid-back pain.\n\nIMPRESSION:\n1. Osteoporotic compression fracture of vertebra, initial treatment.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "M81.0", 0.9)]);
    assert_eq!(got.first().map(String::as_str), Some("M80.08XA"), "{got:?}");
    assert!(got.iter().any(|c| c == "M81.0"), "{got:?}");
}

#[test]
fn a_title_s_plural_ending_in_parentheses_weighs_nothing() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "IMPRESSION:\n1. Age-related osteoporosis with current pathological fracture, vertebra, initial encounter.");
    assert_eq!(got.first().map(String::as_str), Some("M80.08XA"), "{got:?}");
}

#[test]
fn a_preoperative_diagnosis_is_the_reason_for_the_procedure() {
    let (t, idx) = table_and_index();
    // A screening colonoscopy that found a polyp is coded for the screening first (I.C.21.c.5).
    let note =
        "PREOPERATIVE DIAGNOSIS: Colon cancer screening.\n\nPOSTOPERATIVE DIAGNOSIS: Sigmoid colon polyp.\n\nPROCEDURE: Colonoscopy with snare polypectomy.";
    let codes = fused_codes(t, idx, note, vec![model_code_titled(t, "K63.5", 0.9)]);
    assert_eq!(codes.first().map(String::as_str), Some("Z12.11"), "{codes:?}");
    assert!(codes.iter().any(|c| c == "K63.5"), "{codes:?}");
}

#[test]
fn a_title_s_and_means_and_or() {
    let (t, idx) = table_and_index();
    // "Syncope and collapse" is syncope (I.A.14), not "Heat syncope, sequela".
    let got = proposed(t, idx, "IMPRESSION: Syncope.");
    assert_eq!(got.first().map(String::as_str), Some("R55"), "{got:?}");
    // "Pelvic and perineal pain left side" is a left pelvic pain ("sided" says the side).
    let got = proposed(t, idx, "ASSESSMENT: Left-sided pelvic pain.");
    assert_eq!(got.first().map(String::as_str), Some("R10.22"), "{got:?}");
    // The pair's other word stands in only when the title's other words are said: a pelvic
    // lymph node is no "parametritis and pelvic cellulitis".
    let got = proposed(t, idx, "ASSESSMENT: Pelvic lymphadenopathy.");
    assert!(!got.iter().any(|c| c == "N73.2"), "{got:?}");
}

#[test]
fn an_item_s_later_parts_rank_below_its_first_condition() {
    let (t, idx) = table_and_index();
    // The findings listed after the item's condition are its findings: splenomegaly matches its
    // title better than "fever of unknown origin, by criteria" does R50.9, and comes after it.
    let note = "IMPRESSION:\n46-year-old man with fever of unknown origin meeting classic criteria, with night sweats, 14 lb weight loss, splenomegaly.";
    let got = proposed(t, idx, note);
    assert_eq!(got.first().map(String::as_str), Some("R50.9"), "{got:?}");
    assert!(got.iter().any(|c| c == "R16.1"), "{got:?}");
    // A duration is no fact of the code: "Prolonged fevers" are a fever.
    let got = proposed(t, idx, "REASON FOR CONSULTATION: Prolonged fevers, evaluate for infectious etiology.");
    assert_eq!(got.first().map(String::as_str), Some("R50.9"), "{got:?}");
}

#[test]
fn a_site_a_cancer_spread_to_is_no_primary_of_it() {
    let (t, idx) = table_and_index();
    let got = proposed(t, idx, "POSTOPERATIVE DIAGNOSIS: Metastatic carcinoma to the left frontal lobe.");
    assert!(!got.iter().any(|c| c.starts_with("C71")), "{got:?}");
    // A primary of the site is still one.
    let got = proposed(t, idx, "POSTOPERATIVE DIAGNOSIS: Glioblastoma of the left frontal lobe.");
    assert_eq!(got.first().map(String::as_str), Some("C71.1"), "{got:?}");
    // The liver's secondary code is "of liver and intrahepatic bile duct", and a neoplasm's
    // site must be said: neither "not specified as primary or secondary" nor "... of bone".
    let got = proposed(t, idx, "IMPRESSION: Metastatic adenocarcinoma to the liver.");
    assert_eq!(got.first().map(String::as_str), Some("C78.7"), "{got:?}");
    assert!(!got.iter().any(|c| c == "C22.9" || c == "C79.51"), "{got:?}");
    let got = proposed(t, idx, "IMPRESSION: Solitary hepatic metastasis from rectal adenocarcinoma.");
    assert!(got.iter().any(|c| c == "C78.7"), "{got:?}");
}

#[test]
fn a_procedure_on_a_metastasis_lists_the_secondary_first() {
    let (t, idx) = table_and_index();
    let body = "INDICATION: Adenocarcinoma of the rectum, primary tumor in place, on neoadjuvant chemotherapy, with a solitary liver metastasis.\n\nIMPRESSION:\n1. Successful ablation of a solitary hepatic metastasis from rectal adenocarcinoma.";
    // Treatment directed at the secondary site only (I.C.2.b).
    let note = format!("PROCEDURE: CT-guided microwave ablation of hepatic metastasis, segment 8.\n\n{body}");
    let got = fused_codes(t, idx, &note, vec![]);
    assert_eq!(got.first().map(String::as_str), Some("C78.7"), "{got:?}");
    assert!(got.iter().any(|c| c == "C20"), "{got:?}");
    // Otherwise the primary comes first.
    let got = fused_codes(t, idx, body, vec![]);
    assert_eq!(got.first().map(String::as_str), Some("C20"), "{got:?}");
}

#[test]
fn a_positive_screening_test_is_no_screening_and_inconclusive_hiv_is_r75() {
    let (t, idx) = table_and_index();
    let note = "REASON FOR CONSULTATION: Positive HIV screening test.\n\nASSESSMENT AND PLAN:\n1. Inconclusive laboratory evidence of HIV: reactive screening immunoassay with indeterminate differentiation assay, without a diagnosis of HIV infection.";
    let got = fused_codes(t, idx, note, vec![]);
    assert_eq!(got.first().map(String::as_str), Some("R75"), "{got:?}");
    assert!(!got.iter().any(|c| c == "Z11.4" || c == "B20" || c == "Z21"), "{got:?}");
    // A screening still is one.
    let got = fused_codes(t, idx, "REASON FOR VISIT: HIV screening.", vec![]);
    assert_eq!(got.first().map(String::as_str), Some("Z11.4"), "{got:?}");
}

#[test]
fn a_principal_diagnosis_goes_above_a_code_only_a_later_statement_confirms() {
    let (t, idx) = table_and_index();
    let note = "DISCHARGE SUMMARY\n\nPRINCIPAL DIAGNOSIS: Meningitis, most likely viral.\n\nSECONDARY DIAGNOSES:\n1. Migraine without aura, episodic, stable.\n2. Dehydration, resolved.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "G43.909", 0.8)]);
    assert_eq!(got.first().map(String::as_str), Some("A87.9"), "{got:?}");
    assert!(got.iter().any(|c| c == "G43.909"), "{got:?}");
}

#[test]
fn a_manifestation_s_stated_cause_replaces_its_unspecified_code() {
    let (t, idx) = table_and_index();
    // Hand-written: dementia due to Parkinson's, the model sure of "Unspecified dementia".
    let note = "ASSESSMENT AND PLAN:\n1. Parkinson's disease with mild dementia, stable on carbidopa-levodopa.\n2. Constipation, continue MiraLAX.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "F03.90", 0.7)]);
    assert!(got.first().is_some_and(|c| c.starts_with("G20")), "{got:?}");
    assert!(got.iter().any(|c| c.starts_with("F02.A")), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("F03")), "{got:?}");
}

#[test]
fn a_postoperative_finding_replaces_the_preoperative_code_it_excludes() {
    let (t, idx) = table_and_index();
    // Hand-written: M54.1 (radiculopathy) excludes radiculopathy with a disc disorder (M51.1-).
    let note = "PREOPERATIVE DIAGNOSIS: Right lumbar radiculopathy.\nPOSTOPERATIVE DIAGNOSIS: L3-L4 disc herniation with right L4 radiculopathy.\nPROCEDURE: Transforaminal epidural steroid injection.";
    let got = fused_codes(t, idx, note, vec![]);
    assert!(got.first().is_some_and(|c| c.starts_with("M51.1")), "{got:?}");
}

#[test]
fn influenza_a_or_b_is_an_identified_virus() {
    let (t, idx) = table_and_index();
    // Hand-written: influenza A is J10 (identified, not novel), never J11 "unidentified".
    let note = "IMPRESSION:\n1. Influenza B with bilateral pneumonia.\n2. Asthma, mild intermittent.";
    let got = fused_codes(t, idx, note, vec![]);
    assert!(got.first().is_some_and(|c| c.starts_with("J10.0")), "{got:?}");
    assert!(!got.iter().any(|c| c.starts_with("J11")), "{got:?}");
}

#[test]
fn a_model_code_whose_without_clause_the_statement_names_yields() {
    let (t, idx) = table_and_index();
    // Hand-written: the model reads "hernia" and proposes an inguinal one without obstruction.
    let note = "IMPRESSION:\n1. Incarcerated ventral incisional hernia with partial small bowel obstruction.\n2. Obesity.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "K40.90", 0.8)]);
    assert!(got.first().is_some_and(|c| c.starts_with("K43.0")), "{got:?}");
}

#[test]
fn an_impression_s_first_item_goes_above_a_code_only_a_later_item_confirms() {
    let (t, idx) = table_and_index();
    // Hand-written: the visit is for the PSA; the model is sure of the BPH of item 2.
    let note = "REASON FOR VISIT: Elevated PSA.\n\nIMPRESSION:\n1. Elevated PSA, stable. Prostate cancer is not established.\n2. BPH with LUTS, on tamsulosin.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "N40.1", 0.9)]);
    assert_eq!(got.first().map(String::as_str), Some("R97.20"), "{got:?}");
    assert!(got.iter().any(|c| c == "N40.1"), "{got:?}");
    assert!(!got.iter().any(|c| c == "C61"), "'not established' denies it: {got:?}");
}

#[test]
fn calculous_cholecystitis_is_the_gallstone_combination_code() {
    let (t, idx) = table_and_index();
    let note = "PREOPERATIVE DIAGNOSIS: Acute cholecystitis with gallstones.\nPOSTOPERATIVE DIAGNOSIS: Acute on chronic calculous cholecystitis, no gangrene.\nPROCEDURE: Laparoscopic cholecystectomy.";
    let got = fused_codes(t, idx, note, vec![]);
    assert_eq!(got.first().map(String::as_str), Some("K80.12"), "{got:?}");
}

#[test]
fn deep_brain_sites_and_staphylococcal_susceptibility_name_their_codes() {
    let (t, idx) = table_and_index();
    let note = "DISCHARGE DIAGNOSES:\n1. Right thalamic nontraumatic intracerebral hemorrhage.\n2. Hypertension.";
    let got = fused_codes(t, idx, note, vec![]);
    assert_eq!(got.first().map(String::as_str), Some("I61.0"), "{got:?}");
    let note = "DISCHARGE DIAGNOSES:\n1. Sepsis due to methicillin-sensitive Staph aureus, present on admission.\n2. Type 2 diabetes.";
    let got = fused_codes(t, idx, note, vec![]);
    assert_eq!(got.first().map(String::as_str), Some("A41.01"), "{got:?}");
}

#[test]
fn a_fracture_not_said_to_be_open_is_closed() {
    let (t, idx) = table_and_index();
    // Hand-written: the Index's scaphoid (navicular of the wrist) and its waist (middle third).
    let note = "IMPRESSION:\n1. Nondisplaced fracture through the waist of the left scaphoid.\n2. No dislocation.";
    let got = fused_codes(t, idx, note, vec![]);
    assert_eq!(got.first().map(String::as_str), Some("S62.025A"), "{got:?}");
    assert!(!got.iter().any(|c| c.ends_with('B')), "{got:?}");
}

#[test]
fn a_seizure_is_no_epilepsy_unless_said() {
    let (t, idx) = table_and_index();
    let note = "ASSESSMENT:\n1. Febrile seizure.\n2. Otitis media, right ear.";
    let got = fused_codes(t, idx, note, vec![]);
    assert!(!got.iter().any(|c| c.starts_with("G40")), "{got:?}");
    assert!(got.iter().any(|c| c.starts_with("R56.0")), "{got:?}");
    let note = "ASSESSMENT:\n1. Seizure disorder, on levetiracetam.\n2. Otitis media, right ear.";
    let got = fused_codes(t, idx, note, vec![]);
    assert!(got.iter().any(|c| c.starts_with("G40")), "{got:?}");
}

#[test]
fn a_pathology_result_goes_above_the_impression_it_explains() {
    let (t, idx) = table_and_index();
    // Hand-written: the impression's polyp, then the pathology addendum's adenoma.
    let note = "INDICATION: Rectal bleeding.\n\nIMPRESSION:\n1. Polyp in the transverse colon, removed.\n2. Internal hemorrhoids.\n\nADDENDUM - PATHOLOGY: Tubular adenoma of the transverse colon.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "K62.5", 0.3)]);
    assert_eq!(got.first().map(String::as_str), Some("D12.3"), "{got:?}");
}

#[test]
fn an_unspecified_code_yields_to_the_kind_the_statement_says() {
    let (t, idx) = table_and_index();
    // O00.101's title lacks "ectopic" (its category O00 says it); its side and site are said.
    let got = proposed(t, idx, "ASSESSMENT: R tubal ectopic pregnancy, unruptured; no IUP.\nPLAN: Laparoscopic salpingectomy.");
    assert_eq!(got.first().map(String::as_str), Some("O00.101"), "{got:?}");
    let got = proposed(t, idx, "POSTOPERATIVE DIAGNOSIS: Unruptured left ampullary tubal ectopic pregnancy. No intrauterine pregnancy.");
    assert_eq!(got.first().map(String::as_str), Some("O00.102"), "{got:?}");
    // Not to a code that says less of the statement: nausea and vomiting is R11.2, not R11.0.
    let got = proposed(t, idx, "ASSESSMENT: Nausea and vomiting.");
    let at = |c: &str| got.iter().position(|x| x == c).unwrap_or(usize::MAX);
    assert!(at("R11.2") < at("R11.0"), "{got:?}");
}

#[test]
fn the_lesion_found_to_bleed_explains_the_bleeding() {
    let (t, idx) = table_and_index();
    let note = "COLONOSCOPY REPORT\nINDICATION: Bright red blood per rectum for one month.\nFINDINGS: Normal colon to the cecum. Retroflexion: internal hemorrhoids.\nIMPRESSION:\n1. Second degree internal hemorrhoids with recent bleeding, the source of the hematochezia.\n2. Otherwise normal colonoscopy.";
    let got = fused_codes(t, idx, note, vec![model_code_titled(t, "K62.5", 0.5)]);
    assert_eq!(got.first().map(String::as_str), Some("K64.1"), "{got:?}");
    // No lesion found: the bleeding stays first.
    let unexplained =
        note.replace("1. Second degree internal hemorrhoids with recent bleeding, the source of the hematochezia.", "1. Hematochezia, no source identified.");
    let got = fused_codes(t, idx, &unexplained, vec![model_code_titled(t, "K62.5", 0.5)]);
    assert_eq!(got.first().map(String::as_str), Some("K62.5"), "{got:?}");
}
