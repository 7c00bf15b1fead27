#!/usr/bin/env bash
# Packs what bench/gpu/train.sh needs on a device machine into .gpu/ (ignored by git):
# the release icd-train and icd-data, the code table, and the base model with its weights
# in float16 (the device tool carries at most 64 MiB with the working tree).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"
BIN="${CARGO_TARGET_DIR:-target}/release"
cargo build --release -p icd-data -p icd-trainer
rm -rf .gpu && mkdir -p .gpu/base
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
cp "$BIN/icd-train" "$BIN/icd-data" .gpu/
strip .gpu/icd-train .gpu/icd-data
cp artifacts/icd10cm.table .gpu/
cp models/all-MiniLM-L6-v2/{config.json,tokenizer.json,vocab.txt,tokenizer_config.json,special_tokens_map.json} .gpu/base/
.venv/bin/python -c "import safetensors" 2>/dev/null || .venv/bin/pip install -q safetensors
.venv/bin/python - <<'PY'
import torch
from safetensors.torch import load_file, save_file
w = load_file("models/all-MiniLM-L6-v2/model.safetensors")
save_file({k: v.half().contiguous() for k, v in w.items()}, ".gpu/base/model-f16.safetensors")
PY
du -sh .gpu .gpu/*
