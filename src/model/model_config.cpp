#include "model/model_config.h"

#include <cmath>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"

namespace rf {
namespace {

// Architectures this build runs, and whether their RoPE pairs dims NeoX-style.
struct ArchRope {
    const char* arch;
    bool neox;
};
constexpr ArchRope kArchs[] = {
    {"llama", false}, {"qwen2", true}, {"qwen3", true}, {"qwen3moe", true}, {"qwen35", true}, {"qwen35moe", true},
};

class KeyReader {
public:
    KeyReader(const GgufFile& f, std::string arch) : f_(f), arch_(std::move(arch)) {}

    std::string key(const char* name) const { return arch_ + "." + name; }

    int required_int(const char* name, int64_t min_value = 1) const {
        const std::string k = key(name);
        const int64_t v = f_.require_int(k);
        check_range(k, v, min_value);
        return static_cast<int>(v);
    }
    int optional_int(const char* name, int fallback, int64_t min_value = 0) const {
        const std::string k = key(name);
        const auto v = f_.get_int(k);
        if (!v) return fallback;
        check_range(k, *v, min_value);
        return static_cast<int>(*v);
    }
    float optional_float(const char* name, float fallback) const {
        const auto v = f_.get_float(key(name));
        return v ? static_cast<float>(*v) : fallback;
    }

private:
    void check_range(const std::string& k, int64_t v, int64_t min_value) const {
        RF_CHECK(v >= min_value && v <= (1 << 24), "gguf {}: key '{}' has value {}, expected {}..{}",
                 f_.path(), k, v, min_value, 1 << 24);
    }
    const GgufFile& f_;
    std::string arch_;
};

void read_rope(const GgufFile& f, const KeyReader& keys, bool neox, ModelConfig& c) {
    RopeParams& r = c.rope;
    r.neox = neox;
    r.n_rot = keys.optional_int("rope.dimension_count", c.head_dim, 2);
    RF_CHECK(r.n_rot % 2 == 0 && r.n_rot <= c.head_dim, "gguf {}: key '{}' = {} must be even and <= head dim {}",
             f.path(), keys.key("rope.dimension_count"), r.n_rot, c.head_dim);
    r.freq_base = keys.optional_float("rope.freq_base", 10000.0f);
    RF_CHECK(r.freq_base > 1.0f, "gguf {}: key '{}' = {} must be > 1", f.path(), keys.key("rope.freq_base"),
             r.freq_base);
    r.n_ctx_orig = keys.optional_int("rope.scaling.original_context_length", c.n_ctx_train);
    const auto type = f.get_string(keys.key("rope.scaling.type"));
    float factor = keys.optional_float("rope.scaling.factor", 0.0f);
    if (factor == 0.0f) {  // older files: rope.scale_linear
        const float linear = keys.optional_float("rope.scale_linear", 0.0f);
        if (linear > 0.0f) factor = linear;
    }
    if (!type || *type == "none") {
        if (factor > 0.0f && !type) r.freq_scale = 1.0f / factor;
        return;
    }
    RF_CHECK(factor > 0.0f, "gguf {}: rope scaling '{}' needs '{}' > 0 (got {})", f.path(), *type,
             keys.key("rope.scaling.factor"), factor);
    r.freq_scale = 1.0f / factor;
    if (*type == "linear") return;
    if (*type == "yarn") {
        r.ext_factor = keys.optional_float("rope.scaling.yarn_ext_factor", 1.0f);
        r.attn_factor = keys.optional_float("rope.scaling.attn_factor", 1.0f);
        r.beta_fast = keys.optional_float("rope.scaling.yarn_beta_fast", 32.0f);
        r.beta_slow = keys.optional_float("rope.scaling.yarn_beta_slow", 1.0f);
        return;
    }
    fail("gguf {}: key '{}' = '{}' is not supported (none, linear, yarn)", f.path(),
         keys.key("rope.scaling.type"), *type);
}

}  // namespace

int ModelConfig::n_attention_layers() const {
    int n = 0;
    for (int il = 0; il < n_layer; ++il) n += layer_kind(il) == LayerKind::Attention ? 1 : 0;
    return n;
}

size_t ModelConfig::recurrent_state_floats() const {
    const int n_linear = n_layer - n_attention_layers();
    if (n_linear == 0 || ssm_time_step_rank == 0) return 0;
    const int64_t channels = int64_t{2} * ssm_group_count * ssm_state_size + ssm_inner_size;
    const int64_t per_layer = int64_t{ssm_conv_kernel - 1} * channels +
                              int64_t{ssm_time_step_rank} * ssm_state_size * (ssm_inner_size / ssm_time_step_rank);
    return static_cast<size_t>(per_layer) * static_cast<size_t>(n_linear);
}

ModelConfig read_model_config(const GgufFile& f) {
    ModelConfig c;
    c.arch = f.require_string("general.architecture");
    c.name = f.get_string("general.name").value_or("");
    bool neox = true;
    bool known = false;
    for (const auto& a : kArchs) {
        if (c.arch == a.arch) {
            neox = a.neox;
            known = true;
        }
    }
    RF_CHECK(known, "gguf {}: architecture '{}' (general.architecture) is not supported; supported: llama, "
                    "qwen2, qwen3, qwen3moe, qwen35, qwen35moe",
             f.path(), c.arch);
    const KeyReader keys(f, c.arch);
    c.n_layer = keys.required_int("block_count");
    c.n_embd = keys.required_int("embedding_length");
    c.n_head = keys.required_int("attention.head_count");
    c.n_head_kv = keys.optional_int("attention.head_count_kv", c.n_head, 1);
    c.head_dim = keys.optional_int("attention.key_length", c.n_embd / c.n_head, 1);
    c.head_dim_v = keys.optional_int("attention.value_length", c.head_dim, 1);
    c.n_ctx_train = keys.optional_int("context_length", 4096, 1);
    c.rms_eps = keys.optional_float("attention.layer_norm_rms_epsilon", 1e-6f);
    c.pooling_type = keys.optional_int("pooling_type", -1, 0);
    RF_CHECK(c.n_head % c.n_head_kv == 0, "gguf {}: head_count {} is not a multiple of head_count_kv {}", f.path(),
             c.n_head, c.n_head_kv);
    RF_CHECK(c.rms_eps > 0.0f && c.rms_eps < 1.0f, "gguf {}: key '{}' = {} is out of range", f.path(),
             keys.key("attention.layer_norm_rms_epsilon"), c.rms_eps);

    c.n_expert = keys.optional_int("expert_count", 0);
    if (c.n_expert > 0) {
        c.n_expert_used = keys.required_int("expert_used_count");
        RF_CHECK(c.n_expert_used <= c.n_expert, "gguf {}: expert_used_count {} > expert_count {}", f.path(),
                 c.n_expert_used, c.n_expert);
        c.n_ff_exp = keys.required_int("expert_feed_forward_length");
        c.n_ff_shexp = keys.optional_int("expert_shared_feed_forward_length", 0);
        c.expert_weights_norm = f.get_bool(keys.key("expert_weights_norm")).value_or(true);
    } else {
        c.n_ff = keys.required_int("feed_forward_length");
    }

    if (c.arch == "qwen35" || c.arch == "qwen35moe") {
        c.full_attention_interval = keys.required_int("full_attention_interval");
        c.ssm_conv_kernel = keys.required_int("ssm.conv_kernel");
        c.ssm_state_size = keys.required_int("ssm.state_size");
        c.ssm_group_count = keys.required_int("ssm.group_count");
        c.ssm_time_step_rank = keys.required_int("ssm.time_step_rank");
        c.ssm_inner_size = keys.required_int("ssm.inner_size");
        RF_CHECK(c.ssm_time_step_rank % c.ssm_group_count == 0,
                 "gguf {}: ssm.time_step_rank {} is not a multiple of ssm.group_count {}", f.path(),
                 c.ssm_time_step_rank, c.ssm_group_count);
        c.layer_kinds.resize(static_cast<size_t>(c.n_layer));
        for (int il = 0; il < c.n_layer; ++il) {
            c.layer_kinds[static_cast<size_t>(il)] = (il + 1) % c.full_attention_interval == 0
                                                         ? LayerKind::Attention
                                                         : LayerKind::LinearAttention;
        }
    }
    read_rope(f, keys, neox, c);
    return c;
}

}  // namespace rf
