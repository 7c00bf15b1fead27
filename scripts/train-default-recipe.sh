#!/usr/bin/env bash
# The original recipe on the shipped model (bundles/default-recipe, MODEL_CARD.md there):
# all-MiniLM-L6-v2 fully fine-tuned, cls head + softmax cross-entropy, AdamW, batch 16,
# 5 epochs, max length 512 (icd-train's defaults), then the int8 bundle.
#   scripts/train-default-recipe.sh [OUT]        OUT defaults to runs/default-recipe
# On 2 CPU cores an epoch takes 1-3 hours (BENCHMARKS.md); a GPU takes minutes.
# It checkpoints every 10 minutes inside an epoch; run it again to resume where it stopped.
# DEVICE=cuda (or auto) to train on a GPU; THREADS sets the CPU threads.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
OUT="${1:-runs/default-recipe}"
train_prelude "$OUT"
if [ ! -s "$OUT/metrics.json" ]; then
  "$BIN/icd-train" train --out "$OUT" --device "${DEVICE:-auto}" --threads "${THREADS:-$(nproc)}" \
    --checkpoint-minutes 10 "${R[@]}"
fi
# The bundle from the final model (= the best validation epoch): int8 encoder and embeddings, checked against f32 on all 2,000 test notes.
"$BIN/icd-quantize" --checkpoint "$OUT" --out "$OUT/bundle" --data artifacts/data/test.jsonl \
  --quantize-embeddings --name minilm-l6-icd10-default-recipe
