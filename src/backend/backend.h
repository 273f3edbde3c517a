// The one interface between model code and devices. A model builds its forward pass from these
// ops and never names a device; the CPU backend (src/backend/cpu) and the GPU backend
// (src/backend/gpu, CUDA/HIP from one source) implement them.
//
// Conventions:
// - Activations are f32, row-major and contiguous: Act{data, rows, cols} is [rows, cols]; one
//   row per token. `data` is backend memory (host for CPU, device for GPU): model code passes
//   it around but never dereferences it.
// - Weights keep their GGUF type; a matrix is [rows = out features, cols = in features], one
//   GGUF row per output feature (ggml ne = {cols, rows, n_mats}). Experts are n_mats matrices.
// - Ops are issued in order on one stream; results are visible to later ops. Only download()
//   and synchronize() wait for the device.
// - Everything a step needs besides activations and weights (token ids, positions, KV slots,
//   block tables) comes from the StepPlan given to begin_step().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backend/step_plan.h"
#include "formats/tensor_type.h"
#include "kv/kv_layout.h"

namespace rf {

struct Act {
    float* data = nullptr;
    int64_t rows = 0;
    int64_t cols = 0;

    int64_t size() const { return rows * cols; }
    // Rows [begin, begin + n) of this activation.
    Act slice_rows(int64_t begin, int64_t n) const { return {data + begin * cols, n, cols}; }
    // The same memory seen as [rows * cols / new_cols, new_cols] (e.g. per-head views).
    Act reshape(int64_t new_cols) const { return {data, rows * cols / new_cols, new_cols}; }
};

struct Weight {
    TensorType type = TensorType::F32;
    int64_t cols = 0;      // in features (ggml ne[0], contiguous)
    int64_t rows = 0;      // out features (ggml ne[1])
    int64_t n_mats = 1;    // experts (ggml ne[2]); 1 for a plain matrix or vector
    const void* data = nullptr;  // backend memory
    size_t row_bytes = 0;  // row_size(type, cols)

    // `type` weights of n_mats x rows x cols at `data` (row_bytes from the type).
    static Weight view(TensorType type, int64_t cols, int64_t rows, int64_t n_mats, const void* data) {
        Weight w;
        w.type = type;
        w.cols = cols;
        w.rows = rows;
        w.n_mats = n_mats;
        w.data = data;
        w.row_bytes = row_size(type, cols);
        return w;
    }

    explicit operator bool() const { return data != nullptr; }
    size_t mat_bytes() const { return row_bytes * static_cast<size_t>(rows); }
    size_t nbytes() const { return mat_bytes() * static_cast<size_t>(n_mats); }
};

// Rotary embedding parameters (llama.cpp conventions): the first n_rot dims of each head rotate;
// NeoX style pairs (i, i + n_rot/2), normal style pairs (2i, 2i+1). YaRN when ext_factor != 0.
struct RopeParams {
    int n_rot = 0;
    bool neox = true;
    float freq_base = 10000.0f;
    float freq_scale = 1.0f;  // 1 / linear scaling factor
    float ext_factor = 0.0f;  // YaRN extrapolation mix (0: off)
    float attn_factor = 1.0f;
    float beta_fast = 32.0f;
    float beta_slow = 1.0f;
    int n_ctx_orig = 0;
};

struct AttentionParams {
    int n_head = 0;
    int n_kv_head = 0;
    int head_dim = 0;
    float scale = 1.0f;  // applied to q.k
};

// A mixture-of-experts SwiGLU feed-forward layer (Qwen3-MoE; llama.cpp's build_moe_ffn with softmax
// gating): gate / up are n_expert x [n_ff_exp, n_embd] (Weight::n_mats = n_expert), down is
// n_expert x [n_embd, n_ff_exp].
struct MoeFfn {
    const Weight* gate = nullptr;
    const Weight* up = nullptr;
    const Weight* down = nullptr;
    int n_used = 0;          // experts per token (top-k)
    bool norm_topk = true;   // the k chosen probabilities divided by their sum (Qwen3-MoE's norm_topk_prob)
};

// A Gated DeltaNet layer's own weights and shape (Qwen3.5 / Qwen3-Next linear attention; GGUF names
// of llama.cpp's converter). Value heads are in the GGUF's tiled order: value head h reads key head
// h % n_k_heads.
struct GatedDeltaNet {
    const Weight* conv = nullptr;     // ssm_conv1d [channels, kernel] f32 (cols = kernel)
    const Weight* a_neg = nullptr;    // ssm_a [n_v_heads] f32: -exp(A_log)
    const Weight* dt_bias = nullptr;  // ssm_dt.bias [n_v_heads] f32
    const Weight* norm = nullptr;     // ssm_norm [d_v] f32 (the gated RMSNorm's weight)
    int n_k_heads = 0, n_v_heads = 0, d_k = 0, d_v = 0;
    float eps = 1e-6f;                // of the gated RMSNorm

    int64_t channels() const { return int64_t{2} * n_k_heads * d_k + int64_t{n_v_heads} * d_v; }
    int64_t kernel() const { return conv != nullptr ? conv->cols : 0; }
    // Floats of one sequence's state: the convolution's last kernel - 1 inputs, then the
    // n_v_heads state matrices [d_k, d_v].
    size_t state_floats() const {  // (0 until conv is set: its kernel size is part of it)
        if (conv == nullptr) return 0;
        return static_cast<size_t>((kernel() - 1) * channels() + int64_t{n_v_heads} * d_k * d_v);
    }
};

enum class DeviceKind { Cpu, Gpu };

class Backend {
public:
    virtual ~Backend() = default;

    virtual DeviceKind kind() const = 0;
    virtual std::string name() const = 0;

    // ---- memory ------------------------------------------------------------------------
    virtual void* alloc(size_t bytes) = 0;
    virtual void release(void* ptr) = 0;
    virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
    virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
    virtual void fill_zero(void* dst, size_t bytes) = 0;
    // Copy within backend memory (KV copy-on-write).
    virtual void copy(void* dst, const void* src, size_t bytes) = 0;
    // Makes a weight usable by this backend from host bytes (CPU: zero copy from the mmap;
    // GPU: one upload, kept for the life of the backend).
    virtual Weight load_weight(TensorType type, int64_t cols, int64_t rows, int64_t n_mats,
                               const void* host_data) = 0;
    virtual void synchronize() = 0;

    // ---- step ---------------------------------------------------------------------------
    // Copies the plan's integer data (tokens, positions, slots, block tables) where the ops can
    // read it. Ops below refer to "the step" for that data.
    virtual void begin_step(const StepPlan& plan) = 0;

    // ---- ops ----------------------------------------------------------------------------
    // out[t, :] = table[step.tokens[t], :] as f32.                  out: [n_tokens, table.cols]
    virtual void embed(const Weight& table, Act out) = 0;
    // out = x / sqrt(mean(x^2) + eps) * w, per row; w has x.cols elements (may alias x).
    virtual void rms_norm(Act x, const Weight& w, float eps, Act out) = 0;
    // y[r, :] = x[r, :] . w^T (+ bias). x: [n, w.cols], y: [n, w.rows].
    virtual void matmul(const Weight& w, Act x, Act y, const Weight* bias = nullptr) = 0;
    // In-place rotary embedding of x viewed as [n_tokens, n_heads, head_dim], positions from
    // the step.
    virtual void rope(Act x, int n_heads, int head_dim, const RopeParams& p) = 0;
    // Writes K and V rows of the step's tokens into their KV slots.  k, v: [n_tokens, kv_dim]
    virtual void kv_store(const KvLayerView& layer, Act k, Act v) = 0;
    // Causal attention of the step's tokens over their sequences' KV (through block tables).
    // q: [n_tokens, n_head * head_dim], out: [n_tokens, n_head * head_dim].
    virtual void attention(Act q, const KvLayerView& layer, const AttentionParams& p, Act out) = 0;
    // out = silu(gate) * up                                      all [n, ffn]
    virtual void swiglu(Act gate, Act up, Act out) = 0;
    // out = a + b                                                (out may alias a or b)
    virtual void add(Act a, Act b, Act out) = 0;
    // Mixture of experts: per token t, p = softmax(router_logits[t]); the moe.n_used experts of the
    // largest p (the lower expert first on ties) with weights p_e (over their sum when norm_topk);
    // out[t] = sum_e w_e * down_e(silu(gate_e(h[t])) * up_e(h[t])), summed in expert order.
    // h: [n, n_embd], router_logits: [n, n_expert], out: [n, n_embd] (must not alias h).
    virtual void moe_ffn(Act h, Act router_logits, const MoeFfn& moe, Act out) = 0;
    // Gated DeltaNet over one sequence's n tokens in order, from its recurrent state (updated):
    // the causal depthwise convolution of qkv ([n, channels], in_proj_qkv's output) with SiLU, q and k
    // per key head L2-normalised (q also by 1 / sqrt(d_k)), per value head h with beta = sigmoid(b),
    // decay = exp(a_neg[h] * softplus(a + dt_bias[h])):  S = decay * S;  S += k (beta (v - S^T k))^T;
    // o = S^T q; then o RMS-normalised per head, times norm and silu(z).
    // qkv: [n, channels], z: [n, n_v * d_v], a, b: [n, n_v], out: [n, n_v * d_v].
    virtual void gated_delta_net(Act qkv, Act z, Act a, Act b, const GatedDeltaNet& p, float* state, Act out) = 0;
    // out[t, i] = x[t, i] * sigmoid(gate[t, i % gate.cols]) with gate.cols == x.cols or 1 (out may alias x).
    virtual void sigmoid_mul(Act x, Act gate, Act out) = 0;
    // out[i, :] = x[step.output_rows[i], :]
    virtual void gather_output_rows(Act x, Act out) = 0;
};

}  // namespace rf
