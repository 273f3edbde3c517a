#!/usr/bin/env python3
"""Writes a Qwen2.5-shaped F16 GGUF with pseudo-random weights, through llama.cpp's own gguf-py,
for timing llama.cpp (llama-quantize, then llama-bench) on the same shapes as
`rocmforge bench --synthetic qwen2.5-7b:TYPE` (src/tools/synthetic_model.cpp).

Usage: PYTHONPATH=LLAMA_CPP/gguf-py llamacpp_synthetic_qwen2.py SHAPE TOKENIZER_GGUF OUT.gguf
  SHAPE            qwen2.5-0.5b or qwen2.5-7b
  TOKENIZER_GGUF   any llama.cpp conversion of a Qwen model: its gpt2/qwen2 tokenizer is copied and
                   padded with "[PAD<i>]" tokens to the shape's vocabulary (as Qwen2.5's own files are)

Weights: N(0, 0.02) in f16 (norms 1, biases 0.02 N(0,1)), drawn once into a 128M-value pool that
every tensor takes a window of: the values do not matter for speed, only the shapes and types do.
"""
import sys

import numpy as np
import gguf

SHAPES = {
    # name: (layers, n_embd, n_ff, heads, kv_heads, vocab, context, tied)
    "qwen2.5-0.5b": (24, 896, 4864, 14, 2, 151936, 32768, True),
    "qwen2.5-7b": (28, 3584, 18944, 28, 4, 152064, 131072, False),
}


def tokenizer_fields(path):
    """(tokens, token types, merges, bos, eos) of a llama.cpp Qwen conversion."""
    r = gguf.GGUFReader(path)

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def scalar(key):
        f = r.fields[key]
        return int(f.parts[f.data[0]][0])

    types = [int(r.fields["tokenizer.ggml.token_type"].parts[i][0])
             for i in r.fields["tokenizer.ggml.token_type"].data]
    return (strings("tokenizer.ggml.tokens"), types, strings("tokenizer.ggml.merges"),
            scalar("tokenizer.ggml.bos_token_id"), scalar("tokenizer.ggml.eos_token_id"))


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in SHAPES:
        sys.exit(__doc__)
    shape, tok_path, out = sys.argv[1:]
    n_layer, n_embd, n_ff, n_head, n_kv, n_vocab, n_ctx, tied = SHAPES[shape]
    head_dim = n_embd // n_head

    tokens, types, merges, bos, eos = tokenizer_fields(tok_path)
    if len(tokens) > n_vocab:
        sys.exit(f"{tok_path}: tokenizer.ggml.tokens has {len(tokens)} entries, more than {shape}'s vocabulary {n_vocab}")
    pad = n_vocab - len(tokens)
    tokens += [f"[PAD{i}]" for i in range(pad)]
    types += [gguf.TokenType.UNUSED] * pad

    w = gguf.GGUFWriter(out, "qwen2")
    w.add_name(f"synthetic {shape}")
    w.add_context_length(n_ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_kv)
    w.add_rope_freq_base(1e6)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(eos)

    pool = (np.random.default_rng(1).standard_normal(1 << 27, dtype=np.float32) * 0.02).astype(np.float16)
    count = [0]

    def weights(rows, cols):
        # rows x cols f16: a window of the pool (a view: the writer reads it when it writes), a
        # different window per tensor; larger tensors (the embedding, the output) repeat the pool.
        n = rows * cols
        count[0] += 1
        if n > pool.size:
            return np.resize(pool, n).reshape(rows, cols)
        start = (count[0] * 7_919_003) % (pool.size - n + 1)
        return pool[start:start + n].reshape(rows, cols)

    ones = lambda n: np.ones(n, dtype=np.float32)
    bias = lambda n: weights(1, n).reshape(n).astype(np.float32)

    w.add_tensor("token_embd.weight", weights(n_vocab, n_embd))
    for i in range(n_layer):
        b = f"blk.{i}."
        w.add_tensor(b + "attn_norm.weight", ones(n_embd))
        w.add_tensor(b + "attn_q.weight", weights(n_head * head_dim, n_embd))
        w.add_tensor(b + "attn_q.bias", bias(n_head * head_dim))
        w.add_tensor(b + "attn_k.weight", weights(n_kv * head_dim, n_embd))
        w.add_tensor(b + "attn_k.bias", bias(n_kv * head_dim))
        w.add_tensor(b + "attn_v.weight", weights(n_kv * head_dim, n_embd))
        w.add_tensor(b + "attn_v.bias", bias(n_kv * head_dim))
        w.add_tensor(b + "attn_output.weight", weights(n_embd, n_head * head_dim))
        w.add_tensor(b + "ffn_norm.weight", ones(n_embd))
        w.add_tensor(b + "ffn_gate.weight", weights(n_ff, n_embd))
        w.add_tensor(b + "ffn_up.weight", weights(n_ff, n_embd))
        w.add_tensor(b + "ffn_down.weight", weights(n_embd, n_ff))
    w.add_tensor("output_norm.weight", ones(n_embd))
    if not tied:
        w.add_tensor("output.weight", weights(n_vocab, n_embd))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
