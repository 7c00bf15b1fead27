//! The hand-written evaluation sets (`data/eval/*.jsonl`): every line parses, ids are unique
//! across the files, and every code a chart gives (first-listed, accepted, reported) is a
//! billable code of the shipped table, so a scorer never compares against a code that cannot
//! be output.

use icd_tests::{code_table, root};

#[test]
fn every_eval_chart_has_unique_id_and_billable_codes() {
    let table = code_table();
    let mut ids = std::collections::HashSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(root().join("data/eval")).expect("data/eval") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).expect("read");
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), n + 1);
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            let id = v["id"].as_str().unwrap_or_else(|| panic!("{at}: no id"));
            assert!(ids.insert(id.to_string()), "{at}: id {id} repeated");
            assert!(!v["text"].as_str().unwrap_or("").trim().is_empty(), "{at}: empty text");
            let first = v["code"].as_str().unwrap_or_else(|| panic!("{at}: no code"));
            let mut codes = vec![first.to_string()];
            for field in ["accept", "codes"] {
                if let Some(list) = v[field].as_array() {
                    codes.extend(list.iter().map(|c| c.as_str().unwrap_or_else(|| panic!("{at}: {field} holds a non-string")).to_string()));
                }
            }
            if let Some(accept) = v["accept"].as_array() {
                assert!(accept.iter().any(|c| c == first), "{at}: accept lacks code {first}");
            }
            for c in codes {
                let known = table.get(&c).unwrap_or_else(|| panic!("{at}: {c} is not in the code table"));
                assert!(known.billable, "{at}: {c} is not billable");
            }
        }
    }
    assert!(files >= 10, "expected the ten hand-written sets, found {files}");
}
