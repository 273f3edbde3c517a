// Gated DeltaNet on the CPU (Backend::gated_delta_net): tokens in order (the recurrence), value heads in
// parallel; the textbook recurrence of transformers' torch_recurrent_gated_delta_rule in f32, the
// convolution and the gated RMSNorm as Qwen3.5's layer computes them. Also the sigmoid gate.
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "core/error.h"

namespace rf::cpu {

namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float silu(float x) { return x * sigmoid(x); }
float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }  // (torch's threshold)

}  // namespace

void gated_delta_net(ThreadPool& pool, Act qkv, Act z, Act a, Act b, const GatedDeltaNet& p, float* state, Act out) {
    RF_CHECK(p.conv != nullptr && p.a_neg != nullptr && p.dt_bias != nullptr && p.norm != nullptr,
             "gated_delta_net: missing weights");
    const int64_t C = p.channels(), K = p.kernel(), T = qkv.rows, NV = p.n_v_heads, NK = p.n_k_heads, DK = p.d_k,
                  DV = p.d_v;
    RF_CHECK(NK > 0 && NV % NK == 0 && DK > 0 && DV > 0 && K >= 1, "gated_delta_net: {} key heads, {} value heads", NK, NV);
    RF_CHECK(qkv.cols == C && p.conv->rows == C && p.conv->type == TensorType::F32,
             "gated_delta_net: qkv of {} columns, convolution of {} channels ({} expected)", qkv.cols, p.conv->rows, C);
    RF_CHECK(z.rows == T && z.cols == NV * DV && out.rows == T && out.cols == NV * DV && a.rows == T && a.cols == NV &&
                 b.rows == T && b.cols == NV,
             "gated_delta_net: z [{}, {}], a [{}, {}], b [{}, {}], out [{}, {}] for {} tokens of {} value heads of {}",
             z.rows, z.cols, a.rows, a.cols, b.rows, b.cols, out.rows, out.cols, T, NV, DV);
    RF_CHECK(p.a_neg->cols == NV && p.dt_bias->cols == NV && p.norm->cols == DV, "gated_delta_net: per-head vectors of {} / {} / {}",
             p.a_neg->cols, p.dt_bias->cols, p.norm->cols);
    const auto* w = static_cast<const float*>(p.conv->data);  // [C, K]
    const auto* a_neg = static_cast<const float*>(p.a_neg->data);
    const auto* dt_bias = static_cast<const float*>(p.dt_bias->data);
    const auto* norm_w = static_cast<const float*>(p.norm->data);
    float* window = state;                   // [K - 1, C]: the last K - 1 inputs, oldest first
    float* S = state + (K - 1) * C;          // [NV, DK, DV]
    std::vector<float> x(static_cast<size_t>(C));
    const float q_scale = 1.0f / std::sqrt(static_cast<float>(DK));
    for (int64_t t = 0; t < T; ++t) {
        const float* in = qkv.data + t * C;
        // causal depthwise convolution over [window; in] and SiLU; the window moves one token
        pool.parallel_for(C, [&](int64_t c0, int64_t c1) {
            for (int64_t c = c0; c < c1; ++c) {
                float acc = w[c * K + K - 1] * in[c];
                for (int64_t j = 0; j + 1 < K; ++j) acc += w[c * K + j] * window[j * C + c];
                x[static_cast<size_t>(c)] = silu(acc);
                for (int64_t j = 0; j + 2 < K; ++j) window[j * C + c] = window[(j + 1) * C + c];
                if (K > 1) window[(K - 2) * C + c] = in[c];
            }
        }, 1024);
        // q, k per key head L2-normalised (eps 1e-6 inside the root, as the reference's l2norm)
        float* q = x.data();
        float* k = x.data() + NK * DK;
        const float* v = x.data() + 2 * NK * DK;
        for (int64_t h = 0; h < NK; ++h) {
            for (float* u : {q + h * DK, k + h * DK}) {
                double ss = 0.0;
                for (int64_t i = 0; i < DK; ++i) ss += double(u[i]) * u[i];
                const float r = 1.0f / std::sqrt(static_cast<float>(ss) + 1e-6f);
                for (int64_t i = 0; i < DK; ++i) u[i] *= r;
            }
            for (int64_t i = 0; i < DK; ++i) q[h * DK + i] *= q_scale;
        }
        pool.parallel_for(NV, [&](int64_t h0, int64_t h1) {
            std::vector<float> delta(static_cast<size_t>(DV)), o(static_cast<size_t>(DV));
            for (int64_t h = h0; h < h1; ++h) {
                const float* qh = q + (h % NK) * DK;  // (tiled value heads)
                const float* kh = k + (h % NK) * DK;
                const float* vh = v + h * DV;
                const float beta = sigmoid(b.data[t * NV + h]);
                const float decay = std::exp(a_neg[h] * softplus(a.data[t * NV + h] + dt_bias[h]));
                float* Sh = S + h * DK * DV;
                for (int64_t i = 0; i < DK * DV; ++i) Sh[i] *= decay;
                for (int64_t j = 0; j < DV; ++j) {
                    float mem = 0.0f;
                    for (int64_t i = 0; i < DK; ++i) mem += kh[i] * Sh[i * DV + j];
                    delta[static_cast<size_t>(j)] = (vh[j] - mem) * beta;
                }
                for (int64_t i = 0; i < DK; ++i)
                    for (int64_t j = 0; j < DV; ++j) Sh[i * DV + j] += kh[i] * delta[static_cast<size_t>(j)];
                double ss = 0.0;
                for (int64_t j = 0; j < DV; ++j) {
                    float acc = 0.0f;
                    for (int64_t i = 0; i < DK; ++i) acc += qh[i] * Sh[i * DV + j];
                    o[static_cast<size_t>(j)] = acc;
                    ss += double(acc) * acc;
                }
                const float r = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(DV)) + p.eps);
                const float* zh = z.data + t * z.cols + h * DV;
                float* oh = out.data + t * out.cols + h * DV;
                for (int64_t j = 0; j < DV; ++j) oh[j] = o[static_cast<size_t>(j)] * r * norm_w[j] * silu(zh[j]);
            }
        }, 1);
    }
}

void sigmoid_mul(ThreadPool& pool, Act x, Act gate, Act out) {
    RF_CHECK(gate.rows == x.rows && (gate.cols == x.cols || gate.cols == 1) && out.rows == x.rows && out.cols == x.cols,
             "sigmoid_mul: x [{}, {}], gate [{}, {}], out [{}, {}]", x.rows, x.cols, gate.rows, gate.cols, out.rows,
             out.cols);
    pool.parallel_for(x.rows, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r)
            for (int64_t i = 0; i < x.cols; ++i)
                out.data[r * x.cols + i] =
                    x.data[r * x.cols + i] * sigmoid(gate.data[r * gate.cols + (gate.cols == 1 ? 0 : i)]);
    }, 4);
}

}  // namespace rf::cpu
