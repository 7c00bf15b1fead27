//! Helpers for the cross-crate tests: where the set-up step put the real artefacts.
#![forbid(unsafe_code)]

use std::path::PathBuf;

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
