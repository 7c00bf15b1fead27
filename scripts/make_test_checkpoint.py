#!/usr/bin/env python3
"""Build small, real test checkpoints (contract format, docs/checkpoint-format.md).

The encoder is the real all-MiniLM-L6-v2 from models/all-MiniLM-L6-v2/ (names mapped onto
the `bert.` prefix); the head is random but seeded, for six codes of labels/default-codes.tsv.
Writes, under artifacts/test-checkpoints/ (git-ignored, rebuilt by scripts/test-fixtures.sh):

  cls/   head "cls", objective softmax, max_length 512, chunk_overlap 0
  laat/  head "label_attention", objective sigmoid, max_length 128, chunk_overlap 16
         (shorter windows with overlap, so the long note gives several uneven chunks)

each with config.json, model.safetensors, tokenizer.json (padding/truncation off), labels.tsv,
and tests/fixtures/parity-notes.json: the note texts the parity test runs.

Deterministic: same base model + same seeds -> byte-identical model.safetensors.
Needs only torch (no safetensors/transformers/tokenizers packages).

Usage: python3 scripts/make_test_checkpoint.py [--root REPO_ROOT]
"""
import argparse
import json
import math
import struct
from pathlib import Path

import torch

LABELS = ["J45.909", "R05.9", "R06.02", "J44.9", "I10", "E11.9"]
LAAT_DIM = 64
SEED = 4

PARAGRAPH = (
    "Chief complaint: shortness of breath. The patient is a 67-year-old man with a history of "
    "chronic obstructive pulmonary disease, essential hypertension and type 2 diabetes mellitus "
    "without complications, who presents with three days of worsening dyspnea, productive cough "
    "and wheezing. He denies fever or chest pain. On examination there are diffuse expiratory "
    "wheezes; oxygen saturation is 91% on room air. Assessment: acute exacerbation of COPD. "
    "Plan: nebulized albuterol, oral prednisone, continue metformin and lisinopril. "
)
NOTES = [
    "Patient presents with chronic cough and shortness of breath. History of asthma.",
    "",
    "Café-au-lait spots noted; pt’s BP 148/92 — f/u in 2 wks for HTN. Hba1c 8.1%.",
    PARAGRAPH * 7,  # > 512 tokens: two cls chunks, several laat chunks
]


def read_safetensors(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = bytearray(raw[8 + n + b : 8 + n + e])
        out[name] = torch.frombuffer(buf, dtype=dtypes[info["dtype"]]).reshape(info["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # the data section starts 8-byte aligned
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def base_encoder(root):
    src = read_safetensors(root / "models/all-MiniLM-L6-v2/model.safetensors")
    out = {}
    for name, t in src.items():
        if name.startswith("pooler.") or name.endswith("position_ids"):
            continue
        out[name if name.startswith("bert.") else "bert." + name] = t.float()
    return out


def random_head(kind, hidden, n_labels):
    g = torch.Generator().manual_seed(SEED if kind == "cls" else SEED + 1)
    # Scales chosen so logits spread over a few units and attention is far from uniform:
    # a parity test on near-zero logits would prove little.
    if kind == "cls":
        return {
            "classifier.weight": torch.randn(n_labels, hidden, generator=g) * (8.0 / math.sqrt(hidden)),
            "classifier.bias": torch.randn(n_labels, generator=g) * 0.5,
        }
    return {
        "label_attention.first.weight": torch.randn(LAAT_DIM, hidden, generator=g) * (4.0 / math.sqrt(hidden)),
        "label_attention.second.weight": torch.randn(n_labels, LAAT_DIM, generator=g) * (4.0 / math.sqrt(LAAT_DIM)),
        "label_attention.output.weight": torch.randn(n_labels, hidden, generator=g) * (10.0 / math.sqrt(hidden)),
        "label_attention.output.bias": torch.randn(n_labels, generator=g) * 0.5,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    root = ap.parse_args().root

    descriptions = {}
    for line in (root / "labels/default-codes.tsv").read_text().splitlines()[1:]:
        code, desc = line.split("\t")[:2]
        descriptions[code] = desc
    missing = [c for c in LABELS if c not in descriptions]
    if missing:
        raise SystemExit(f"labels/default-codes.tsv lacks {missing}")

    base_dir = root / "models/all-MiniLM-L6-v2"
    base_cfg = json.loads((base_dir / "config.json").read_text())
    tok = json.loads((base_dir / "tokenizer.json").read_text())
    tok["padding"] = None  # the shipped file pads and truncates to 128
    tok["truncation"] = None
    encoder = base_encoder(root)
    hidden = base_cfg["hidden_size"]

    for kind, icd in [
        ("cls", {"head": "cls", "objective": "softmax", "max_length": 512, "chunk_overlap": 0}),
        ("laat", {"head": "label_attention", "objective": "sigmoid", "max_length": 128, "chunk_overlap": 16,
                  "label_attention_dim": LAAT_DIM}),
    ]:
        out = root / "artifacts/test-checkpoints" / kind
        out.mkdir(parents=True, exist_ok=True)
        cfg = {k: base_cfg[k] for k in [
            "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "pad_token_id"]}
        cfg["model_type"] = "bert"
        cfg["architectures"] = ["BertForIcdCoding"]
        cfg["id2label"] = {str(i): c for i, c in enumerate(LABELS)}
        cfg["label2id"] = {c: i for i, c in enumerate(LABELS)}
        cfg["icd"] = {**icd, "threshold": 0.5, "base_model": "all-MiniLM-L6-v2"}
        (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
        write_safetensors(out / "model.safetensors", {**encoder, **random_head(kind, hidden, len(LABELS))})
        (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
        (out / "labels.tsv").write_text("".join(f"{c}\t{descriptions[c]}\n" for c in LABELS))
        print(f"wrote {out}")

    fixtures = root / "tests/fixtures"
    fixtures.mkdir(parents=True, exist_ok=True)
    (fixtures / "parity-notes.json").write_text(json.dumps({"notes": NOTES}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {fixtures / 'parity-notes.json'}")


if __name__ == "__main__":
    main()
