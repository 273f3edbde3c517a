// Ground truth from the llama.cpp ecosystem: tiny-qwen3-llamacpp-q8_0.gguf was written by
// llama.cpp's converter from the same bf16 weights as tiny-qwen3/model.safetensors. Quantizing
// those weights to Q8_0 here must reproduce every byte of every Q8_0 tensor of that file, on
// every SIMD path.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "formats/quant/quantize.h"
#include "formats_quant_test_util.h"
#include "test_paths.h"

namespace rf {
namespace {

// GGUF tensor name -> Hugging Face tensor name (Qwen3 dense; no permutations for this arch).
std::string hf_name(const std::string& gguf) {
    if (gguf == "token_embd.weight") return "model.embed_tokens.weight";
    static const std::map<std::string, std::string> kSuffix = {
        {"ffn_down.weight", "mlp.down_proj.weight"},
        {"ffn_gate.weight", "mlp.gate_proj.weight"},
        {"ffn_up.weight", "mlp.up_proj.weight"},
        {"attn_q.weight", "self_attn.q_proj.weight"},
        {"attn_k.weight", "self_attn.k_proj.weight"},
        {"attn_v.weight", "self_attn.v_proj.weight"},
        {"attn_output.weight", "self_attn.o_proj.weight"}};
    const auto dot = gguf.find('.', 4);  // "blk.N."
    if (gguf.rfind("blk.", 0) != 0 || dot == std::string::npos) return {};
    const auto it = kSuffix.find(gguf.substr(dot + 1));
    if (it == kSuffix.end()) return {};
    return "model.layers." + gguf.substr(4, dot - 4) + "." + it->second;
}

TEST(FormatsQuantLlamaCpp, Q8_0MatchesLlamaCppConverterByteForByte) {
    RF_REQUIRE_SHARED();
    const auto gguf = test::shared_dir() / "models/llamacpp-gguf/tiny-qwen3-llamacpp-q8_0.gguf";
    const auto safetensors = test::shared_dir() / "models/tiny-qwen3/model.safetensors";
    const auto directory = test::read_gguf_directory(gguf);

    test::IsaGuard guard;
    int n_tensors = 0;
    for (const auto& [name, entry] : directory) {
        if (entry.type != static_cast<uint32_t>(TensorType::Q8_0)) continue;
        SCOPED_TRACE(name);
        const std::string hf = hf_name(name);
        ASSERT_FALSE(hf.empty()) << "no Hugging Face name for " << name;
        std::vector<int64_t> shape;
        const auto weights = test::read_safetensors_bf16(safetensors, hf, &shape);
        ASSERT_EQ(entry.dims.size(), 2u);
        const int64_t n_per_row = entry.dims[0], n_rows = entry.dims[1];
        ASSERT_EQ(static_cast<int64_t>(weights.size()), n_per_row * n_rows);
        const size_t bytes = static_cast<size_t>(n_rows) * row_size(TensorType::Q8_0, n_per_row);
        const auto expected = test::read_bytes(gguf, entry.file_offset, bytes);
        for (quant::QuantIsa isa : test::available_isas()) {
            quant::set_quant_isa(isa);
            std::vector<uint8_t> ours(bytes);
            ASSERT_EQ(
                quantize_rows(TensorType::Q8_0, weights.data(), ours.data(), n_rows, n_per_row),
                bytes);
            size_t first_diff = bytes;
            for (size_t k = 0; k < bytes && first_diff == bytes; ++k)
                if (ours[k] != expected[k]) first_diff = k;
            EXPECT_EQ(first_diff, bytes)
                << "first differing byte, " << quant::quant_isa_name(isa) << " path";
        }
        ++n_tensors;
    }
    EXPECT_EQ(n_tensors, 43);  // token_embd + 6 layers x 7 matrices
}

}  // namespace
}  // namespace rf
