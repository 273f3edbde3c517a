// Qwen3.5 / Qwen3.6 text models (qwen35, qwen35moe): Gated DeltaNet layers with a gated full
// attention layer every full_attention_interval layers. llama.cpp's Qwen3NextModel and the
// Qwen3.5 mixins write these keys after the shared ones:
//
//   <arch>.ssm.conv_kernel            linear_conv_kernel_dim
//   <arch>.ssm.state_size             linear_key_head_dim
//   <arch>.ssm.group_count            linear_num_key_heads
//   <arch>.ssm.time_step_rank         linear_num_value_heads
//   <arch>.ssm.inner_size             linear_value_head_dim * linear_num_value_heads
//   <arch>.full_attention_interval    full_attention_interval (default 4)
//   <arch>.rope.dimension_count       int(head_dim * partial_rotary_factor (default 0.25))
//   <arch>.rope.dimension_sections    [11, 11, 10, 0] unless rope_parameters has mrope_section
//
// The GGUF keeps only the interval, so a config.json layer_types list must follow it.
#include <fmt/format.h>

#include "formats/gguf/gguf_writer.h"
#include "tools/hf_arch.h"
#include "tools/hf_config.h"

namespace rf {

namespace {

int64_t full_attention_interval(const HfConfig& c) {
    const int64_t v = c.get_int({"full_attention_interval"}).value_or(4);
    if (v <= 0)
        c.fail_field("full_attention_interval",
                     fmt::format("is {}, expected a positive integer", v));
    return v;
}

const nlohmann::json* rope_parameters(const HfConfig& c) {
    for (const char* key : {"rope_parameters", "rope_scaling"})
        if (const nlohmann::json* r = c.find(key); r != nullptr && r->is_object()) return r;
    return nullptr;
}

}  // namespace

void read_qwen35_hparams(const HfConfig& c, HfHparams& hp) {
    hp.ssm_n_k_heads = c.require_positive_int("linear_num_key_heads");
    hp.ssm_n_v_heads = c.require_positive_int("linear_num_value_heads");
    hp.ssm_k_head_dim = c.require_positive_int("linear_key_head_dim");
    hp.ssm_v_head_dim = c.require_positive_int("linear_value_head_dim");
    hp.ssm_conv_kernel = c.require_positive_int("linear_conv_kernel_dim");
    if (hp.ssm_n_v_heads % hp.ssm_n_k_heads != 0)
        c.fail_field("linear_num_value_heads",
                     fmt::format("is {}, not a multiple of linear_num_key_heads {}",
                                 hp.ssm_n_v_heads, hp.ssm_n_k_heads));
    hp.attn_output_gate = c.get_bool("attn_output_gate").value_or(true);

    const int64_t interval = full_attention_interval(c);
    for (int64_t il = 0; il < hp.n_layer; ++il) hp.layer_is_linear[il] = (il + 1) % interval != 0;
    if (const nlohmann::json* types = c.find("layer_types")) {
        if (!types->is_array() || static_cast<int64_t>(types->size()) != hp.n_layer)
            c.fail_field("layer_types", fmt::format("is {}, expected a list of {} layer types",
                                                    types->dump(), hp.n_layer));
        for (int64_t il = 0; il < hp.n_layer; ++il) {
            const nlohmann::json& t = (*types)[il];
            const bool linear = t == "linear_attention";
            if (!linear && t != "full_attention")
                c.fail_field("layer_types", fmt::format("[{}] is {}, expected \"linear_attention\" "
                                                        "or \"full_attention\"",
                                                        il, t.dump()));
            if (linear != hp.layer_is_linear[il])
                c.fail_field("layer_types",
                             fmt::format("[{}] is {}, but full_attention_interval {} makes layer "
                                         "{} {} (GGUF keeps only the interval)",
                                         il, t.dump(), interval, il,
                                         hp.layer_is_linear[il] ? "linear" : "full attention"));
        }
    }
}

void write_qwen35_hparams(const HfConfig& c, const HfArchitecture& arch, const HfHparams& hp,
                          GgufWriter& w) {
    const std::string a = arch.gguf_arch;
    auto u32 = [&](const char* key, int64_t v) {
        w.set_u32(a + "." + key, static_cast<uint32_t>(v));
    };
    u32("ssm.conv_kernel", hp.ssm_conv_kernel);
    u32("ssm.state_size", hp.ssm_k_head_dim);
    u32("ssm.group_count", hp.ssm_n_k_heads);
    u32("ssm.time_step_rank", hp.ssm_n_v_heads);
    u32("ssm.inner_size", hp.ssm_v_head_dim * hp.ssm_n_v_heads);
    u32("full_attention_interval", full_attention_interval(c));

    const nlohmann::json* rope = rope_parameters(c);
    double partial = 0.25;
    if (auto v = c.get_float({"partial_rotary_factor"})) {
        partial = *v;
    } else if (rope != nullptr && rope->contains("partial_rotary_factor") &&
               (*rope)["partial_rotary_factor"].is_number()) {
        partial = (*rope)["partial_rotary_factor"].get<double>();
    }
    u32("rope.dimension_count", static_cast<int64_t>(static_cast<double>(hp.head_dim) * partial));
    if (rope == nullptr || !rope->contains("mrope_section"))
        w.set_i32_array(a + ".rope.dimension_sections", {11, 11, 10, 0});
}

}  // namespace rf
