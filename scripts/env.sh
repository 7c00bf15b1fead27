# Sourced by the other scripts: where set-up put the tools, and the libtorch settings.
# Everything heavy lives in one cache folder outside the clone, so fresh clones and CI reuse it.
ICD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ICD_CACHE="${ICD_CACHE:-$HOME/.cache/icd10-coder}"
export ICD_ROOT ICD_CACHE
export PATH="$ICD_CACHE/tools/bin:$ICD_CACHE/tools/npm/node_modules/.bin:$ICD_CACHE/venv/bin:$PATH"
# tch links the libtorch inside the venv's PyPI torch (2.11.0).
export LIBTORCH_USE_PYTORCH=1
TORCH_LIB="$ICD_CACHE/venv/lib/python3.11/site-packages/torch/lib"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Pinned tool versions (wasm-bindgen must equal the crate version in Cargo.lock).
TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132.0.0
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ICD_ROOT/Cargo.lock")"
TORCH_VERSION=2.11.0
phase_start() { PHASE_NAME="$1"; PHASE_T0=$(date +%s); echo "==> $1"; }
phase_end() { echo "<== $PHASE_NAME: $(( $(date +%s) - PHASE_T0 )) s"; }
# For the training scripts, with OUT (their run folder) as $1: from the clone's root, builds the
# release binaries, generates the synthetic notes when missing, and sets BIN (the binaries) and
# R (--resume when OUT has a checkpoint, so running a script again resumes it).
train_prelude() {
  cd "$ICD_ROOT"
  BIN="${CARGO_TARGET_DIR:-target}/release"
  cargo build --release -p icd-data -p icd-trainer -p icd-quantize
  [ -s artifacts/data/test.jsonl ] || "$BIN/icd-data" generate --out artifacts/data
  # Waiting OpenMP threads sleep instead of spinning when the machine is shared (BENCHMARKS.md).
  export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
  R=(); [ -d "$1/checkpoint-last" ] && R=(--resume)
  return 0
}
