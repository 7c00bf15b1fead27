"""Inference anchors for `icd-bench predict` (issue #4): the same checkpoint in PyTorch eager
on the CPU, and exported to ONNX (f32 and dynamic int8) for the onnxruntime-web comparison.

    python3 bench/infer_anchor.py --checkpoint artifacts/test-checkpoints/cls \
        --tokens 128,256,512 --threads 1,2 [--onnx-out bench/wasm/models]

Reads the trainer's checkpoint (config.json + model.safetensors, Hugging Face names) with no
other package than torch; prints ms/note (median), one note = one chunk of N ids, batch 1,
scores only, like `icd-bench predict`. `--onnx-out` also needs `onnx` and `onnxruntime`
(bench/wasm/setup.sh installs them into the project venv).
"""
import argparse
import json
import os
import statistics
import struct
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def read_safetensors(path):
    """safetensors is an 8-byte header length, a JSON header, then raw little-endian tensors."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[t["dtype"]]).view(t["shape"])
    return out


class Layer(nn.Module):
    def __init__(self, h, heads, inter, eps):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(h, eps=eps), nn.LayerNorm(h, eps=eps)
        self.i, self.out = nn.Linear(h, inter), nn.Linear(inter, h)

    def forward(self, x, bias):
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)
        ctx = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=bias)
        a = self.ln1(self.o(ctx.transpose(1, 2).reshape(b, t, h)) + x)
        return self.ln2(self.out(F.gelu(self.i(a))) + a)


class Coder(nn.Module):
    """BERT encoder + the checkpoint's head; ids [1, T], mask [1, T] -> scores [1, L]."""

    def __init__(self, cfg, labels):
        super().__init__()
        h, eps = cfg["hidden_size"], cfg.get("layer_norm_eps", 1e-12)
        self.icd = cfg["icd"]
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], h)
        self.typ = nn.Embedding(cfg["type_vocab_size"], h)
        self.ln = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(Layer(h, cfg["num_attention_heads"], cfg["intermediate_size"], eps)
                                    for _ in range(cfg["num_hidden_layers"]))
        if self.icd["head"] == "cls":
            self.cls = nn.Linear(h, labels)
        else:
            a = self.icd["label_attention_dim"]
            self.first, self.second = nn.Linear(h, a, bias=False), nn.Linear(a, labels, bias=False)
            self.out_w, self.out_b = nn.Parameter(torch.zeros(labels, h)), nn.Parameter(torch.zeros(labels))

    def load_hf(self, w):
        """Copies Hugging Face-named tensors (the trainer's checkpoint) into this module."""
        e = "bert.embeddings."
        names = {"word.weight": e + "word_embeddings.weight", "pos.weight": e + "position_embeddings.weight",
                 "typ.weight": e + "token_type_embeddings.weight", "ln.weight": e + "LayerNorm.weight",
                 "ln.bias": e + "LayerNorm.bias"}
        for i in range(len(self.layers)):
            p = f"bert.encoder.layer.{i}."
            for ours, theirs in [("q", "attention.self.query"), ("k", "attention.self.key"),
                                 ("v", "attention.self.value"), ("o", "attention.output.dense"),
                                 ("ln1", "attention.output.LayerNorm"), ("i", "intermediate.dense"),
                                 ("out", "output.dense"), ("ln2", "output.LayerNorm")]:
                for kind in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{kind}"] = p + theirs + "." + kind
        if self.icd["head"] == "cls":
            names |= {"cls.weight": "classifier.weight", "cls.bias": "classifier.bias"}
        else:
            names |= {"first.weight": "label_attention.first.weight", "second.weight": "label_attention.second.weight",
                      "out_w": "label_attention.output.weight", "out_b": "label_attention.output.bias"}
        state = {ours: w[theirs] for ours, theirs in names.items()}
        self.load_state_dict(state, strict=True)
        return self

    def forward(self, ids, mask):
        pos = torch.arange(ids.shape[1])[None]
        x = self.ln(self.word(ids) + self.pos(pos) + self.typ(torch.zeros_like(ids)))
        bias = ((1.0 - mask.to(x.dtype)) * -1e4)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        if self.icd["head"] == "cls":
            logits = self.cls(x[:, 0])
        else:
            z = torch.tanh(self.first(x))  # [1, T, A]
            att = (self.second(z).transpose(1, 2) + bias[:, 0]).softmax(-1)  # [1, L, T]
            logits = ((att @ x) * self.out_w).sum(-1) + self.out_b
        return logits.softmax(-1) if self.icd["objective"] == "softmax" else logits.sigmoid()


def inputs(t):
    """[CLS] + deterministic word ids + [SEP]: the content doesn't change the cost."""
    ids = torch.cat([torch.tensor([101]), torch.arange(t - 2) * 7919 % 28000 + 1000, torch.tensor([102])])
    return ids[None].long(), torch.ones(1, t, dtype=torch.long)


def time_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        s = time.perf_counter()
        fn()
        times.append((time.perf_counter() - s) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--tokens", default="128,256,512")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--onnx-out", help="write model-f32.onnx and model-int8.onnx here")
    ap.add_argument("--notes", help="JSONL notes: also time whole notes end to end (notes/s, like `icd predict`)")
    ap.add_argument("--limit", type=int, default=200, help="first N of --notes")
    a = ap.parse_args()
    cfg = json.load(open(os.path.join(a.checkpoint, "config.json")))
    labels = len(cfg["id2label"])
    model = Coder(cfg, labels).load_hf(read_safetensors(os.path.join(a.checkpoint, "model.safetensors"))).eval()
    tokens = [int(t) for t in a.tokens.split(",")]
    print(f"PyTorch {torch.__version__} eager, {a.checkpoint}: ms/note (median of {a.repeats}), batch 1, scores only")
    with torch.inference_mode():
        for th in (int(t) for t in a.threads.split(",")):
            torch.set_num_threads(th)
            line = [f"{t} tokens {time_ms(lambda: model(*inputs(t)), a.repeats):.1f}" for t in tokens]
            print(f"-- {th} thread(s): " + ", ".join(line))
    if a.notes:
        notes_per_second(model, cfg, a)
    if a.onnx_out:
        export(model, a.onnx_out, tokens, a.repeats)


def notes_per_second(model, cfg, a):
    """Whole notes as `icd predict --no-evidence` codes them: tokenize (no padding, no
    truncation), split into chunks of max_length ([CLS] + 510 + [SEP]), one batch of chunks
    per note, scores. PyTorch eager f32, and dynamic int8 (torch.ao quantize_dynamic)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(os.path.join(a.checkpoint, "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    notes = [json.loads(l)["text"] for l in open(a.notes) if l.strip()][: a.limit]
    max_len = cfg["icd"].get("max_length", 512)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")

    def code(m, text):
        ids = tok.encode(text, add_special_tokens=False).ids
        body = max_len - 2
        chunks = [[cls_id] + ids[i : i + body] + [sep_id] for i in range(0, max(len(ids), 1), body)]
        t = max(len(c) for c in chunks)
        x = torch.zeros(len(chunks), t, dtype=torch.long)
        mask = torch.zeros(len(chunks), t, dtype=torch.long)
        for i, c in enumerate(chunks):
            x[i, : len(c)], mask[i, : len(c)] = torch.tensor(c), 1
        return m(x, mask)

    with warnings.catch_warnings():  # torch.ao's notice that it moves to torchao
        warnings.simplefilter("ignore")
        int8 = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    with torch.inference_mode():
        for th in (int(t) for t in a.threads.split(",")):
            torch.set_num_threads(th)
            for name, m in (("f32", model), ("int8 (quantize_dynamic)", int8)):
                code(m, notes[0])
                s = time.perf_counter()
                for n in notes:
                    code(m, n)
                dt = time.perf_counter() - s
                print(f"PyTorch eager {name}, {th} thread(s), {len(notes)} notes of {a.notes}: "
                      f"{len(notes) / dt:.1f} notes/s")


def export(model, out, tokens, repeats):
    import numpy as np
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    os.makedirs(out, exist_ok=True)
    f32, int8 = os.path.join(out, "model-f32.onnx"), os.path.join(out, "model-int8.onnx")
    ids, mask = inputs(128)
    torch.onnx.export(model, (ids, mask), f32, input_names=["input_ids", "attention_mask"], output_names=["scores"],
                      dynamic_axes={"input_ids": {1: "t"}, "attention_mask": {1: "t"}}, opset_version=17, dynamo=False)
    quantize_dynamic(f32, int8, weight_type=QuantType.QInt8)
    print(f"wrote {f32} ({os.path.getsize(f32) / 1e6:.1f} MB) and {int8} ({os.path.getsize(int8) / 1e6:.1f} MB)")
    with torch.inference_mode():
        ref = model(ids, mask).numpy()
    for path in (f32, int8):
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        got = s.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
        line = [f"{t} tokens {time_ms(lambda: s.run(None, dict(zip(['input_ids', 'attention_mask'], (x.numpy() for x in inputs(t))))), repeats):.1f}"
                for t in tokens]
        print(f"onnxruntime {ort.__version__} CPU, 1 thread, {os.path.basename(path)}: max |score - PyTorch| "
              f"{np.abs(got - ref).max():.2e}; " + ", ".join(line))


if __name__ == "__main__":
    main()
