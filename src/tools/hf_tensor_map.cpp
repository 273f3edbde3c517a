// clang-format off
// The tensor table of `rocmforge convert hf` (the facts come from llama.cpp's gguf-py
// tensor_mapping.py and convert_hf_to_gguf.py; Hugging Face shapes are PyTorch order, outermost
// first; GGUF ne is the reverse):
//
//   Hugging Face (model.layers.<i>. prefix)  GGUF (blk.<i>. prefix)      transform
//   model.embed_tokens.weight              token_embd.weight
//   model.norm.weight                      output_norm.weight            1 + w (qwen35*)
//   lm_head.weight                         output.weight                 (absent when tied)
//   input_layernorm.weight                 attn_norm.weight              1 + w (qwen35*)
//   post_attention_layernorm.weight        ffn_norm.weight               (qwen2, qwen3, qwen3moe)
//                                          post_attention_norm.weight    1 + w (qwen35*)
//   self_attn.{q,k,v}_proj.{weight,bias}   attn_{q,k,v}.{weight,bias}    qwen35*: q_proj rows are
//                                                                        per head [q(head_dim),
//                                                                        gate(head_dim)], kept
//   self_attn.o_proj.weight                attn_output.weight
//   self_attn.{q,k}_norm.weight            attn_{q,k}_norm.weight        1 + w (qwen35*)
//   mlp.{gate,up,down}_proj.weight         ffn_{gate,up,down}.weight
//   mlp.gate.weight                        ffn_gate_inp.weight           (router)
//   mlp.experts.<x>.{gate,up,down}_proj.weight  ffn_{gate,up,down}_exps.weight  stacked [n_expert,..]
//   mlp.experts.gate_up_proj (fused)       ffn_gate_exps + ffn_up_exps   split rows [gate; up]
//   mlp.experts.down_proj (fused)          ffn_down_exps.weight
//   mlp.shared_expert.{gate,up,down}_proj.weight  ffn_{gate,up,down}_shexp.weight
//   mlp.shared_expert_gate.weight          ffn_gate_inp_shexp.weight     [1, n_embd]
//   linear_attn.A_log                      ssm_a                         -exp(A_log), v heads
//   linear_attn.dt_bias                    ssm_dt.bias                   v heads
//   linear_attn.conv1d.weight              ssm_conv1d.weight             [C,1,K] -> [C,K], v rows
//   linear_attn.in_proj_qkv.weight         attn_qkv.weight               v rows (after q and k)
//   linear_attn.in_proj_z.weight           attn_gate.weight              v rows
//   linear_attn.in_proj_a.weight           ssm_alpha.weight              v rows (one per head)
//   linear_attn.in_proj_b.weight           ssm_beta.weight               v rows (one per head)
//   linear_attn.norm.weight                ssm_norm.weight               (w itself: no 1 + w)
//   linear_attn.out_proj.weight            ssm_out.weight                v columns
//
// "v heads": the value-head reordering of convert_tensor.h (HeadReorder), applied when
// linear_num_value_heads != linear_num_key_heads.
// clang-format on
#include "tools/hf_tensor_map.h"

#include <fmt/ranges.h>

#include <array>
#include <charconv>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "core/error.h"
#include "formats/safetensors/safetensors_file.h"
#include "tools/hf_arch.h"

namespace rf {
namespace {

using Shape = std::vector<int64_t>;

// Which layers (or the model) a rule belongs to.
enum class Scope {
    global,     // full HF name, no layer
    layer,      // every layer
    attention,  // full-attention layers (every layer of a non-hybrid model)
    linear,     // Gated DeltaNet layers (hybrid models)
    dense_ffn,  // every layer of a dense model
    moe,        // every layer of a MoE model
};

// When a rule exists for an architecture.
enum class Need { always, qkv_bias, qk_norm, shared_expert, hybrid, not_hybrid, untied };

enum class Fix { none, norm, neg_exp };

enum class VHeads {
    none,
    qkv_rows,    // rows [2 * n_k * d_k, ...) in blocks of d_v (in_proj_qkv, conv1d channels)
    rows,        // rows in blocks of d_v (in_proj_z)
    head_rows,   // one row per head (in_proj_a, in_proj_b)
    head_elems,  // one element per head of a 1-D tensor (A_log, dt_bias)
    cols,        // columns in blocks of d_v (out_proj)
};

enum class Stack {
    none,
    expert,         // "mlp.experts.<x>.<hf>": one tensor per expert, stacked
    fused_gate_up,  // [n_expert, 2 * n_ff, n_embd] -> gate and up
    fused_down,     // [n_expert, n_embd, n_ff]
};

struct Rule {
    std::string_view hf;    // full name (global) or after "model.layers.<i>."
    std::string_view gguf;  // full name (global) or after "blk.<i>."
    Scope scope;
    Need need;
    Fix fix;
    VHeads vheads;
    Stack stack;
    Shape (*shape)(const HfHparams&);  // expected Hugging Face shape (one expert when stacked)
};

int64_t q_rows(const HfHparams& h) {
    return h.n_head * h.head_dim * (h.attn_output_gate ? 2 : 1);
}

// clang-format off
const Rule kRules[] = {
    {"model.embed_tokens.weight", "token_embd.weight", Scope::global, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_vocab, h.n_embd}; }},
    {"model.norm.weight", "output_norm.weight", Scope::global, Need::always, Fix::norm, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_embd}; }},
    {"lm_head.weight", "output.weight", Scope::global, Need::untied, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_vocab, h.n_embd}; }},

    {"input_layernorm.weight", "attn_norm.weight", Scope::layer, Need::always, Fix::norm, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_embd}; }},
    {"post_attention_layernorm.weight", "ffn_norm.weight", Scope::layer, Need::not_hybrid, Fix::norm, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_embd}; }},
    {"post_attention_layernorm.weight", "post_attention_norm.weight", Scope::layer, Need::hybrid, Fix::norm, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_embd}; }},

    {"self_attn.q_proj.weight", "attn_q.weight", Scope::attention, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{q_rows(h), h.n_embd}; }},
    {"self_attn.k_proj.weight", "attn_k.weight", Scope::attention, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_head_kv * h.head_dim, h.n_embd}; }},
    {"self_attn.v_proj.weight", "attn_v.weight", Scope::attention, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_head_kv * h.head_dim, h.n_embd}; }},
    {"self_attn.o_proj.weight", "attn_output.weight", Scope::attention, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_embd, h.n_head * h.head_dim}; }},
    {"self_attn.q_proj.bias", "attn_q.bias", Scope::attention, Need::qkv_bias, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_head * h.head_dim}; }},
    {"self_attn.k_proj.bias", "attn_k.bias", Scope::attention, Need::qkv_bias, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_head_kv * h.head_dim}; }},
    {"self_attn.v_proj.bias", "attn_v.bias", Scope::attention, Need::qkv_bias, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_head_kv * h.head_dim}; }},
    {"self_attn.q_norm.weight", "attn_q_norm.weight", Scope::attention, Need::qk_norm, Fix::norm, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.head_dim}; }},
    {"self_attn.k_norm.weight", "attn_k_norm.weight", Scope::attention, Need::qk_norm, Fix::norm, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.head_dim}; }},

    {"mlp.gate_proj.weight", "ffn_gate.weight", Scope::dense_ffn, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_ff, h.n_embd}; }},
    {"mlp.up_proj.weight", "ffn_up.weight", Scope::dense_ffn, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_ff, h.n_embd}; }},
    {"mlp.down_proj.weight", "ffn_down.weight", Scope::dense_ffn, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_embd, h.n_ff}; }},

    {"mlp.gate.weight", "ffn_gate_inp.weight", Scope::moe, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_expert, h.n_embd}; }},
    {"down_proj.weight", "ffn_down_exps.weight", Scope::moe, Need::always, Fix::none, VHeads::none, Stack::expert,
     [](const HfHparams& h) { return Shape{h.n_embd, h.n_ff_expert}; }},
    {"gate_proj.weight", "ffn_gate_exps.weight", Scope::moe, Need::always, Fix::none, VHeads::none, Stack::expert,
     [](const HfHparams& h) { return Shape{h.n_ff_expert, h.n_embd}; }},
    {"up_proj.weight", "ffn_up_exps.weight", Scope::moe, Need::always, Fix::none, VHeads::none, Stack::expert,
     [](const HfHparams& h) { return Shape{h.n_ff_expert, h.n_embd}; }},
    {"mlp.experts.gate_up_proj", "ffn_gate_exps.weight", Scope::moe, Need::always, Fix::none, VHeads::none, Stack::fused_gate_up,
     [](const HfHparams& h) { return Shape{h.n_expert, 2 * h.n_ff_expert, h.n_embd}; }},
    {"mlp.experts.down_proj", "ffn_down_exps.weight", Scope::moe, Need::always, Fix::none, VHeads::none, Stack::fused_down,
     [](const HfHparams& h) { return Shape{h.n_expert, h.n_embd, h.n_ff_expert}; }},
    {"mlp.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight", Scope::moe, Need::shared_expert, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_ff_shexp, h.n_embd}; }},
    {"mlp.shared_expert.up_proj.weight", "ffn_up_shexp.weight", Scope::moe, Need::shared_expert, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_ff_shexp, h.n_embd}; }},
    {"mlp.shared_expert.down_proj.weight", "ffn_down_shexp.weight", Scope::moe, Need::shared_expert, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_embd, h.n_ff_shexp}; }},
    {"mlp.shared_expert_gate.weight", "ffn_gate_inp_shexp.weight", Scope::moe, Need::shared_expert, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{1, h.n_embd}; }},

    {"linear_attn.A_log", "ssm_a", Scope::linear, Need::always, Fix::neg_exp, VHeads::head_elems, Stack::none,
     [](const HfHparams& h) { return Shape{h.ssm_n_v_heads}; }},
    {"linear_attn.dt_bias", "ssm_dt.bias", Scope::linear, Need::always, Fix::none, VHeads::head_elems, Stack::none,
     [](const HfHparams& h) { return Shape{h.ssm_n_v_heads}; }},
    {"linear_attn.conv1d.weight", "ssm_conv1d.weight", Scope::linear, Need::always, Fix::none, VHeads::qkv_rows, Stack::none,
     [](const HfHparams& h) { return Shape{h.ssm_conv_channels(), 1, h.ssm_conv_kernel}; }},
    {"linear_attn.in_proj_qkv.weight", "attn_qkv.weight", Scope::linear, Need::always, Fix::none, VHeads::qkv_rows, Stack::none,
     [](const HfHparams& h) { return Shape{h.ssm_conv_channels(), h.n_embd}; }},
    {"linear_attn.in_proj_z.weight", "attn_gate.weight", Scope::linear, Need::always, Fix::none, VHeads::rows, Stack::none,
     [](const HfHparams& h) { return Shape{h.ssm_n_v_heads * h.ssm_v_head_dim, h.n_embd}; }},
    {"linear_attn.in_proj_a.weight", "ssm_alpha.weight", Scope::linear, Need::always, Fix::none, VHeads::head_rows, Stack::none,
     [](const HfHparams& h) { return Shape{h.ssm_n_v_heads, h.n_embd}; }},
    {"linear_attn.in_proj_b.weight", "ssm_beta.weight", Scope::linear, Need::always, Fix::none, VHeads::head_rows, Stack::none,
     [](const HfHparams& h) { return Shape{h.ssm_n_v_heads, h.n_embd}; }},
    {"linear_attn.norm.weight", "ssm_norm.weight", Scope::linear, Need::always, Fix::none, VHeads::none, Stack::none,
     [](const HfHparams& h) { return Shape{h.ssm_v_head_dim}; }},
    {"linear_attn.out_proj.weight", "ssm_out.weight", Scope::linear, Need::always, Fix::none, VHeads::cols, Stack::none,
     [](const HfHparams& h) { return Shape{h.n_embd, h.ssm_n_v_heads * h.ssm_v_head_dim}; }},
};
// clang-format on

bool rule_applies(const Rule& r, const HfArchitecture& a) {
    switch (r.need) {
        case Need::always:
            break;
        case Need::qkv_bias:
            if (!a.qkv_bias) return false;
            break;
        case Need::qk_norm:
            if (!a.qk_norm) return false;
            break;
        case Need::shared_expert:
            if (!a.shared_expert) return false;
            break;
        case Need::hybrid:
            if (!a.hybrid) return false;
            break;
        case Need::not_hybrid:
            if (a.hybrid) return false;
            break;
        case Need::untied:
            break;  // lm_head is allowed when tied too (llama.cpp writes it)
    }
    switch (r.scope) {
        case Scope::dense_ffn:
            return !a.moe;
        case Scope::moe:
            return a.moe;
        case Scope::linear:
            return a.hybrid;
        default:
            return true;
    }
}

// Whether layer `il` has the tensors of a rule's scope.
bool layer_has(const Rule& r, const HfHparams& hp, int64_t il) {
    switch (r.scope) {
        case Scope::attention:
            return !hp.layer_is_linear[il];
        case Scope::linear:
            return hp.layer_is_linear[il];
        default:
            return true;
    }
}

std::string shape_str(const Shape& s) {
    return fmt::format("[{}]", fmt::join(s, ", "));
}

// Splits "model.layers.<i>.<rest>" into (i, rest); false for other names.
bool split_layer(std::string_view name, int64_t& il, std::string_view& rest) {
    constexpr std::string_view prefix = "model.layers.";
    if (!name.starts_with(prefix)) return false;
    name.remove_prefix(prefix.size());
    const size_t dot = name.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + dot, il);
    if (ec != std::errc() || end != name.data() + dot) return false;
    rest = name.substr(dot + 1);
    return true;
}

// "mlp.experts.<x>.<what>" -> (x, what).
bool split_expert(std::string_view rest, int64_t& x, std::string_view& what) {
    constexpr std::string_view prefix = "mlp.experts.";
    if (!rest.starts_with(prefix)) return false;
    rest.remove_prefix(prefix.size());
    const size_t dot = rest.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + dot, x);
    if (ec != std::errc() || end != rest.data() + dot) return false;
    what = rest.substr(dot + 1);
    return true;
}

std::string layer_name(int64_t il, std::string_view suffix) {
    return fmt::format("blk.{}.{}", il, suffix);
}

class Mapper {
  public:
    Mapper(const SafetensorsModel& model, const HfArchitecture& arch, const HfHparams& hp)
        : model_(model), arch_(arch), hp_(hp) {}

    std::vector<ConvertTensor> run();

  private:
    void map_one(const SafetensorsTensor& t);
    void check_shape(const SafetensorsTensor& t, const Shape& want) const;
    [[noreturn]] void fail_tensor(const SafetensorsTensor& t, const std::string& what) const;
    ConvertTensor plain(const SafetensorsTensor& t, std::string gguf, const Rule& r) const;
    void add_expert(const SafetensorsTensor& t, int64_t il, int64_t x, const Rule& r);
    void emit(ConvertTensor t);
    void check_complete() const;

    // One layer's per-expert tensors, by rule (down, gate, up) and expert index.
    struct ExpertBucket {
        std::map<const Rule*, std::vector<const SafetensorsTensor*>> by_rule;
        int64_t count = 0;
    };

    const SafetensorsModel& model_;
    const HfArchitecture& arch_;
    const HfHparams& hp_;
    std::vector<ConvertTensor> out_;
    std::set<std::string> names_;
    std::map<int64_t, ExpertBucket> experts_;
};

void Mapper::fail_tensor(const SafetensorsTensor& t, const std::string& what) const {
    fail("convert: {}: tensor '{}' {}", t.file, t.name, what);
}

void Mapper::check_shape(const SafetensorsTensor& t, const Shape& want) const {
    if (t.shape != want)
        fail_tensor(t, fmt::format("has shape {}, expected {} (from config.json)",
                                   shape_str(t.shape), shape_str(want)));
}

ConvertTensor Mapper::plain(const SafetensorsTensor& t, std::string gguf, const Rule& r) const {
    ConvertTensor c;
    c.name = std::move(gguf);
    c.source = t.name;
    Shape shape = t.shape;
    if (r.hf == "linear_attn.conv1d.weight") shape = {shape[0], shape[2]};  // squeeze [C, 1, K]
    c.ne.assign(shape.rbegin(), shape.rend());
    c.slices.push_back({&t, 0, c.n_rows()});
    if (r.fix == Fix::norm && arch_.zero_centered_norms) c.op = ConvertOp::add_one;
    if (r.fix == Fix::neg_exp) c.op = ConvertOp::neg_exp;
    if (hp_.ssm_n_v_heads != hp_.ssm_n_k_heads) {
        HeadReorder v{hp_.ssm_n_k_heads,
                      hp_.ssm_n_v_heads / std::max<int64_t>(1, hp_.ssm_n_k_heads),
                      hp_.ssm_v_head_dim, 0};
        switch (r.vheads) {
            case VHeads::none:
                break;
            case VHeads::qkv_rows:
                v.offset = 2 * hp_.ssm_n_k_heads * hp_.ssm_k_head_dim;
                c.row_order = v;
                break;
            case VHeads::rows:
                c.row_order = v;
                break;
            case VHeads::head_rows:
                v.head_dim = 1;
                c.row_order = v;
                break;
            case VHeads::head_elems:
                v.head_dim = 1;
                c.col_order = v;
                break;
            case VHeads::cols:
                c.col_order = v;
                break;
        }
    }
    return c;
}

void Mapper::emit(ConvertTensor t) {
    RF_CHECK(names_.insert(t.name).second,
             "convert: {}: GGUF tensor '{}' would be written twice (second source: '{}')",
             model_.path(), t.name, t.source);
    out_.push_back(std::move(t));
}

void Mapper::add_expert(const SafetensorsTensor& t, int64_t il, int64_t x, const Rule& r) {
    if (x < 0 || x >= hp_.n_expert)
        fail_tensor(t,
                    fmt::format("is expert {}, but config.json has {} experts", x, hp_.n_expert));
    check_shape(t, r.shape(hp_));
    ExpertBucket& bucket = experts_[il];
    auto& slot = bucket.by_rule[&r];
    slot.resize(static_cast<size_t>(hp_.n_expert), nullptr);
    if (slot[x] != nullptr) fail_tensor(t, "appears twice");
    slot[x] = &t;
    // llama.cpp writes a layer's stacked experts once all 3 * n_expert tensors were read.
    if (++bucket.count < 3 * hp_.n_expert) return;
    for (const Rule& rule : kRules) {
        if (rule.stack != Stack::expert) continue;
        const auto& tensors = bucket.by_rule[&rule];
        ConvertTensor c;
        c.name = layer_name(il, rule.gguf);
        const Shape one = rule.shape(hp_);
        c.ne = {one[1], one[0], hp_.n_expert};
        for (const SafetensorsTensor* e : tensors) {
            c.slices.push_back({e, 0, one[0]});
        }
        c.source =
            fmt::format("model.layers.{}.mlp.experts.<0..{}>.{}", il, hp_.n_expert - 1, rule.hf);
        emit(std::move(c));
    }
    experts_.erase(il);
}

void Mapper::map_one(const SafetensorsTensor& t) {
    const std::string_view name = t.name;
    if (name.ends_with(".rotary_emb.inv_freq")) return;  // recomputed at run time
    if (arch_.hybrid && (name.starts_with("mtp.") || name.starts_with("model.mtp."))) return;

    int64_t il = -1;
    std::string_view rest = name;
    const bool in_layer = split_layer(name, il, rest);
    if (in_layer && (il < 0 || il >= hp_.n_layer))
        fail_tensor(t, fmt::format("is in layer {}, but config.json num_hidden_layers is {}", il,
                                   hp_.n_layer));
    int64_t expert = -1;
    std::string_view expert_what;
    const bool is_expert = in_layer && split_expert(rest, expert, expert_what);
    // The fused expert tensors come with or without ".weight".
    if (!is_expert &&
        (rest == "mlp.experts.gate_up_proj.weight" || rest == "mlp.experts.down_proj.weight"))
        rest.remove_suffix(std::string_view(".weight").size());

    const Rule* rule = nullptr;
    for (const Rule& r : kRules) {
        if (!rule_applies(r, arch_)) continue;
        const bool global = r.scope == Scope::global;
        if (global == in_layer) continue;
        const bool match = r.stack == Stack::expert ? is_expert && expert_what == r.hf
                                                    : !is_expert && rest == r.hf;
        if (match) {
            rule = &r;
            break;
        }
    }
    if (rule == nullptr)
        fail_tensor(t, fmt::format("has no GGUF equivalent in architecture {} ({})",
                                   arch_.gguf_arch, arch_.hf_class));
    if (in_layer && !layer_has(*rule, hp_, il))
        fail_tensor(
            t, fmt::format("belongs to a {} layer, but config.json makes layer {} a {} "
                           "layer",
                           rule->scope == Scope::linear ? "Gated DeltaNet" : "full-attention", il,
                           hp_.layer_is_linear[il] ? "Gated DeltaNet" : "full-attention"));
    if (t.dtype != SafetensorsDType::F32 && t.dtype != SafetensorsDType::F16 &&
        t.dtype != SafetensorsDType::BF16)
        fail_tensor(t, fmt::format("has dtype {}; convert reads F32, F16 and BF16 checkpoints",
                                   safetensors_dtype_name(t.dtype)));

    switch (rule->stack) {
        case Stack::expert:
            add_expert(t, il, expert, *rule);
            return;
        case Stack::fused_gate_up: {
            check_shape(t, rule->shape(hp_));
            const int64_t ff = hp_.n_ff_expert;
            for (int half = 0; half < 2; ++half) {
                ConvertTensor c;
                c.name = layer_name(il, half == 0 ? "ffn_gate_exps.weight" : "ffn_up_exps.weight");
                c.ne = {hp_.n_embd, ff, hp_.n_expert};
                for (int64_t x = 0; x < hp_.n_expert; ++x)
                    c.slices.push_back({&t, x * 2 * ff + half * ff, ff});
                c.source = t.name;
                emit(std::move(c));
            }
            return;
        }
        case Stack::fused_down:
        case Stack::none:
            check_shape(t, rule->shape(hp_));
            emit(plain(t, in_layer ? layer_name(il, rule->gguf) : std::string(rule->gguf), *rule));
            return;
    }
}

void Mapper::check_complete() const {
    for (const auto& [il, bucket] : experts_) {
        for (const Rule& r : kRules) {
            if (r.stack != Stack::expert) continue;
            const auto it = bucket.by_rule.find(&r);
            for (int64_t x = 0; x < hp_.n_expert; ++x) {
                if (it == bucket.by_rule.end() || it->second[x] == nullptr)
                    fail(
                        "convert: {}: tensor 'model.layers.{}.mlp.experts.{}.{}' is missing "
                        "(config.json has {} experts)",
                        model_.path(), il, x, r.hf, hp_.n_expert);
            }
        }
    }
    auto require = [&](const std::string& gguf, const std::string& hf) {
        if (names_.count(gguf) == 0)
            fail("convert: {}: tensor '{}' is missing (it becomes GGUF '{}')", model_.path(), hf,
                 gguf);
    };
    for (const Rule& r : kRules) {
        if (!rule_applies(r, arch_) || r.stack == Stack::fused_gate_up ||
            r.stack == Stack::fused_down)
            continue;
        if (r.need == Need::untied && hp_.tied_embeddings) continue;
        if (r.scope == Scope::global) {
            require(std::string(r.gguf), std::string(r.hf));
            continue;
        }
        for (int64_t il = 0; il < hp_.n_layer; ++il) {
            if (!layer_has(r, hp_, il)) continue;
            const std::string hf = r.stack == Stack::expert
                                       ? fmt::format("model.layers.{}.mlp.experts.0.{}", il, r.hf)
                                       : fmt::format("model.layers.{}.{}", il, r.hf);
            require(layer_name(il, r.gguf), hf);
        }
    }
}

std::vector<ConvertTensor> Mapper::run() {
    for (const SafetensorsTensor& t : model_.tensors()) map_one(t);
    check_complete();
    return std::move(out_);
}

}  // namespace

std::vector<ConvertTensor> map_hf_tensors(const SafetensorsModel& model, const HfArchitecture& arch,
                                          const HfHparams& hp) {
    return Mapper(model, arch, hp).run();
}

}  // namespace rf
