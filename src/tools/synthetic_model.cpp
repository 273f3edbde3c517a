#include "tools/synthetic_model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <utility>

#include "core/error.h"
#include "formats/gguf/gguf_writer.h"
#include "tools/synthetic_blocks.h"

namespace rf {
namespace {

// Configurations from the models' config.json files on Hugging Face.
std::vector<SyntheticShape> make_shapes() {
    std::vector<SyntheticShape> s;
    // Qwen/Qwen2.5-0.5B: 24 layers, hidden 896, intermediate 4864, 14 / 2 heads (64 dims), vocab
    // 151936, tied embeddings, QKV bias, rope_theta 1e6.
    s.push_back({"qwen2.5-0.5b", "qwen2", 24, 896, 4864, 14, 2, 64, 151936, 32768, true, true,
                 false, 1e6f, 1e-6f});
    // Qwen/Qwen2.5-7B: 28 layers, hidden 3584, intermediate 18944, 28 / 4 heads (128 dims), vocab
    // 152064, untied, QKV bias, rope_theta 1e6.
    s.push_back({"qwen2.5-7b", "qwen2", 28, 3584, 18944, 28, 4, 128, 152064, 131072, false, true,
                 false, 1e6f, 1e-6f});
    // Qwen/Qwen3-8B: 36 layers, hidden 4096, intermediate 12288, 32 / 8 heads (128 dims), vocab
    // 151936, untied, q/k RMSNorm, no bias, rope_theta 1e6.
    s.push_back({"qwen3-8b", "qwen3", 36, 4096, 12288, 32, 8, 128, 151936, 40960, false, false,
                 true, 1e6f, 1e-6f});
    // Qwen/Qwen3-30B-A3B: 48 layers, hidden 2048, 128 experts of moe_intermediate_size 768 (8 per
    // token, norm_topk_prob), 32 / 4 heads (128 dims), vocab 151936, untied, q/k RMSNorm, rope_theta 1e6.
    s.push_back({"qwen3-30b-a3b", "qwen3moe", 48, 2048, 6144, 32, 4, 128, 151936, 40960, false, false,
                 true, 1e6f, 1e-6f, 128, 8, 768});
    // A small qwen2-style shape for tests (every K-quant fits its rows: 256 | 512 | 768).
    s.push_back(
        {"tiny", "qwen2", 2, 256, 768, 4, 2, 64, 512, 4096, true, true, false, 1e6f, 1e-6f});
    // Its qwen3moe counterpart: 8 experts of 256, 2 per token.
    s.push_back({"tiny-moe", "qwen3moe", 2, 256, 768, 4, 2, 64, 512, 4096, true, false, true, 1e6f, 1e-6f, 8, 2,
                 256});
    return s;
}

uint64_t name_hash(const std::string& s) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// MemAvailable from /proc/meminfo in bytes (0 when unknown).
uint64_t available_memory() {
    std::ifstream f("/proc/meminfo");
    std::string key;
    uint64_t kib = 0;
    std::string unit;
    while (f >> key >> kib >> unit)
        if (key == "MemAvailable:") return kib * 1024;
    return 0;
}

}  // namespace

const std::vector<SyntheticShape>& synthetic_shapes() {
    static const std::vector<SyntheticShape> shapes = make_shapes();
    return shapes;
}

const SyntheticShape& find_synthetic_shape(const std::string& name) {
    std::string known;
    for (const auto& s : synthetic_shapes()) {
        if (s.name == name) return s;
        known += (known.empty() ? "" : ", ") + s.name;
    }
    fail("synthetic model: unknown shape '{}' (known: {})", name, known);
}

std::vector<SyntheticTensor> synthetic_tensors(const SyntheticShape& s, const QuantFileType& ft) {
    const int64_t E = s.n_embd, F = s.n_ff, Q = int64_t{s.n_head} * s.head_dim,
                  KV = int64_t{s.n_head_kv} * s.head_dim;
    std::vector<QuantTensor> list;
    list.push_back({"token_embd.weight", {E, s.n_vocab}});
    for (int il = 0; il < s.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        list.push_back({p + "attn_norm.weight", {E}});
        list.push_back({p + "attn_q.weight", {E, Q}});
        list.push_back({p + "attn_k.weight", {E, KV}});
        list.push_back({p + "attn_v.weight", {E, KV}});
        if (s.qkv_bias) {
            list.push_back({p + "attn_q.bias", {Q}});
            list.push_back({p + "attn_k.bias", {KV}});
            list.push_back({p + "attn_v.bias", {KV}});
        }
        if (s.qk_norm) {
            list.push_back({p + "attn_q_norm.weight", {s.head_dim}});
            list.push_back({p + "attn_k_norm.weight", {s.head_dim}});
        }
        list.push_back({p + "attn_output.weight", {Q, E}});
        list.push_back({p + "ffn_norm.weight", {E}});
        if (s.n_expert > 0) {
            const int64_t X = s.n_expert, Fe = s.n_ff_exp;
            list.push_back({p + "ffn_gate_inp.weight", {E, X}});
            list.push_back({p + "ffn_gate_exps.weight", {E, Fe, X}});
            list.push_back({p + "ffn_up_exps.weight", {E, Fe, X}});
            list.push_back({p + "ffn_down_exps.weight", {Fe, E, X}});
        } else {
            list.push_back({p + "ffn_gate.weight", {E, F}});
            list.push_back({p + "ffn_up.weight", {E, F}});
            list.push_back({p + "ffn_down.weight", {F, E}});
        }
    }
    list.push_back({"output_norm.weight", {E}});
    if (!s.tied_embeddings) list.push_back({"output.weight", {E, s.n_vocab}});
    const QuantMixPlanner plan(ft, list, s.n_expert, s.n_head / s.n_head_kv);
    std::vector<SyntheticTensor> out;
    out.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i)
        out.push_back({list[i].name, list[i].ne, plan.type_for(i)});
    return out;
}

SyntheticModel::SyntheticModel(const std::string& spec, uint64_t seed) {
    const size_t colon = spec.rfind(':');
    RF_CHECK(colon != std::string::npos,
             "synthetic model '{}': expected SHAPE:TYPE (e.g. qwen2.5-0.5b:q4_0)", spec);
    shape_ = find_synthetic_shape(spec.substr(0, colon));
    const auto ft = parse_quant_file_type(spec.substr(colon + 1));
    RF_CHECK(
        ft.has_value(),
        "synthetic model '{}': unknown type '{}' (f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, "
        "q2_k, q3_k, q4_k, q5_k, q6_k, q4_k_m, q5_k_m)",
        spec, spec.substr(colon + 1));
    type_ = *ft;
    const auto tensors = synthetic_tensors(shape_, type_);

    GgufWriter w;
    const std::string a = shape_.arch + ".";
    w.set_string("general.architecture", shape_.arch);
    w.set_string("general.name", "synthetic " + description());
    w.set_u32("general.file_type", type_.gguf_file_type);
    w.set_u32(a + "block_count", static_cast<uint32_t>(shape_.n_layer));
    w.set_u32(a + "context_length", static_cast<uint32_t>(shape_.n_ctx_train));
    w.set_u32(a + "embedding_length", static_cast<uint32_t>(shape_.n_embd));
    w.set_u32(a + "feed_forward_length", static_cast<uint32_t>(shape_.n_ff));
    if (shape_.n_expert > 0) {
        w.set_u32(a + "expert_count", static_cast<uint32_t>(shape_.n_expert));
        w.set_u32(a + "expert_used_count", static_cast<uint32_t>(shape_.n_expert_used));
        w.set_u32(a + "expert_feed_forward_length", static_cast<uint32_t>(shape_.n_ff_exp));
    }
    w.set_u32(a + "attention.head_count", static_cast<uint32_t>(shape_.n_head));
    w.set_u32(a + "attention.head_count_kv", static_cast<uint32_t>(shape_.n_head_kv));
    w.set_u32(a + "attention.key_length", static_cast<uint32_t>(shape_.head_dim));
    w.set_u32(a + "attention.value_length", static_cast<uint32_t>(shape_.head_dim));
    w.set_f32(a + "attention.layer_norm_rms_epsilon", shape_.rms_eps);
    w.set_f32(a + "rope.freq_base", shape_.rope_base);

    for (const auto& t : tensors) {
        int64_t n = 1;
        for (int64_t d : t.ne) n *= d;
        file_bytes_ += row_size(t.type, t.ne[0]) * static_cast<size_t>(n / t.ne[0]);
        const uint64_t tseed = name_hash(t.name) ^ (seed * 0x9E3779B97F4A7C15ull);
        const bool is_vector = t.ne.size() == 1;
        const bool is_bias =
            t.name.size() > 5 && t.name.compare(t.name.size() - 5, 5, ".bias") == 0;
        const TensorType type = t.type;
        w.add_tensor(t.name, type, t.ne,
                     [type, tseed, is_vector, is_bias](uint8_t* dst, size_t nbytes) {
                         if (is_vector) {  // norms around 1, biases around 0 (f32)
                             fill_random_floats(reinterpret_cast<float*>(dst), nbytes / 4,
                                                is_bias ? 0.0f : 1.0f, 0.1f, tseed);
                         } else {
                             fill_random_blocks(type, dst, nbytes, tseed);
                         }
                     });
    }
    const uint64_t avail = available_memory();
    RF_CHECK(avail == 0 || file_bytes_ + file_bytes_ / 8 < avail,
             "synthetic model {}: needs {:.2f} GiB of memory, only {:.2f} GiB available",
             description(), file_bytes_ / 1073741824.0, avail / 1073741824.0);

    fd_ = memfd_create(("rocmforge-" + description()).c_str(), MFD_CLOEXEC);
    if (fd_ < 0)
        fail("synthetic model {}: memfd_create failed: {}", description(), std::strerror(errno));
    path_ = "/proc/self/fd/" + std::to_string(fd_);
    w.write_to_fd(fd_, path_);
}

SyntheticModel::~SyntheticModel() {
    if (fd_ >= 0) ::close(fd_);
}

SyntheticModel::SyntheticModel(SyntheticModel&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      path_(std::move(o.path_)),
      shape_(std::move(o.shape_)),
      type_(std::move(o.type_)),
      file_bytes_(o.file_bytes_) {}

}  // namespace rf
