"""Reference hidden states of all-MiniLM-L6-v2 from Hugging Face transformers, for the
tch encoder test (trainer/tests/encoder.rs). Needs `transformers` in the venv (only to
regenerate the fixture; the test itself reads the JSON):

    source scripts/env.sh && pip install transformers==4.57.1
    python3 scripts/make_trainer_fixtures.py
"""
import json

import torch
from transformers import BertModel, BertTokenizerFast

M = "models/all-MiniLM-L6-v2"
TEXTS = [
    "Patient presents with chronic cough and shortness of breath. History of asthma.",
    "68 yo F with HTN, DM2 and CKD stage 3; denies chest pain.",
]

tok = BertTokenizerFast.from_pretrained(M)
model = BertModel.from_pretrained(M, add_pooling_layer=False).eval()
out = []
with torch.no_grad():
    for text in TEXTS:
        ids = tok(text, add_special_tokens=True)["input_ids"]
        h = model(torch.tensor([ids])).last_hidden_state[0]
        out.append({"text": text, "ids": ids, "hidden": [[round(v, 6) for v in row] for row in h.tolist()]})
with open("trainer/tests/fixtures/minilm-hidden.json", "w") as f:
    json.dump({"model": "all-MiniLM-L6-v2", "transformers": __import__("transformers").__version__, "inputs": out}, f)
print("wrote trainer/tests/fixtures/minilm-hidden.json", [len(o["ids"]) for o in out])
