#include "tools/quantize_model_synthetic.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "formats/gguf/gguf_writer.h"
#include "formats/quant/quantize.h"

namespace rf {
namespace {

// xorshift32 -> approximately normal values (sum of four uniforms), deterministic per seed.
void fill_normal(float* out, int64_t n, uint32_t seed, float mean, float std) {
    uint32_t x = seed * 2654435761u + 0x9e3779b9u;
    auto next = [&] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return static_cast<float>(x >> 8) / 16777216.0f;
    };
    // The sum of 4 uniforms on [0, 1) has mean 2 and variance 1/3.
    const float scale = std / std::sqrt(1.0f / 3.0f);
    for (int64_t i = 0; i < n; ++i)
        out[i] = mean + (next() + next() + next() + next() - 2.0f) * scale;
}

}  // namespace

void write_synthetic_model(const std::string& path, const SyntheticModelShape& s, TensorType type) {
    RF_CHECK(type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16,
             "synthetic model: type {} is not f32, f16 or bf16", type_name(type));
    RF_CHECK(
        s.n_head > 0 && s.n_head_kv > 0 && s.n_embd % s.n_head == 0 && s.n_head % s.n_head_kv == 0,
        "synthetic model: heads {} / {} do not divide n_embd {}", s.n_head, s.n_head_kv, s.n_embd);
    const int64_t head_dim = s.n_embd / s.n_head;
    const int64_t kv = s.n_head_kv * head_dim;
    GgufWriter w;
    w.set_string("general.architecture", "qwen2");
    w.set_string("general.type", "model");
    w.set_string("general.name", "Synthetic Qwen2");
    w.set_u32("qwen2.block_count", static_cast<uint32_t>(s.n_layer));
    w.set_u32("qwen2.context_length", 32768);
    w.set_u32("qwen2.embedding_length", static_cast<uint32_t>(s.n_embd));
    w.set_u32("qwen2.feed_forward_length", static_cast<uint32_t>(s.n_ff));
    w.set_u32("qwen2.attention.head_count", static_cast<uint32_t>(s.n_head));
    w.set_u32("qwen2.attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
    w.set_f32("qwen2.rope.freq_base", 1000000.0f);
    w.set_f32("qwen2.attention.layer_norm_rms_epsilon", 1e-6f);
    w.set_u32("general.file_type", type == TensorType::F32 ? 0 : type == TensorType::F16 ? 1 : 32);
    w.set_u32("general.quantization_version", 2);

    uint32_t seed = 1;
    auto add = [&](const std::string& name, std::vector<int64_t> ne, float mean, float std) {
        const TensorType t = ne.size() == 1 ? TensorType::F32 : type;
        const uint32_t my_seed = seed++;
        w.add_tensor(name, t, ne, [ne, t, mean, std, my_seed](uint8_t* dst, size_t) {
            const int64_t cols = ne[0];
            int64_t rows = 1;
            for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
            const size_t row_bytes = row_size(t, cols);
            std::vector<float> row(static_cast<size_t>(cols));
            for (int64_t r = 0; r < rows; ++r) {
                fill_normal(row.data(), cols, my_seed * 1000003u + static_cast<uint32_t>(r), mean,
                            std);
                quantize_row(t, row.data(), dst + r * row_bytes, cols);
            }
        });
    };
    add("token_embd.weight", {s.n_embd, s.n_vocab}, 0.0f, 0.02f);
    for (int64_t il = 0; il < s.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        add(p + "attn_norm.weight", {s.n_embd}, 1.0f, 0.05f);
        add(p + "ffn_down.weight", {s.n_ff, s.n_embd}, 0.0f, 0.02f);
        add(p + "ffn_gate.weight", {s.n_embd, s.n_ff}, 0.0f, 0.02f);
        add(p + "ffn_up.weight", {s.n_embd, s.n_ff}, 0.0f, 0.02f);
        add(p + "ffn_norm.weight", {s.n_embd}, 1.0f, 0.05f);
        add(p + "attn_k.bias", {kv}, 0.0f, 0.1f);
        add(p + "attn_k.weight", {s.n_embd, kv}, 0.0f, 0.02f);
        add(p + "attn_output.weight", {s.n_embd, s.n_embd}, 0.0f, 0.02f);
        add(p + "attn_q.bias", {s.n_embd}, 0.0f, 0.1f);
        add(p + "attn_q.weight", {s.n_embd, s.n_embd}, 0.0f, 0.02f);
        add(p + "attn_v.bias", {kv}, 0.0f, 0.1f);
        add(p + "attn_v.weight", {s.n_embd, kv}, 0.0f, 0.02f);
    }
    add("output_norm.weight", {s.n_embd}, 1.0f, 0.05f);
    if (!s.tied_embeddings) add("output.weight", {s.n_embd, s.n_vocab}, 0.0f, 0.02f);
    w.write(path);
}

}  // namespace rf
