#!/usr/bin/env bash
# The device run for issue #15, as one command for the `device` tool (one H100/H200):
# the trainer benchmark against PyTorch (bench/gpu/run.sh, shortened), then the candidate
# model trained on CUDA, its weights sent back in pieces that fit the tool's file limits.
#
# Here (scripts/gpu-pack.sh does it): build icd-train and icd-data in release, put them,
# the base model's weights in float16 (the transfer limit is 64 MiB) and the code table
# into .gpu/, and keep .gpu/ out of git.
# Device: run(command="bash bench/gpu/train.sh", carry=[".gpu"], timeout_s=570)
# Back here: scripts/gpu-unpack.sh DIR rebuilds runs/gpu-<name> from $OUT's files.
set -uo pipefail
T0=$(date +%s)
left() { echo $(( ${BUDGET:-540} - ($(date +%s) - T0) )); }
G=.gpu
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
TORCH_LIB=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$TORCH_LIB:${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
nproc

# The base model: float16 as carried -> float32, as the trainer expects.
mkdir -p models/all-MiniLM-L6-v2
cp "$G"/base/*.json "$G"/base/vocab.txt models/all-MiniLM-L6-v2/ 2>/dev/null
python3 - <<'PY'
import torch
from safetensors.torch import load_file, save_file
w = load_file(".gpu/base/model-f16.safetensors")
save_file({k: v.float().contiguous() for k, v in w.items()}, "models/all-MiniLM-L6-v2/model.safetensors")
print("base model:", len(w), "tensors")
PY
mkdir -p artifacts && cp "$G/icd10cm.table" artifacts/

# 1. Benchmark: our trainer and the PyTorch anchor, back to back, bf16 autocast, batch 16.
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  for shape in minilm-l6 bert-base; do
    for seq in 128 512; do
      timeout 60 "$G/icd-train" bench --shape "$shape" --seq "$seq" --batch 16 --device cuda --bf16 --steps 40 --warmup-steps 10 2>&1 | tail -1
      timeout 60 python3 bench/pytorch_train.py --shape "$shape" --seq "$seq" --batch 16 --device cuda --bf16 --steps 40 --warmup-steps 10 2>&1 | tail -1
    done
  done
fi
echo "bench done at $(( $(date +%s) - T0 )) s"

# 2. The notes (deterministic for the seed: the same files as `icd-data generate` here).
"$G/icd-data" generate --out artifacts/data 2>&1 | tail -3
echo "data done at $(( $(date +%s) - T0 )) s"

# 3. Candidates, each as long as time allows (a run that is cut keeps no weights).
train() { # NAME ARGS...
  local name=$1; shift
  local budget=$(( $(left) - 45 ))
  [ "$budget" -gt 60 ] || { echo "no time left for $name"; return; }
  echo "== $name (budget $budget s): $*"
  timeout "$budget" "$G/icd-train" train --out "runs/$name" --device cuda --bf16 --threads 16 \
    --checkpoint-minutes 0 --eval-batch-size 64 "$@" 2>&1 | grep -v '^\s*$' | tail -25
  [ -s "runs/$name/metrics.json" ] || { echo "$name: no metrics.json"; return; }
  # Weights in bfloat16 pieces of at most 15 MB; the small files in one archive.
  python3 - "$name" "$OUT" <<'PY'
import sys, torch
from safetensors.torch import load_file, save_file
name, out = sys.argv[1], sys.argv[2]
w = load_file(f"runs/{name}/model.safetensors")
parts, cur, size = [], {}, 0
for k in sorted(w):
    t = w[k].to(torch.bfloat16).contiguous()
    if size + t.numel() * 2 > 15_000_000 and cur:
        parts.append(cur); cur, size = {}, 0
    cur[k] = t; size += t.numel() * 2
parts.append(cur)
for i, p in enumerate(parts):
    save_file(p, f"{out}/{name}.w{i}.safetensors")
print(name, "weights in", len(parts), "pieces")
PY
  tar -czf "$OUT/$name.meta.tgz" -C "runs/$name" --exclude ./best --exclude './checkpoint-*' --exclude ./model.safetensors .
  echo "$name done at $(( $(date +%s) - T0 )) s"
}
train laat-dx --head label-attention --input diagnostic-first --primary-weight 0.05 --head-lr 1e-3 --epochs "${EPOCHS:-5}"
[ "${SECOND:-1}" = 1 ] && train cls-dx --head cls --input diagnostic-first --epochs "${EPOCHS2:-3}"
ls -la "$OUT"
echo "total $(( $(date +%s) - T0 )) s"
