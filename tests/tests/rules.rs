//! The coder's checks (`icd_core::rules`) on the real April 2026 tabular: each rule kind
//! from real entries, including notes inherited from a parent code and a chapter.

use icd_core::rules::{check, Checked, Patient, RuleKind, Setting, Severity, Sex};
use icd_tests::code_table;

fn run(codes: &[&str]) -> Checked {
    check(&code_table(), codes, &Patient::default())
}

fn kinds(c: &Checked) -> Vec<(Severity, RuleKind)> {
    c.messages.iter().map(|m| (m.severity, m.kind)).collect()
}

fn only(c: &Checked, kind: RuleKind) -> Vec<&icd_core::rules::RuleMessage> {
    c.messages.iter().filter(|m| m.kind == kind).collect()
}

#[test]
fn excludes1_inherited_from_the_category_names_both_codes() {
    let c = run(&["E11.9", "E10.9"]);
    let e = only(&c, RuleKind::Excludes1);
    assert_eq!(e.len(), 1, "{c:#?}");
    assert_eq!(e[0].severity, Severity::Error);
    assert_eq!(e[0].codes, ["E11.9", "E10.9"]);
    // E11.9 has no notes of its own: the note is E11's (and E10's about E11).
    assert!(e[0].text.contains("E11: \"type 1 diabetes mellitus (E10.-)\""), "{}", e[0].text);
    assert!(c.has_errors());
    // A chapter's note applies to every code in it: chapter 4 excludes P70-P74.
    let c = run(&["E16.2", "P70.4"]);
    let e = only(&c, RuleKind::Excludes1);
    assert_eq!(e.len(), 1, "{c:#?}");
    assert!(e[0].text.contains("chapter 4: \"transitory endocrine and metabolic disorders specific to newborn (P70-P74)\""), "{}", e[0].text);
}

#[test]
fn excludes1_qualifiers_match_only_the_named_subcodes() {
    // G63 excludes "diabetes mellitus (E08-E13 with .42)": diabetic polyneuropathy, not all diabetes.
    assert_eq!(only(&run(&["E11.42", "G63"]), RuleKind::Excludes1).len(), 1);
    assert!(only(&run(&["E11.9", "G63"]), RuleKind::Excludes1).is_empty());
}

#[test]
fn excludes2_is_information_only() {
    let c = run(&["J45.909", "J44.89"]);
    let e = only(&c, RuleKind::Excludes2);
    assert_eq!(e.len(), 1, "{c:#?}");
    assert_eq!(e[0].severity, Severity::Info);
    assert!(only(&c, RuleKind::Excludes1).is_empty());
}

#[test]
fn code_first_is_satisfied_by_the_etiology_listed_before() {
    // N18 says: code first diabetic CKD (E11.22).
    let c = run(&["E11.22", "N18.30"]);
    assert!(only(&c, RuleKind::CodeFirst).is_empty() && only(&c, RuleKind::Sequencing).is_empty(), "{c:#?}");
    let c = run(&["N18.30", "E11.22"]);
    let s = only(&c, RuleKind::Sequencing);
    assert_eq!(s.len(), 1, "{c:#?}");
    assert_eq!(s[0].codes, ["E11.22", "N18.30"]);
    let c = run(&["N18.30"]);
    let f = only(&c, RuleKind::CodeFirst);
    assert_eq!((f.len(), f[0].severity), (1, Severity::Warning), "{c:#?}");
}

#[test]
fn use_additional_and_code_also_prompt_until_a_named_code_is_there() {
    let c = run(&["E11.9"]);
    let u = only(&c, RuleKind::UseAdditional);
    assert_eq!(u.len(), 1, "{c:#?}");
    assert!(u[0].text.contains("insulin (Z79.4)"), "{}", u[0].text);
    assert!(only(&run(&["E11.9", "Z79.4"]), RuleKind::UseAdditional).is_empty());
    assert_eq!(only(&run(&["J44.9"]), RuleKind::CodeAlso).len(), 1);
    assert!(only(&run(&["J44.9", "J45.909"]), RuleKind::CodeAlso).is_empty());
}

#[test]
fn headers_seventh_characters_and_non_codes() {
    let c = run(&["J45.90"]);
    let m = only(&c, RuleKind::NotBillable);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].options, ["J45.901", "J45.902", "J45.909"]);
    assert!(c.codes[0].valid && !c.codes[0].billable);

    let c = run(&["S72.001"]);
    let m = only(&c, RuleKind::SeventhCharacter);
    assert_eq!(m.len(), 1, "{c:#?}");
    assert!(m[0].options.contains(&"S72.001A".to_string()) && m[0].options.contains(&"S72.001S".to_string()), "{:?}", m[0].options);

    let c = run(&["T14.8A"]);
    let m = only(&c, RuleKind::SeventhCharacter);
    assert_eq!(m[0].options, ["T14.8XXA"], "{c:#?}");
    assert!(!c.codes[0].valid);

    let c = run(&["J45.97", "XYZ"]);
    assert_eq!(kinds(&c), [(Severity::Error, RuleKind::Invalid), (Severity::Error, RuleKind::Invalid)]);
    assert!(c.messages[0].text.contains("nearest code above it is J45.9"), "{}", c.messages[0].text);
    assert!(run(&["J45.909"]).messages.iter().all(|m| m.severity != Severity::Error));
}

#[test]
fn age_and_sex_edits() {
    let table = code_table();
    let with = |age: Option<u32>, sex: Option<Sex>, codes: &[&str]| check(&table, codes, &Patient { age, sex, setting: Setting::Outpatient });
    let c = with(None, Some(Sex::Female), &["N40.0"]);
    assert_eq!(only(&c, RuleKind::Sex).len(), 1);
    assert!(only(&with(None, Some(Sex::Male), &["N40.0"]), RuleKind::Sex).is_empty());
    assert_eq!(only(&with(None, Some(Sex::Male), &["O80"]), RuleKind::Sex).len(), 1);
    assert_eq!(only(&with(Some(60), None, &["O80"]), RuleKind::Age).len(), 1);
    assert!(only(&with(Some(30), Some(Sex::Female), &["O80"]), RuleKind::Age).is_empty());
    assert_eq!(only(&with(Some(40), None, &["P07.30"]), RuleKind::Age)[0].severity, Severity::Warning);
    assert_eq!(only(&with(Some(30), None, &["Z38.00"]), RuleKind::Age)[0].severity, Severity::Error);
    assert!(only(&with(Some(0), None, &["Z38.00"]), RuleKind::Age).is_empty());
    // Unknown facts are not checked.
    assert!(with(None, None, &["O80"]).messages.iter().all(|m| m.kind != RuleKind::Age && m.kind != RuleKind::Sex));
}

#[test]
fn sequencing_manifestations_external_causes_and_first_listed_z_codes() {
    let c = run(&["G63", "E85.4"]);
    let s = only(&c, RuleKind::Sequencing);
    assert!(s.iter().any(|m| m.severity == Severity::Error && m.text.contains("manifestation")), "{c:#?}");
    assert!(s.iter().any(|m| m.codes == ["E85.4", "G63"]), "code first E85.- goes before G63: {c:#?}");
    assert!(only(&run(&["E85.4", "G63"]), RuleKind::Sequencing).is_empty());
    assert!(only(&run(&["W19.XXXA"]), RuleKind::Sequencing)[0].text.contains("external-cause"));
    let c = run(&["I10", "Z00.00"]);
    assert_eq!(only(&c, RuleKind::Sequencing)[0].severity, Severity::Warning);
    assert!(only(&run(&["Z00.00", "I10"]), RuleKind::Sequencing).is_empty());
}

#[test]
fn every_phrasing_of_a_manifestation_is_never_first_but_an_agent_code_is_no_manifestation() {
    let first_is_manifestation =
        |code: &str| only(&run(&[code]), RuleKind::Sequencing).iter().any(|m| m.severity == Severity::Error && m.text.contains("manifestation"));
    // "in other diseases", a title without the phrase under a category with it, a block's.
    for code in ["F02.80", "D63.1", "J91.0", "M14.671", "G63"] {
        assert!(first_is_manifestation(code), "{code} is a manifestation code");
    }
    // B95-B97 identify an infection's agent "as the cause of diseases classified elsewhere".
    for code in ["B96.20", "N39.0", "G30.9"] {
        assert!(!first_is_manifestation(code), "{code} is no manifestation code");
    }
}

#[test]
fn repeated_codes_are_reported_not_dropped() {
    let c = run(&["I10", "i10"]);
    assert_eq!(c.codes.len(), 2);
    assert!(c.messages.iter().any(|m| m.text.contains("more than once")));
}
