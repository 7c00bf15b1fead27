//! Every row of `assertion_table.tsv` (sentence, target, expected assertion) through
//! `icd_core::assertion`; all failures are printed before the test fails.

use std::path::Path;

use icd_core::assertion::{assert_mention_with_trigger, Assertion};

/// Fewest rows per assertion, so that no assertion goes untested.
const MIN_ROWS_EACH: usize = 8;

#[test]
fn assertion_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/assertion_table.tsv");
    let table = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = 0;
    let mut per_assertion = [0usize; Assertion::ALL.len()];
    let mut failures = Vec::new();
    for (n, line) in table.lines().enumerate() {
        let line_no = n + 1;
        if line.trim().is_empty() || line.starts_with('#') || line == "sentence\ttarget\texpected" {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [sentence, target, expected] = cols[..] else {
            failures.push(format!("line {line_no}: expected 3 tab-separated columns, found {}", cols.len()));
            continue;
        };
        // A TSV cell holds no line break: the table writes it as "\n".
        let sentence = sentence.replace("\\n", "\n");
        let Some(expected) = Assertion::from_name(expected) else {
            failures.push(format!("line {line_no}: unknown assertion {expected:?}"));
            continue;
        };
        let Some(start) = sentence.find(target) else {
            failures.push(format!("line {line_no}: target {target:?} is not in the sentence {sentence:?}"));
            continue;
        };
        rows += 1;
        per_assertion[Assertion::ALL.iter().position(|&a| a == expected).expect("ALL holds every assertion")] += 1;
        let got = assert_mention_with_trigger(&sentence, start..start + target.len());
        if got.assertion != expected {
            let trigger = got.trigger.map_or_else(|| "none".to_string(), |r| format!("{:?}", &sentence[r]));
            failures.push(format!(
                "line {line_no}: {sentence:?}, target {target:?}: expected {}, got {} (trigger {trigger})",
                expected.name(),
                got.assertion.name()
            ));
        }
    }
    for (a, &count) in Assertion::ALL.iter().zip(&per_assertion) {
        if count < MIN_ROWS_EACH {
            failures.push(format!("only {count} rows expect {} (at least {MIN_ROWS_EACH})", a.name()));
        }
    }
    if rows < 70 {
        failures.push(format!("only {rows} rows (at least 70)"));
    }
    for f in &failures {
        eprintln!("{f}");
    }
    assert!(failures.is_empty(), "{} of {rows} assertion table rows failed (listed above)", failures.len());
}
