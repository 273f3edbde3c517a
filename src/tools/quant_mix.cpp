#include "tools/quant_mix.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "core/error.h"

namespace rf {
namespace {

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }
bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// llama.cpp's use_more_bits: the first and last eighth, and every third layer in between.
bool use_more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

TensorType fallback_for_row(TensorType t, int64_t ne0) {
    if (ne0 % block_size(t) == 0) return t;
    switch (t) {
        case TensorType::Q4_K: t = TensorType::Q5_0; break;
        case TensorType::Q5_K: t = TensorType::Q5_1; break;
        case TensorType::Q6_K: t = TensorType::Q8_0; break;
        case TensorType::Q2_K:
        case TensorType::Q3_K: t = TensorType::Q4_0; break;
        default: break;
    }
    return ne0 % block_size(t) == 0 ? t : TensorType::F16;
}

int layer_of(const std::string& name) {
    int il = -1;
    if (std::sscanf(name.c_str(), "blk.%d.", &il) != 1) return -1;
    return il;
}

}  // namespace

std::optional<QuantFileType> parse_quant_file_type(const std::string& raw) {
    std::string n(raw);
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    struct Row {
        const char* name;
        TensorType base;
        bool mix;
        uint32_t ftype;
    };
    static const Row rows[] = {
        {"f32", TensorType::F32, false, 0},    {"f16", TensorType::F16, false, 1},
        {"bf16", TensorType::BF16, false, 32}, {"q4_0", TensorType::Q4_0, false, 2},
        {"q4_1", TensorType::Q4_1, false, 3},  {"q5_0", TensorType::Q5_0, false, 8},
        {"q5_1", TensorType::Q5_1, false, 9},  {"q8_0", TensorType::Q8_0, false, 7},
        {"q2_k", TensorType::Q2_K, false, 10}, {"q3_k", TensorType::Q3_K, false, 11},
        {"q4_k", TensorType::Q4_K, false, 14}, {"q5_k", TensorType::Q5_K, false, 16},
        {"q6_k", TensorType::Q6_K, false, 18}, {"q4_k_m", TensorType::Q4_K, true, 15},
        {"q5_k_m", TensorType::Q5_K, true, 17},
    };
    for (const auto& r : rows)
        if (n == r.name) return QuantFileType{r.base, r.mix, n, r.ftype};
    return std::nullopt;
}

bool tensor_is_quantizable(const std::string& name, const std::vector<int64_t>& ne) {
    if (ne.size() < 2) return false;
    if (!ends_with(name, ".weight")) return false;
    if (ends_with(name, "_norm.weight")) return false;
    if (contains(name, "ffn_gate_inp")) return false;  // MoE router (and the shared-expert gate)
    if (contains(name, "ssm_conv1d") || contains(name, "ssm_a") || contains(name, "ssm_dt")) return false;
    return true;
}

QuantMixPlanner::QuantMixPlanner(const QuantFileType& ft, const std::vector<QuantTensor>& tensors, int n_expert) {
    const bool has_output = std::any_of(tensors.begin(), tensors.end(),
                                        [](const QuantTensor& t) { return t.name == "output.weight"; });
    int n_attention_wv = 0, n_layer = 0;
    for (const auto& t : tensors) {
        if (contains(t.name, "attn_v.weight")) ++n_attention_wv;
        n_layer = std::max(n_layer, layer_of(t.name) + 1);
    }
    int i_attention_wv = 0;
    const bool float_file = ft.base == TensorType::F32 || ft.base == TensorType::F16 || ft.base == TensorType::BF16;
    types_.reserve(tensors.size());
    for (const auto& t : tensors) {
        if (!tensor_is_quantizable(t.name, t.ne)) {
            types_.push_back(TensorType::F32);
            continue;
        }
        TensorType type = ft.base;
        if (float_file) {
            types_.push_back(type);
            continue;
        }
        const int il = layer_of(t.name);
        if (t.name == "output.weight" || (!has_output && t.name == "token_embd.weight")) {
            if (type != TensorType::Q8_0) type = TensorType::Q6_K;
        } else if (t.name == "token_embd.weight") {
            // stays at the bulk type
        } else if (contains(t.name, "attn_v.weight")) {
            if (ft.k_mix && use_more_bits(i_attention_wv, n_attention_wv)) type = TensorType::Q6_K;
            if (n_expert == 8) type = TensorType::Q8_0;
            ++i_attention_wv;
        } else if (contains(t.name, "attn_k.weight")) {
            if (n_expert == 8) type = TensorType::Q8_0;
        } else if (contains(t.name, "ffn_down")) {
            if (ft.k_mix && il >= 0 && use_more_bits(il, n_layer)) type = TensorType::Q6_K;
        } else if (contains(t.name, "attn_output.weight")) {
            if (n_expert == 8 && ft.name == "q4_k_m") type = TensorType::Q5_K;
        } else if (contains(t.name, "attn_qkv.weight")) {
            if (ft.name == "q4_k_m") type = TensorType::Q5_K;
            if (ft.name == "q5_k_m") type = TensorType::Q6_K;
        }
        types_.push_back(fallback_for_row(type, t.ne[0]));
    }
}

}  // namespace rf
