#!/usr/bin/env bash
# Rebuilds a checkpoint folder from bench/gpu/train.sh's files: DIR holds NAME.w*.safetensors
# (bfloat16 pieces) and NAME.meta.tgz.   scripts/gpu-unpack.sh DIR NAME [OUT]
# OUT defaults to runs/gpu-NAME; its model.safetensors is float32 (from the bfloat16 copy).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ICD_ROOT"
DIR=$1 NAME=$2 OUT=${3:-runs/gpu-$2}
mkdir -p "$OUT"
tar -xzf "$DIR/$NAME.meta.tgz" -C "$OUT"
.venv/bin/python -c "import safetensors" 2>/dev/null || .venv/bin/pip install -q safetensors
.venv/bin/python - "$DIR" "$NAME" "$OUT" <<'PY'
import sys, glob, torch
from safetensors.torch import load_file, save_file
d, name, out = sys.argv[1:]
w = {}
for f in sorted(glob.glob(f"{d}/{name}.w*.safetensors")):
    w.update(load_file(f))
save_file({k: v.float().contiguous() for k, v in w.items()}, f"{out}/model.safetensors")
print(out, len(w), "tensors")
PY
