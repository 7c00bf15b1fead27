"""Scores `icd predict` JSONL against data/eval/outside-*.jsonl: exact code and category
(3 characters) at 1 and 5, and how often the run said low confidence."""
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
print(f"{'set':<13} {'mode':<11} {'n':>3}  {'code@1':>6} {'code@5':>6} {'cat@1':>6} {'cat@5':>6}  {'low conf':>8}")
for name in ["outside-dev", "outside-test"]:
    gold = {}
    for line in Path(f"data/eval/{name}.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            gold[r["id"]] = r["code"]
    for mode in ["model-only", "fused"]:
        preds = [json.loads(l) for l in (out / f"{name}.{mode}.jsonl").read_text().splitlines() if l.strip()]
        n = len(preds)
        assert n == len(gold), f"{name} {mode}: {n} predictions for {len(gold)} notes"
        c1 = c5 = k1 = k5 = low = 0
        for p in preds:
            g = gold[p["id"]]
            codes = [x["code"] for x in p["predictions"]]
            c1 += codes[:1] == [g]
            c5 += g in codes[:5]
            k1 += any(c[:3] == g[:3] for c in codes[:1])
            k5 += any(c[:3] == g[:3] for c in codes[:5])
            low += bool(p.get("low_confidence"))
        f = lambda x: f"{x / n:.2f}"
        print(f"{name:<13} {mode:<11} {n:>3}  {f(c1):>6} {f(c5):>6} {f(k1):>6} {f(k5):>6}  {low:>8}")
