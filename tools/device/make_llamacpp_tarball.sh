#!/usr/bin/env bash
# Prepares .carry/llama.cpp.tar.xz for tools/device/llamacpp_compare.sh: llama.cpp's source as the
# node-llama-cpp npm package bundles it (llama/gitRelease.bundle, a git bundle of one llama.cpp
# release: npm is the registry this machine reaches), without the parts a CUDA build of llama-bench
# and llama-quantize does not read (other backends, docs, models). ~5 MB.
#   tools/device/make_llamacpp_tarball.sh [node-llama-cpp version, default 3.22.1]
set -euo pipefail
cd "$(dirname "$0")/../.."
version="${1:-3.22.1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "node-llama-cpp@$version" >/dev/null &&
    tar xzf "node-llama-cpp-$version.tgz" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json)
git clone -q "$tmp/package/llama/gitRelease.bundle" "$tmp/llama.cpp" 2>/dev/null
mkdir -p .carry
tar cJf .carry/llama.cpp.tar.xz -C "$tmp/llama.cpp" --exclude=.git --exclude=./models --exclude=./media \
    --exclude=./docs --exclude=./tools/ui --exclude=./ggml/src/ggml-sycl --exclude=./ggml/src/ggml-vulkan \
    --exclude=./ggml/src/ggml-opencl --exclude=./ggml/src/ggml-hexagon --exclude=./ggml/src/ggml-metal \
    --exclude=./ggml/src/ggml-cann --exclude=./ggml/src/ggml-webgpu --exclude=./ggml/src/ggml-openvino .
echo "ready: .carry/llama.cpp.tar.xz ($(du -h .carry/llama.cpp.tar.xz | cut -f1)), llama.cpp $(cat "$tmp/package/llama/llama.cpp.info.json" | tr -d '\n ') commit $(git -C "$tmp/llama.cpp" rev-parse --short HEAD)"
