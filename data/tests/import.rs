//! `icd-data import`: every kind of bad row is rejected with FILE:LINE and a reason;
//! good rows are kept; accepted + rejected = rows read.

use std::path::PathBuf;

use icd_core::dataset::parse_jsonl;
use icd_core::{CodeTable, LabelSpace};
use icd_data::import::{self, Options};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn table() -> CodeTable {
    let t = root().join("artifacts/icd10cm.table");
    let bytes = std::fs::read(&t).unwrap_or_else(|e| panic!("{}: {e}; run scripts/setup.sh", t.display()));
    CodeTable::from_bytes(&bytes).expect("run scripts/setup.sh")
}

fn rejects(out: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("rejects.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn csv_bad_rows_are_rejected_with_line_and_reason() {
    let table = table();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("notes.csv");
    let mut bytes: Vec<u8> = Vec::new();
    bytes.extend_from_slice(b"id,text,codes\n"); // line 1
    bytes.extend_from_slice(b"a1,\"Patient presents with chronic cough and shortness of breath. History of asthma.\",J45.909\n"); // 2
    bytes.extend_from_slice(b"a2,   ,I10\n"); // 3: empty text
    bytes.extend_from_slice(b"a3,Follow up of something,Q99.999\n"); // 4: unknown code
    bytes.extend_from_slice(b"a4,Asthma follow up,J45\n"); // 5: not billable
    bytes.extend_from_slice(b"a5,\"unterminated quote, I10\n"); // 6: broken quoting
    bytes.extend_from_slice(b"a6,\"Hypertension, on lisinopril\nand statin\",\"I10;E78.5\"\n"); // 7-8: good, multi-line
    bytes.extend_from_slice(b"a7,Fever \xff\xfe and cough,R50.9\n"); // 9: invalid UTF-8
    bytes.extend_from_slice(b"a1,Duplicate id note,I10\n"); // 10: duplicate id
    bytes.extend_from_slice(b"a8,bad \"inner\" quote,I10\n"); // 11: quote in unquoted field
    bytes.extend_from_slice(b"a9,Type 2 diabetes with hypertension,E11.9|I10\n"); // 12: good
    bytes.extend_from_slice(b"a10,No codes here,\n"); // 13: no codes
    bytes.extend_from_slice(b"a11,Cough,R05.9,extra\n"); // 14: wrong field count
    bytes.extend_from_slice(b"a12,Knee pain right,m25561\n"); // 15: good, undotted lower case
    std::fs::write(&csv, &bytes).unwrap();

    let out = dir.path().join("out");
    let summary = import::run(std::slice::from_ref(&csv), &table, None, &out, &Options::default()).unwrap();
    assert!(summary.contains("accepted 4, rejected 9"), "{summary}");
    assert!(summary.starts_with("13 rows"), "{summary}");

    let rej = rejects(&out);
    let got: Vec<(u64, String)> = rej.iter().map(|r| (r["line"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_string())).collect();
    let expect: &[(u64, &str)] = &[
        (3, "empty text"),
        (4, "unknown code \"Q99.999\""),
        (5, "code J45 (Asthma) is not billable"),
        (6, "broken CSV quoting"),
        (9, "invalid UTF-8"),
        (10, "duplicate id \"a1\""),
        (11, "broken CSV quoting"),
        (13, "no codes"),
        (14, "3 fields, the header has 3"),
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for ((line, reason), (el, er)) in got.iter().zip(expect) {
        assert_eq!(line, el, "{reason}");
        if *el != 14 {
            assert!(reason.contains(er), "line {line}: {reason:?} lacks {er:?}");
        } else {
            assert!(reason.contains("4 fields"), "{reason}");
        }
    }
    for r in &rej {
        assert!(r["file"].as_str().unwrap().ends_with("notes.csv"));
        assert!(!r["raw"].as_str().unwrap().is_empty());
    }
    // The FILE:LINE: reason form printed to stderr.
    let imp = import::read(&[csv], &table, None, None).unwrap();
    assert!(imp.rejects[0].to_string().ends_with("notes.csv:3: empty text"), "{}", imp.rejects[0]);
    assert_eq!(imp.accepted.len() + imp.rejects.len(), imp.rows);

    let read = |n: &str| parse_jsonl(&std::fs::read_to_string(out.join(n)).unwrap(), n).unwrap();
    let (train, test) = (read("train.jsonl"), read("test.jsonl"));
    assert_eq!(train.len() + test.len(), 4);
    let all: Vec<_> = train.iter().chain(&test).collect();
    let a6 = all.iter().find(|r| r.id == "a6").expect("multi-line quoted row kept");
    assert_eq!(a6.text, "Hypertension, on lisinopril\nand statin");
    assert_eq!(a6.codes, ["I10", "E78.5"]);
    assert_eq!(all.iter().find(|r| r.id == "a9").unwrap().codes, ["E11.9", "I10"]);
    assert_eq!(all.iter().find(|r| r.id == "a12").unwrap().codes, ["M25.561"]);
}

#[test]
fn jsonl_bad_lines_and_label_space() {
    let table = table();
    let labels_text = std::fs::read_to_string(root().join("labels/default-codes.tsv")).unwrap();
    let labels = LabelSpace::parse_tsv(&labels_text, &table, "labels").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.jsonl");
    let mut b: Vec<u8> = Vec::new();
    b.extend_from_slice(b"{\"id\":\"x1\",\"text\":\"Asthma, stable\",\"codes\":[\"J45.909\"]}\n"); // 1 good
    b.extend_from_slice(b"{\"id\":\"x2\",\"text\":\"\",\"codes\":[\"I10\"]}\n"); // 2 empty
    b.extend_from_slice(b"{\"id\":\"x3\",\"text\":\"broken\"\n"); // 3 bad JSON
    b.extend_from_slice(b"\n"); // 4 blank: not a row
    b.extend_from_slice(b"{\"id\":\"x4\",\"text\":\"caf\xe9\",\"codes\":[\"I10\"]}\n"); // 5 invalid UTF-8
    b.extend_from_slice(b"{\"id\":\"x5\",\"text\":\"Plantar wart\",\"codes\":\"B07.0\"}\n"); // 6 not in label space
    b.extend_from_slice(b"{\"text\":\"HTN and HLD\",\"codes\":\"I10;E78.5\"}\n"); // 7 good, id from line
    std::fs::write(&p, &b).unwrap();
    let out = dir.path().join("out");
    let opts = Options { test_ratio: 0.5, ..Options::default() };
    let summary = import::run(&[p], &table, Some(&labels), &out, &opts).unwrap();
    assert!(summary.contains("accepted 2, rejected 4"), "{summary}");
    let rej = rejects(&out);
    let lines: Vec<u64> = rej.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3, 5, 6]);
    assert!(rej[1]["reason"].as_str().unwrap().starts_with("bad JSON"));
    assert!(rej[2]["reason"].as_str().unwrap().contains("invalid UTF-8"));
    assert!(rej[3]["reason"].as_str().unwrap().contains("not in the label space"));
}

#[test]
fn split_is_stratified_80_20() {
    let recs: Vec<_> = (0..50)
        .map(|i| icd_core::dataset::Record {
            id: i.to_string(),
            text: "t".into(),
            codes: vec![if i < 40 { "I10".into() } else { "J45.909".into() }],
            meta: Default::default(),
        })
        .collect();
    let (train, valid, test) = import::split(recs, 0.2, 0.0, 7);
    assert_eq!((train.len(), valid.len(), test.len()), (40, 0, 10));
    assert_eq!(test.iter().filter(|r| r.codes[0] == "I10").count(), 8);
    assert_eq!(test.iter().filter(|r| r.codes[0] == "J45.909").count(), 2);
}
