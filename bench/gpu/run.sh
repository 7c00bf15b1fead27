#!/usr/bin/env bash
# The GPU check for issue #6, as one command for the `device` tool (one H100/H200).
# Here:   source scripts/env.sh && cargo build --release -p icd-trainer
#         mkdir -p .gpu && cp target/release/icd-train .gpu/ && echo /.gpu/ >> .git/info/exclude
# Device: run(command="bash bench/gpu/run.sh", carry=[".gpu"], timeout_s=540)
# Prints our trainer and the PyTorch anchor (bf16 autocast, fused AdamW, batch 16,
# random weights) back to back for each shape and length, on the device's own torch.
set -uo pipefail
TORCH_LIB=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
export LD_LIBRARY_PATH="$TORCH_LIB:${LD_LIBRARY_PATH:-}"
BIN=${ICD_TRAIN:-.gpu/icd-train}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
for shape in minilm-l6 bert-base; do
  for seq in 128 512; do
    "$BIN" bench --shape "$shape" --seq "$seq" --batch 16 --device cuda --bf16 --steps 50 --warmup-steps 10 2>&1 | tail -1
    python3 bench/pytorch_train.py --shape "$shape" --seq "$seq" --batch 16 --device cuda --bf16 --steps 50 --warmup-steps 10 2>&1 | tail -1
  done
done
