// The architecture table and the hyper-parameter keys every architecture shares (llama.cpp's
// TextModel and Qwen2MoeModel set_gguf_parameters, in their order).
#include "tools/hf_arch.h"

#include <array>
#include <cstdint>

#include "core/error.h"
#include "formats/gguf/gguf_writer.h"
#include "tools/hf_config.h"

namespace rf {
namespace {

// clang-format off
constexpr std::array<HfArchitecture, 5> kArchitectures = {{
    // hf_class                gguf_arch    qkv_bias qk_norm moe    shexp  hybrid zero_centered
    {"Qwen2ForCausalLM",       "qwen2",     true,    false,  false, false, false, false},
    {"Qwen3ForCausalLM",       "qwen3",     false,   true,   false, false, false, false},
    {"Qwen3MoeForCausalLM",    "qwen3moe",  false,   true,   true,  false, false, false},
    {"Qwen3_5ForCausalLM",     "qwen35",    false,   true,   false, false, true,  true},
    {"Qwen3_5MoeForCausalLM",  "qwen35moe", false,   true,   true,  true,  true,  true},
}};
// clang-format on

}  // namespace

const HfArchitecture* find_hf_architecture(std::string_view hf_class) {
    for (const HfArchitecture& a : kArchitectures)
        if (hf_class == a.hf_class) return &a;
    return nullptr;
}

std::string supported_hf_architectures() {
    std::string out;
    for (const HfArchitecture& a : kArchitectures) {
        if (!out.empty()) out += ", ";
        out += a.hf_class;
    }
    return out;
}

HfHparams read_hf_hparams(const HfConfig& c, const HfArchitecture& arch) {
    HfHparams hp;
    hp.n_layer = c.require_positive_int("num_hidden_layers");
    hp.n_embd = c.require_positive_int("hidden_size");
    hp.n_vocab = c.require_positive_int("vocab_size");
    hp.n_head = c.require_positive_int("num_attention_heads");
    hp.n_head_kv =
        c.has("num_key_value_heads") ? c.require_positive_int("num_key_value_heads") : hp.n_head;
    if (hp.n_head % hp.n_head_kv != 0)
        c.fail_field("num_key_value_heads",
                     fmt::format("is {}, which does not divide num_attention_heads {}",
                                 hp.n_head_kv, hp.n_head));
    if (c.has("head_dim")) {
        hp.head_dim = c.require_positive_int("head_dim");
    } else {
        if (hp.n_embd % hp.n_head != 0)
            c.fail_field("hidden_size", fmt::format("is {}, not a multiple of num_attention_heads "
                                                    "{} (and config.json has no head_dim)",
                                                    hp.n_embd, hp.n_head));
        hp.head_dim = hp.n_embd / hp.n_head;
    }
    hp.tied_embeddings = c.get_bool("tie_word_embeddings").value_or(false);
    if (!arch.moe || c.has("intermediate_size")) {
        hp.n_ff = arch.moe ? c.get_int({"intermediate_size"}).value_or(0)
                           : c.require_positive_int("intermediate_size");
    }
    if (arch.moe) {
        const char* n_expert_key = c.has("num_local_experts") ? "num_local_experts" : "num_experts";
        hp.n_expert = c.require_positive_int(n_expert_key);
        hp.n_expert_used = c.require_positive_int("num_experts_per_tok");
        if (hp.n_expert_used > hp.n_expert)
            c.fail_field("num_experts_per_tok", fmt::format("is {}, more than the {} experts",
                                                            hp.n_expert_used, hp.n_expert));
        hp.n_ff_expert = c.require_positive_int("moe_intermediate_size");
        // Layers without experts would need per-layer tensor lists; no Qwen MoE release has them.
        if (const nlohmann::json* only = c.find("mlp_only_layers");
            only != nullptr && !(only->is_array() && only->empty()))
            c.fail_field("mlp_only_layers", "is " + only->dump() +
                                                ": dense layers inside a MoE model are not "
                                                "supported");
        if (const auto step = c.get_int({"decoder_sparse_step"}); step && *step != 1)
            c.fail_field("decoder_sparse_step",
                         fmt::format("is {}: only 1 (experts in every layer) is supported", *step));
    }
    if (arch.shared_expert)
        hp.n_ff_shexp = c.require_positive_int("shared_expert_intermediate_size");
    hp.layer_is_linear.assign(static_cast<size_t>(hp.n_layer), false);
    if (arch.hybrid) read_qwen35_hparams(c, hp);
    return hp;
}

void write_gguf_hparams(const HfConfig& c, const HfArchitecture& arch, const HfHparams& hp,
                        uint32_t file_type, GgufWriter& w) {
    const std::string a = arch.gguf_arch;
    auto u32 = [&](const std::string& key, int64_t v) {
        if (v < 0 || v > int64_t{UINT32_MAX})
            fail("convert: {}: the value {} for GGUF key '{}.{}' does not fit 32 bits", c.path(), v, a, key);
        w.set_u32(a + "." + key, static_cast<uint32_t>(v));
    };
    // TextModel.set_gguf_parameters
    u32("block_count", hp.n_layer);
    if (auto v = c.get_int({"max_position_embeddings", "n_ctx", "n_positions", "max_length",
                            "max_sequence_length", "model_max_length"}))
        u32("context_length", *v);
    u32("embedding_length", hp.n_embd);
    if (auto v = c.get_int({"intermediate_size", "n_inner", "hidden_dim"}))
        u32("feed_forward_length", *v);
    u32("attention.head_count", hp.n_head);
    if (c.has("num_key_value_heads")) u32("attention.head_count_kv", hp.n_head_kv);
    if (c.get_bool("is_causal") == false) w.set_bool(a + ".attention.causal", false);

    // rope_parameters (transformers >= 5) or rope_scaling, with rope_theta mirrored into it.
    nlohmann::json rope = nlohmann::json::object();
    // (null is how configs say "none"; any other non-object is a broken file)
    for (const char* key : {"rope_parameters", "rope_scaling"})
        if (const nlohmann::json* r = c.find(key); r != nullptr && !r->is_null() && !r->is_object())
            c.fail_field(key, "is " + r->dump() + ", expected an object (or null)");
    if (const nlohmann::json* r = c.find("rope_parameters"); r != nullptr && r->is_object())
        rope = *r;
    else if (const nlohmann::json* s = c.find("rope_scaling"); s != nullptr && s->is_object())
        rope = *s;
    if (!rope.contains("rope_theta"))
        if (auto theta = c.get_float({"rope_theta", "rotary_emb_base"}))
            rope["rope_theta"] = *theta;
    if (!rope.contains("rope_type") && rope.contains("type")) rope["rope_type"] = rope["type"];
    auto rope_number = [&](const char* key) -> std::optional<double> {
        if (!rope.contains(key) || rope[key].is_null()) return std::nullopt;
        if (!rope[key].is_number())
            c.fail_field(std::string("rope_parameters.") + key,
                         "is " + rope[key].dump() + ", expected a number");
        return rope[key].get<double>();
    };
    if (rope.contains("rope_type") && rope["rope_type"].is_string()) {
        const std::string type = rope["rope_type"].get<std::string>();
        const auto factor = rope_number("factor");
        if ((type == "linear" || type == "yarn") && factor) {
            w.set_string(a + ".rope.scaling.type", type);
            w.set_f32(a + ".rope.scaling.factor", static_cast<float>(*factor));
            if (type == "yarn") {
                const auto orig = rope_number("original_max_position_embeddings");
                if (!orig)
                    c.fail_field("rope_parameters.original_max_position_embeddings",
                                 "is missing (yarn rope scaling needs it)");
                u32("rope.scaling.original_context_length", static_cast<int64_t>(*orig));
                if (auto v = rope_number("extrapolation_factor"))
                    w.set_f32(a + ".rope.scaling.yarn_ext_factor", static_cast<float>(*v));
                auto attn = rope_number("attention_factor");
                if (!attn) attn = rope_number("attn_factor");
                if (attn)
                    w.set_f32(a + ".rope.scaling.yarn_attn_factor", static_cast<float>(*attn));
                if (auto v = rope_number("beta_fast"))
                    w.set_f32(a + ".rope.scaling.yarn_beta_fast", static_cast<float>(*v));
                if (auto v = rope_number("beta_slow"))
                    w.set_f32(a + ".rope.scaling.yarn_beta_slow", static_cast<float>(*v));
            }
        }
    }
    if (rope.contains("mrope_section") && rope["mrope_section"].is_array()) {
        std::vector<int32_t> sections;
        for (const auto& s : rope["mrope_section"]) sections.push_back(s.get<int32_t>());
        while (sections.size() < 4) sections.push_back(0);
        sections.resize(4);
        w.set_i32_array(a + ".rope.dimension_sections", sections);
    }
    if (auto theta = rope_number("rope_theta"))
        w.set_f32(a + ".rope.freq_base", static_cast<float>(*theta));
    if (auto eps = c.get_float({"rms_norm_eps", "norm_eps"}))
        w.set_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(*eps));
    if (auto v = c.get_int({"num_local_experts", "num_experts"})) u32("expert_count", *v);
    if (auto v = c.get_int({"num_experts_per_tok", "num_experts_per_token", "top_k_experts"}))
        u32("expert_used_count", *v);
    if (c.has("head_dim")) {
        u32("attention.key_length", hp.head_dim);
        u32("attention.value_length", hp.head_dim);
    }
    w.set_u32("general.file_type", file_type);

    // Qwen2MoeModel.set_gguf_parameters (also the base of the Qwen3.5 classes)
    if (arch.moe || arch.hybrid) {
        if (auto v = c.get_int({"moe_intermediate_size"})) u32("expert_feed_forward_length", *v);
        if (auto v = c.get_int({"shared_expert_intermediate_size"}))
            u32("expert_shared_feed_forward_length", *v);
    }
    if (arch.hybrid) write_qwen35_hparams(c, arch, hp, w);
}

}  // namespace rf
