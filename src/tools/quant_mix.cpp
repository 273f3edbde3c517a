#include "tools/quant_mix.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>

#include "core/error.h"

namespace rf {
namespace {

bool contains(const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
}
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama_ftype values of the file types below.
enum Ftype : uint32_t {
    kQ2K = 10,
    kQ3KS = 11,
    kQ4KS = 14,
    kQ4KM = 15,
    kQ5KS = 16,
    kQ5KM = 17,
};

// llama.cpp's use_more_bits: the first and last eighth, and every third layer in between.
bool use_more_bits(int i, int n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

int layer_of(const std::string& name) {
    int il = -1;
    if (std::sscanf(name.c_str(), "blk.%d.", &il) != 1) return -1;
    return il;
}

// llama-quant.cpp tensor_get_category.
enum class Category {
    token_embd,
    attn_q,
    attn_v,
    attn_k,
    attn_qkv,
    attn_kv_b,
    attn_output,
    ffn_up,
    ffn_gate,
    ffn_down,
    output,
    other
};

Category category_of(const std::string& name) {
    if (name == "output.weight") return Category::output;
    if (name == "token_embd.weight" || name == "per_layer_token_embd.weight")
        return Category::token_embd;
    if (contains(name, "attn_qkv.weight")) return Category::attn_qkv;
    if (contains(name, "attn_kv_b.weight")) return Category::attn_kv_b;
    if (contains(name, "attn_v.weight")) return Category::attn_v;
    if (contains(name, "attn_k.weight")) return Category::attn_k;
    if (contains(name, "attn_q.weight")) return Category::attn_q;
    if (contains(name, "attn_output.weight")) return Category::attn_output;
    if (contains(name, "ffn_up")) return Category::ffn_up;
    if (contains(name, "ffn_gate")) return Category::ffn_gate;
    if (contains(name, "ffn_down")) return Category::ffn_down;
    return Category::other;
}

bool is_attn_v_like(Category c) {
    return c == Category::attn_v || c == Category::attn_qkv || c == Category::attn_kv_b;
}

}  // namespace

TensorType quant_fallback_type(TensorType t, int64_t ne0) {
    if (ne0 % block_size(t) == 0) return t;
    switch (t) {
        case TensorType::Q4_K:
            t = TensorType::Q5_0;
            break;
        case TensorType::Q5_K:
            t = TensorType::Q5_1;
            break;
        case TensorType::Q6_K:
            t = TensorType::Q8_0;
            break;
        case TensorType::Q2_K:
        case TensorType::Q3_K:
            t = TensorType::Q4_0;
            break;
        default:
            break;
    }
    return ne0 % block_size(t) == 0 ? t : TensorType::F16;
}

std::optional<QuantFileType> parse_quant_file_type(const std::string& raw) {
    std::string n(raw);
    std::transform(n.begin(), n.end(), n.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    struct Row {
        const char* name;
        TensorType base;
        bool mix;
        uint32_t ftype;
    };
    static const Row rows[] = {
        {"f32", TensorType::F32, false, 0},        {"f16", TensorType::F16, false, 1},
        {"bf16", TensorType::BF16, false, 32},     {"q4_0", TensorType::Q4_0, false, 2},
        {"q4_1", TensorType::Q4_1, false, 3},      {"q5_0", TensorType::Q5_0, false, 8},
        {"q5_1", TensorType::Q5_1, false, 9},      {"q8_0", TensorType::Q8_0, false, 7},
        {"q2_k", TensorType::Q2_K, false, kQ2K},   {"q3_k", TensorType::Q3_K, false, kQ3KS},
        {"q4_k", TensorType::Q4_K, false, kQ4KS},  {"q5_k", TensorType::Q5_K, false, kQ5KS},
        {"q6_k", TensorType::Q6_K, false, 18},     {"q4_k_m", TensorType::Q4_K, true, kQ4KM},
        {"q5_k_m", TensorType::Q5_K, true, kQ5KM},
    };
    for (const auto& r : rows)
        if (n == r.name) return QuantFileType{r.base, r.mix, n, r.ftype};
    return std::nullopt;
}

bool tensor_is_quantizable(const std::string& name, const std::vector<int64_t>& ne) {
    if (ne.size() < 2) return false;
    if (!ends_with(name, "weight")) return false;
    for (const char* never :
         {"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
          "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "attn_rel_b.weight"})
        if (contains(name, never)) return false;
    return name != "position_embd.weight" && name != "token_types.weight";
}

QuantMixPlanner::QuantMixPlanner(const QuantFileType& ft, const std::vector<QuantTensor>& tensors,
                                 int n_expert, int n_gqa) {
    types_.assign(tensors.size(), TensorType::F32);
    bool tied = true;  // until output.weight is seen
    int n_attention_wv = 0, n_layer = 0;
    for (const auto& t : tensors) {
        const Category c = category_of(t.name);
        if (is_attn_v_like(c)) ++n_attention_wv;
        if (c == Category::output) tied = false;
        n_layer = std::max(n_layer, layer_of(t.name) + 1);
    }
    const bool quantized =
        ft.base != TensorType::F32 && ft.base != TensorType::F16 && ft.base != TensorType::BF16;
    const uint32_t f = ft.gguf_file_type;

    // llama-quantize visits the tensors sorted by layer (non-layer tensors first), then name.
    std::vector<size_t> order(tensors.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
        return la != lb ? la < lb : tensors[a].name < tensors[b].name;
    });
    int i_attention_wv = 0, i_ffn_down = 0;
    for (size_t i : order) {
        const QuantTensor& t = tensors[i];
        if (!tensor_is_quantizable(t.name, t.ne)) continue;  // keeps its type (f32)
        TensorType type = ft.base;
        if (!quantized) {
            types_[i] = type;
            continue;
        }
        const Category c = category_of(t.name);
        if (c == Category::output || (tied && c == Category::token_embd)) {
            if (t.ne[0] % block_size(type) != 0)
                type = TensorType::Q8_0;
            else if (type != TensorType::Q8_0)
                type = TensorType::Q6_K;
        } else if (c == Category::token_embd) {
            // keeps the bulk type
        } else if (is_attn_v_like(c)) {
            if (f == kQ2K)
                type = n_gqa >= 4 ? TensorType::Q4_K : TensorType::Q3_K;
            else if ((f == kQ4KM || f == kQ5KM) && use_more_bits(i_attention_wv, n_attention_wv))
                type = TensorType::Q6_K;
            else if (f == kQ4KS && i_attention_wv < 4)
                type = TensorType::Q5_K;
            if (n_expert == 8) type = TensorType::Q8_0;
            ++i_attention_wv;
        } else if (c == Category::attn_k) {
            if (n_expert == 8) type = TensorType::Q8_0;
        } else if (c == Category::ffn_down) {
            // Dense models count ffn_down tensors; MoE models read the layer from the name.
            const int il = n_expert > 1 ? layer_of(t.name) : i_ffn_down;
            if (f == kQ2K)
                type = TensorType::Q3_K;
            else if ((f == kQ4KM || f == kQ5KM) && use_more_bits(il, n_layer))
                type = TensorType::Q6_K;
            else if (f == kQ4KS && il < n_layer / 8)
                type = TensorType::Q5_K;
            ++i_ffn_down;
        } else if (c == Category::attn_output) {
            if (n_expert == 8) {
                if (f == kQ2K || f == kQ3KS || f == kQ4KS || f == kQ4KM) type = TensorType::Q5_K;
            } else if (f == kQ2K) {
                type = TensorType::Q3_K;
            }
        }
        types_[i] = quant_fallback_type(type, t.ne[0]);
    }
}

}  // namespace rf
