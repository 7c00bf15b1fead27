//! The ICD-10-CM table built from the real CMS April 2026 tabular (scripts/setup.sh).

use std::collections::BTreeSet;

use icd_core::{LabelError, LabelSpace, SearchIndex};
use icd_tests::{artefact, code_table};

#[test]
fn asthma_unspecified_is_billable_and_its_parent_is_not() {
    let t = code_table();
    let c = t.get("J45.909").expect("J45.909 exists");
    assert_eq!(c.description, "Unspecified asthma, uncomplicated");
    assert!(c.billable);
    assert_eq!(t.chapter(c).unwrap().number, 10);
    assert_eq!(t.block(c).id, "J40-J4A");
    assert_eq!(t.parent(c).unwrap().code, "J45.90");
    assert!(!t.get("J45.90").unwrap().billable);
    assert!(t.get("J45").unwrap().inclusion.iter().any(|n| n == "atopic asthma"));
    assert!(t.get("J45").unwrap().notes.excludes1.iter().any(|n| n == "wheezing NOS (R06.2)"));
}

/// The package's code list has one line per chapter, per section id and per code.
/// Codes = every line that is not a chapter number or a section; billable codes are
/// exactly the codes that no longer code extends (computed from the list alone).
#[test]
fn codes_match_the_cms_code_list() {
    let t = code_table();
    let text = std::fs::read_to_string(artefact("artifacts/src/code-list-April-2026.txt")).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let chapters = lines.iter().filter(|l| l.chars().all(|c| c.is_ascii_digit())).count();
    let ranges = lines.iter().filter(|l| l.contains('-')).count();
    let listed: BTreeSet<String> = lines.iter().filter(|l| !l.contains('-') && !l.chars().all(|c| c.is_ascii_digit())).map(|l| l.to_string()).collect();
    let ours: BTreeSet<String> = t.codes().iter().map(|c| c.code.replace('.', "")).collect();
    assert_eq!(ours.len(), t.len(), "codes are unique");
    let missing: Vec<_> = listed.difference(&ours).take(10).collect();
    let extra: Vec<_> = ours.difference(&listed).take(10).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");

    // Sections named like a single code (e.g. B10) are listed once, as that code.
    let single_code_sections = t.blocks.iter().filter(|b| !b.id.contains('-')).count();
    assert_eq!(chapters, t.chapters.len());
    assert_eq!(ranges + single_code_sections, t.blocks.len());
    assert_eq!(lines.len(), chapters + t.blocks.len() + t.len());

    let leaves: BTreeSet<&String> = listed
        .iter()
        .filter(|c| listed.range::<String, _>((std::ops::Bound::Excluded(*c), std::ops::Bound::Unbounded)).next().is_none_or(|n| !n.starts_with(c.as_str())))
        .collect();
    let billable: BTreeSet<String> = t.billable().map(|c| c.code.replace('.', "")).collect();
    assert_eq!(billable.len(), leaves.len());
    assert!(billable.iter().all(|c| leaves.contains(c)));
    assert!(billable.len() > 74_000 && billable.len() < 75_500, "{} billable", billable.len());
}

#[test]
fn default_labels_exist_with_official_descriptions() {
    let t = code_table();
    let text = std::fs::read_to_string(artefact("labels/default-codes.tsv")).unwrap();
    let labels = LabelSpace::parse_tsv(&text, &t, "labels/default-codes.tsv").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(labels.len(), 300);
    for l in labels.labels() {
        assert_eq!(t.get(&l.code).unwrap().description, l.description);
    }
}

#[test]
fn label_files_with_unknown_or_header_codes_are_rejected_by_line() {
    let t = code_table();
    let err = LabelSpace::parse_tsv("code\tdescription\nI10\nE11\nQ99.999\n", &t, "mine.tsv").unwrap_err();
    let LabelError::Invalid { problems, .. } = err else { panic!("expected line problems") };
    let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, [3, 4]);
}

#[test]
fn asthma_search_ranks_j45_first() {
    let t = code_table();
    let idx = SearchIndex::build(&t);
    let hits = idx.search(&t, "asthma", 15);
    let codes: Vec<&str> = hits.iter().map(|h| t.codes()[h.index].code.as_str()).collect();
    assert!(codes.len() == 15, "{codes:?}");
    assert!(codes.iter().all(|c| c.starts_with("J45")), "{codes:?}");
    let hits = idx.search(&t, "type 2 diabetes hyperglycemia", 5);
    assert_eq!(t.codes()[hits[0].index].code, "E11.65", "{:?}", hits.iter().map(|h| &t.codes()[h.index].code).collect::<Vec<_>>());
    let hits = idx.search(&t, "J45.90", 3);
    let codes: Vec<&str> = hits.iter().map(|h| t.codes()[h.index].code.as_str()).collect();
    assert_eq!(codes, ["J45.90", "J45.901", "J45.902"]);
}
