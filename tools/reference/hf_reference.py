#!/usr/bin/env python3
"""Reference logits, greedy continuations and perplexity from Hugging Face transformers.

Runs where torch + transformers are installed (the H100 machine), on the tiny models in
../shared/models (or a copy of them), and writes small fixtures that the C++ tests compare with:

  <out>/<model>.json     prompts, token ids, greedy continuation ids, perplexity, shapes
  <out>/<model>.logits   float32 little-endian, [total prompt tokens, n_vocab], prompts concatenated

Math is float32 (weights bf16 as stored, upcast), eager attention, no KV-cache tricks.
Usage: hf_reference.py MODELS_DIR HELDOUT_TXT OUT_DIR [model ...]
"""
import json
import math
import os
import sys
import time

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = [
    "The Python interpreter",
    "def fibonacci(n):\n    ",
    "In computer science, a hash table is",
    "Hello, world! This is a test of the",
    "<|im_start|>user\nWhat is a list comprehension?<|im_end|>\n<|im_start|>assistant\n",
    "import os\nimport sys\n\nclass",
]
N_GREEDY = 64
PPL_CTX = 512


def main():
    models_dir, heldout, out_dir = sys.argv[1:4]
    names = sys.argv[4:] or ["tiny-qwen3", "tiny-qwen3moe", "tiny-qwen35moe"]
    os.makedirs(out_dir, exist_ok=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = "cuda" if torch.cuda.is_available() else "cpu"
    text = open(heldout, encoding="utf-8").read()
    for name in names:
        t0 = time.time()
        path = os.path.join(models_dir, name)
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager")
        model.to(device).eval()
        record = {"model": name, "n_vocab": model.config.vocab_size, "prompts": []}
        rows = []
        with torch.no_grad():
            for prompt in PROMPTS:
                ids = tok(prompt, add_special_tokens=False)["input_ids"]
                x = torch.tensor([ids], device=device)
                logits = model(x, use_cache=False).logits[0].float().cpu()
                rows.append(logits)
                seq = list(ids)
                for _ in range(N_GREEDY):
                    nxt = model(torch.tensor([seq], device=device), use_cache=False).logits[0, -1]
                    seq.append(int(torch.argmax(nxt)))
                record["prompts"].append({"text": prompt, "ids": ids, "greedy": seq[len(ids):]})
            all_ids = tok(text, add_special_tokens=False)["input_ids"]
            nll, count = 0.0, 0
            n_windows = len(all_ids) // PPL_CTX
            for w in range(n_windows):
                chunk = torch.tensor([all_ids[w * PPL_CTX:(w + 1) * PPL_CTX]], device=device)
                logits = model(chunk, use_cache=False).logits[0].double()
                logp = torch.log_softmax(logits[:-1], dim=-1)
                target = chunk[0, 1:]
                nll -= float(logp.gather(1, target[:, None]).sum())
                count += PPL_CTX - 1
            record["perplexity"] = {"ctx": PPL_CTX, "n_windows": n_windows, "n_tokens_text": len(all_ids),
                                    "scored": count, "value": math.exp(nll / count)}
        stacked = torch.cat(rows, 0).contiguous()
        record["logits_shape"] = list(stacked.shape)
        stacked.numpy().astype("<f4").tofile(os.path.join(out_dir, name + ".logits"))
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(record, f, indent=1)
        print(f"{name}: ppl {record['perplexity']['value']:.4f} over {count} tokens, "
              f"{stacked.shape[0]} logit rows, {time.time() - t0:.1f}s", flush=True)


if __name__ == "__main__":
    main()
