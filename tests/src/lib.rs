//! Helpers for the cross-crate tests: where the set-up step put the real artefacts.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

/// The workspace root (tests run with the crate folder as working directory).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// A file the set-up step makes; panics with the command to run when it is missing.
pub fn artefact(rel: &str) -> PathBuf {
    let p = root().join(rel);
    assert!(p.exists(), "{} is missing: run scripts/setup.sh first", p.display());
    p
}

pub fn code_table() -> icd_core::CodeTable {
    let bytes = std::fs::read(artefact("artifacts/icd10cm.table")).expect("read code table");
    icd_core::CodeTable::from_bytes(&bytes).expect("load code table")
}

/// The code table and its search index, loaded once per test binary: the candidates tests use
/// them in every test, and each load and build takes a good part of a second.
pub fn table_and_index() -> &'static (icd_core::CodeTable, icd_core::SearchIndex) {
    static SHARED: OnceLock<(icd_core::CodeTable, icd_core::SearchIndex)> = OnceLock::new();
    SHARED.get_or_init(|| {
        let table = code_table();
        let index = icd_core::SearchIndex::build(&table);
        (table, index)
    })
}
