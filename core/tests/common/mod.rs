//! Helpers shared by core's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Reads a file the set-up made; the panic names the command that makes it.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}; run scripts/test-fixtures.sh --checkpoints-only to build the test checkpoints", path.display()))
}
