#!/usr/bin/env python3
"""PyTorch reference of the checkpoint forward pass (docs/checkpoint-format.md, steps 3-4).

Plain torch ops only (no transformers, no Rust code), so it checks core/'s candle model and
the trainer's tch model independently. Each chunk runs alone, unpadded: this also checks that
the Rust side's padded batch and attention mask change nothing.

Usage:
  python3 scripts/reference_model.py CHECKPOINT_DIR --chunks CHUNKS_JSON --out FIXTURE_JSON
      [--dtype float32|float64] [--attention-max-tokens N]

CHUNKS_JSON (written by `cargo test -p icd-core --test parity -- --ignored write_chunks`):
  {"notes": [{"text": str, "chunks": [{"ids": [int], "token_start": int}, ...]}, ...]}
FIXTURE_JSON: the same, plus per note "logits" [L], "scores" [L] and, for the
label_attention head and notes of at most N positions, "attention" [L][T];
plus "checkpoint" facts (sha256 of model.safetensors, head, labels) so a stale checkpoint is
reported as such rather than as a parity failure.
"""
import argparse
import hashlib
import json
import math
import struct
from pathlib import Path

import torch


def load_weights(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    dtypes = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in dtypes:
            continue
        b, e = info["data_offsets"]
        buf = bytearray(raw[8 + n + b : 8 + n + e])
        out[name] = torch.frombuffer(buf, dtype=dtypes[info["dtype"]]).reshape(info["shape"]).clone()
    return out


class Reference:
    def __init__(self, ckpt, dtype):
        self.cfg = json.loads((ckpt / "config.json").read_text())
        self.w = {k: v.to(dtype) for k, v in load_weights(ckpt / "model.safetensors").items()}
        self.dtype = dtype

    def linear(self, x, name, bias=True):
        y = x @ self.w[name + ".weight"].T
        return y + self.w[name + ".bias"] if bias else y

    def layer_norm(self, x, name):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + self.cfg["layer_norm_eps"]) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def encode(self, ids):
        """ids: list[int] of one chunk -> hidden [S, H]."""
        c, w = self.cfg, self.w
        s = len(ids)
        ids_t = torch.tensor(ids, dtype=torch.long)
        x = (w["bert.embeddings.word_embeddings.weight"][ids_t]
             + w["bert.embeddings.position_embeddings.weight"][:s]
             + w["bert.embeddings.token_type_embeddings.weight"][0])
        x = self.layer_norm(x, "bert.embeddings.LayerNorm")
        nh = c["num_attention_heads"]
        dh = c["hidden_size"] // nh
        for i in range(c["num_hidden_layers"]):
            p = f"bert.encoder.layer.{i}"
            q, k, v = (self.linear(x, f"{p}.attention.self.{n}").reshape(s, nh, dh).transpose(0, 1)
                       for n in ("query", "key", "value"))  # [nh, S, dh]
            att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(dh), dim=-1)  # [nh, S, S]
            ctx = (att @ v).transpose(0, 1).reshape(s, nh * dh)
            x = self.layer_norm(self.linear(ctx, f"{p}.attention.output.dense") + x, f"{p}.attention.output.LayerNorm")
            h = self.linear(x, f"{p}.intermediate.dense")
            h = 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0)))  # exact GELU
            x = self.layer_norm(self.linear(h, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        return x

    def forward(self, chunks):
        """chunks: list of id lists -> (logits [L], scores [L], attention [L, T] or None)."""
        icd, w = self.cfg["icd"], self.w
        hidden = [self.encode(ids) for ids in chunks]
        if icd["head"] == "cls":
            v = torch.stack([h[0] for h in hidden]).mean(0)
            logits = self.linear(v, "classifier")
            att = None
        else:
            hs = torch.cat(hidden, 0)  # [T, H]
            z = torch.tanh(hs @ w["label_attention.first.weight"].T)  # [T, A]
            att = torch.softmax((z @ w["label_attention.second.weight"].T).T, dim=-1)  # [L, T]
            v = att @ hs  # [L, H]
            logits = (v * w["label_attention.output.weight"]).sum(-1) + w["label_attention.output.bias"]
        scores = torch.softmax(logits, -1) if icd["objective"] == "softmax" else torch.sigmoid(logits)
        return logits, scores, att


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--chunks", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--attention-max-tokens", type=int, default=64)
    args = ap.parse_args()

    ref = Reference(args.checkpoint, getattr(torch, args.dtype))
    data = json.loads(args.chunks.read_text())
    notes = []
    with torch.no_grad():
        for note in data["notes"]:
            logits, scores, att = ref.forward([c["ids"] for c in note["chunks"]])
            entry = {**note, "logits": [round(float(x), 7) for x in logits], "scores": [round(float(x), 7) for x in scores]}
            if att is not None and att.shape[1] <= args.attention_max_tokens:
                entry["attention"] = [[round(float(x), 8) for x in row] for row in att]
            notes.append(entry)
    fixture = {
        "generated_by": "scripts/test-fixtures.sh (scripts/reference_model.py, torch "
                        f"{torch.__version__.split('+')[0]}, {args.dtype})",
        "checkpoint": {
            "head": ref.cfg["icd"]["head"],
            "labels": [ref.cfg["id2label"][str(i)] for i in range(len(ref.cfg["id2label"]))],
            "model_safetensors_sha256": hashlib.sha256((args.checkpoint / "model.safetensors").read_bytes()).hexdigest(),
        },
        "notes": notes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(fixture, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
