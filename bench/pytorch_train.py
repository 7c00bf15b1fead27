"""PyTorch eager baseline for `icd-train bench`: the same BERT shape, batch, length,
300-label classifier, AdamW and gradient clipping, random weights and ids.

    python3 bench/pytorch_train.py --shape minilm-l6 --seq 128 --batch 16 --threads 2

Prints one line of samples/s, like `icd-train bench`. Uses the venv's torch only
(no transformers); the encoder is written with torch.nn primitives in the
Hugging Face layout (post-LN, erf GELU, scaled_dot_product_attention).
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {"bert-base": (768, 12, 12, 3072), "minilm-l6": (384, 6, 12, 1536), "tiny": (32, 2, 2, 64)}


class Layer(nn.Module):
    def __init__(self, h, heads, inter):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(h, eps=1e-12), nn.LayerNorm(h, eps=1e-12)
        self.i, self.out = nn.Linear(h, inter), nn.Linear(inter, h)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, mask):
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)
        ctx = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=mask,
                                             dropout_p=0.1 if self.training else 0.0)
        a = self.ln1(self.drop(self.o(ctx.transpose(1, 2).reshape(b, t, h))) + x)
        return self.ln2(self.drop(self.out(F.gelu(self.i(a)))) + a)


class Model(nn.Module):
    def __init__(self, h, layers, heads, inter, labels=300):
        super().__init__()
        self.word, self.pos, self.typ = nn.Embedding(30522, h), nn.Embedding(512, h), nn.Embedding(2, h)
        self.ln = nn.LayerNorm(h, eps=1e-12)
        self.layers = nn.ModuleList(Layer(h, heads, inter) for _ in range(layers))
        self.cls = nn.Linear(h, labels)
        self.drop = nn.Dropout(0.1)

    def forward(self, ids, mask):
        pos = torch.arange(ids.shape[1], device=ids.device)[None]
        x = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.typ(torch.zeros_like(ids))))
        m = mask.bool()[:, None, None, :]
        for layer in self.layers:
            x = layer(x, m)
        return self.cls(self.drop(x[:, 0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="minilm-l6", choices=SHAPES)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup-steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--fused-adamw", action="store_true", help="fused AdamW on CPU too (always on CUDA)")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    model = Model(*SHAPES[a.shape]).to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01, fused=dev.type == "cuda" or a.fused_adamw)
    ids = (torch.arange(a.batch * a.seq).view(a.batch, a.seq) * 104729 % 30000 + 100).to(dev)
    mask = torch.ones_like(ids)
    y = (torch.arange(a.batch) % 300).to(dev)

    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
            loss = F.cross_entropy(model(ids, mask).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(a.warmup_steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    s = time.perf_counter() - t
    print(f"pytorch train {a.shape} seq {a.seq} batch {a.batch} on {dev}{' bf16' if a.bf16 else ''}: "
          f"{a.steps * a.batch / s:.1f} samples/s ({1e3 * s / a.steps:.1f} ms/step, threads {torch.get_num_threads()})")


if __name__ == "__main__":
    main()
