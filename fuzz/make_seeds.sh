#!/usr/bin/env bash
# Rebuilds the committed seed corpora in fuzz/corpus from the tiny models in ../shared and files
# our writer makes (each seed a few KB). Needs a normal build (build/) for the test tool:
#   ninja -C build rocmforge_format_test_tool && fuzz/make_seeds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tool=build/tests/rocmforge_format_test_tool
shared="${ROCMFORGE_SHARED_DIR:-$(cd .. && pwd)/shared}"
gguf_dir="$shared/models/llamacpp-gguf"
out=fuzz/corpus
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$out/gguf_reader" "$out/safetensors_header"
for a in 32 64; do
    "$tool" write-every-type "$tmp/every-type-a$a.gguf" "$a"
    "$tool" minimise-gguf "$tmp/every-type-a$a.gguf" "$out/gguf_reader/every-type-a$a-min.gguf" 100
done
"$tool" minimise-gguf "$gguf_dir/tiny-qwen3-llamacpp-q8_0.gguf" "$out/gguf_reader/tiny-qwen3-q8_0-min.gguf" 12
"$tool" minimise-gguf "$gguf_dir/tiny-qwen3-llamacpp-f16.gguf" "$out/gguf_reader/tiny-qwen3-f16-min.gguf" 6
"$tool" minimise-gguf "$gguf_dir/tiny-qwen35moe-llamacpp-q8_0.gguf" "$out/gguf_reader/tiny-qwen35moe-q8_0-min.gguf" 16
head -c 2048 "$gguf_dir/tiny-qwen3moe-llamacpp-q8_0.gguf" > "$out/gguf_reader/tiny-qwen3moe-q8_0-first-2k.gguf"

"$tool" minimise-safetensors "$shared/models/tiny-qwen3" "$out/safetensors_header/tiny-qwen3-min.safetensors" 10
"$tool" minimise-safetensors "$shared/models/tiny-qwen35moe" "$out/safetensors_header/tiny-qwen35moe-min.safetensors" 12
"$tool" every-dtype-safetensors "$out/safetensors_header/every-dtype.safetensors"
ls -l "$out"/*
