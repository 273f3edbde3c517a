// Batched decode steps of 2 .. 4 tokens (one per sequence) on the one-token matvec kernel
// (matvec1_kernel.cuh's NT, DecodeSwitches::matvec1_tokens): the rms_norm prologue, q/k/v in one
// launch with a bias, the residual epilogue, gate/up + SwiGLU with the q8_1 epilogue, each per token.
// A layer-shaped chain without the attention runs as one step of T sequences and token by token as
// one-token steps (the established path, checked against the CPU by the op and fusion tests): the
// same sums in the same order per token, so the same results. The step's matvecs are the one-token
// kernel's, its instance for exactly T tokens (knocked out by name, their outputs stay poisoned), unlike
// with RF_GPU_MATVEC1_TOKENS=1 (the many-token kernel and a norm launch: within rounding of the
// others). The same batched step again is relaunched from its graph without an emit (the fast replay
// of decode steps).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "backend/gpu/gpu_dispatch_table.h"
#include "backend/gpu/matvec.cuh"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

// A decode step of n sequences, one token each at position 5 + s, each in a block of its own.
StepPlan decode_step_of(int n) {
    StepPlan p;
    for (int s = 0; s < n; ++s) {
        SeqStep st;
        st.first_token = s;
        st.n_tokens = 1;
        st.n_past = 5 + s;
        st.block_table = {s};
        p.seqs.push_back(st);
        p.tokens.push_back(1 + s);
        p.positions.push_back(5 + s);
        p.kv_slots.push_back(s * 16 + 5 + s);
        p.token_seq.push_back(s);
        p.output_rows.push_back(s);
    }
    return p;
}

struct LayerWeights {
    std::vector<Weight> owned;
    Weight wq, wk, wv, wo, wg, wu, wd, norm, bq;
};

struct LayerActs {
    DeviceActs x, h, q, k, v, o, g, u;
    LayerActs(int64_t T, int64_t E, int64_t Q, int64_t KV, int64_t F)
        : x(T, E), h(T, E), q(T, Q), k(T, KV), v(T, KV), o(T, E), g(T, F), u(T, F) {}
    void poison() {
        for (DeviceActs* a : {&h, &q, &k, &v, &o, &g, &u}) a->poison();
    }
};

// rms_norm -> q/k/v (bias on q) -> wo(q) + residual -> rms_norm -> gate/up + SwiGLU -> down + residual, as one
// step of n_seqs sequences (x0: their rows of x; the other activations poisoned first). Returns the outputs
// per activation, token-major: x, q, k, v, the SwiGLU output, up.
std::vector<std::vector<float>> run_layer(const LayerWeights& w, LayerActs& a, const std::vector<float>& x0, int n_seqs) {
    Backend& be = gpu();
    a.x.set(x0);
    a.poison();
    be.begin_step(decode_step_of(n_seqs));
    be.rms_norm(a.x.act(), w.norm, 1e-6f, a.h.act());
    be.matmul(w.wq, a.h.act(), a.q.act(), &w.bq);
    be.matmul(w.wk, a.h.act(), a.k.act(), nullptr);
    be.matmul(w.wv, a.h.act(), a.v.act(), nullptr);
    be.matmul(w.wo, a.q.act(), a.o.act(), nullptr);
    be.add(a.x.act(), a.o.act(), a.x.act());
    be.rms_norm(a.x.act(), w.norm, 1e-6f, a.h.act());
    be.matmul(w.wg, a.h.act(), a.g.act(), nullptr);
    be.matmul(w.wu, a.h.act(), a.u.act(), nullptr);
    be.swiglu(a.g.act(), a.u.act(), a.g.act());
    be.matmul(w.wd, a.g.act(), a.h.act(), nullptr);
    be.add(a.x.act(), a.h.act(), a.x.act());
    std::vector<std::vector<float>> out;
    for (DeviceActs* d : {&a.x, &a.q, &a.k, &a.v, &a.g, &a.u}) out.push_back(d->get());
    return out;
}

std::vector<float> flat(const std::vector<std::vector<float>>& parts) {
    std::vector<float> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

TEST(GpuFewTokenMatvec, BatchedStepEqualsOneTokenStepsTakesTheOneTokenKernelAndIsReplayed) {
    const int64_t E = 1024, F = 2048, Q = 1024, KV = 128;
    const bool names = gpu().device_info().arch.rfind("sm_", 0) == 0;  // kernel names: CUDA builds
    uint32_t seed = 8100;
    for (TensorType t : {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K, TensorType::Q5_0}) {
        LayerWeights w;
        auto weight = [&](int64_t rows, int64_t cols) {
            const auto bytes = random_weight_bytes(t, rows, cols, ++seed);
            w.owned.push_back(gpu().load_weight(t, cols, rows, 1, bytes.data()));
            return w.owned.back();
        };
        w.wq = weight(Q, E);
        w.wk = weight(KV, E);
        w.wv = weight(KV, E);
        w.wo = weight(E, Q);
        w.wg = weight(F, E);
        w.wu = weight(F, E);
        w.wd = weight(E, F);
        std::vector<float> nw = random_floats(static_cast<size_t>(E), ++seed, 0.1f);
        for (float& f : nw) f += 1.0f;
        w.norm = gpu().load_weight(TensorType::F32, E, 1, 1, nw.data());
        const auto bias = random_floats(static_cast<size_t>(Q), ++seed, 0.1f);
        w.bq = gpu().load_weight(TensorType::F32, Q, 1, 1, bias.data());
        w.owned.push_back(w.norm);
        w.owned.push_back(w.bq);
        // (4 tokens of the 32-weight block types and Q4_K go to the int8-mma matvec where the device has it,
        // for matrices above DispatchTable::matvec_mma_min_weights: not these)
        for (int T : {2, 3, 4}) {
            const std::string what = std::string(type_name(t)) + " x" + std::to_string(T);
            const auto x0 = random_floats(static_cast<size_t>(T * E), seed + 100 + static_cast<uint32_t>(T));
            LayerActs batched(T, E, Q, KV, F);
            const auto got = flat(run_layer(w, batched, x0, T));
            ASSERT_TRUE(all_finite(got)) << what;
            // the same step twice more (a step topology seen for the first time runs without a graph, the
            // second time it is captured): the last relaunched without an emit (the fast replay), the same results
            for (int again = 0; again < 2; ++again) {
                const int64_t replays0 = gpu().graph_stats().fast_replays;
                EXPECT_EQ(flat(run_layer(w, batched, x0, T)), got) << what << ": the repeated step " << again;
                if (again == 1) {
                    EXPECT_EQ(gpu().graph_stats().fast_replays - replays0, 1) << what << ": the repeated step was not replayed";
                }
            }
            // T one-token steps, their outputs gathered per activation
            std::vector<std::vector<float>> rows(6);
            for (int s = 0; s < T; ++s) {
                LayerActs one(1, E, Q, KV, F);
                const auto o = run_layer(w, one, std::vector<float>(x0.begin() + s * E, x0.begin() + (s + 1) * E), 1);
                for (size_t i = 0; i < rows.size(); ++i) rows[i].insert(rows[i].end(), o[i].begin(), o[i].end());
            }
            EXPECT_NMSE_LE(got, flat(rows), 1e-12, "one step of " + what + " vs one-token steps");
            // the many-token kernel (and the norm as its own launch): within rounding
            {
                ScopedEnv many("RF_GPU_MATVEC1_TOKENS", "1");
                LayerActs m(T, E, Q, KV, F);
                EXPECT_NMSE_LE(flat(run_layer(w, m, x0, T)), got, 1e-4, "many-token kernel vs few-token one " + what);
            }
            // which kernel ran the q/k/v launch: knocked out by name, its outputs stay poisoned
            if (names) {
                const gpu::DispatchTable table = gpu::active_dispatch_table(gpu().device_info().arch);
                const bool mma = T >= table.matvec_mma_min_tokens && T <= table.matvec_mma_max_tokens &&
                                 gpu::matvec_mma_supports(t, T, E) && (Q + 2 * KV) * E > table.matvec_mma_min_weights;
                for (const bool few : {true, false}) {
                    std::unique_ptr<ScopedEnv> off;
                    if (!few) off = std::make_unique<ScopedEnv>("RF_GPU_MATVEC1_TOKENS", "1");
                    ScopedEnv skip("RF_GPU_PROFILE_SKIP", "matvec1_kernel");
                    LayerActs m(T, E, Q, KV, F);
                    const auto k = run_layer(w, m, x0, T)[2];
                    const bool one_token_kernel = few && !mma;
                    EXPECT_EQ(!all_finite(k), one_token_kernel)
                        << what << (few ? "" : " with RF_GPU_MATVEC1_TOKENS=1") << ": the q/k/v launch "
                        << (one_token_kernel ? "was not" : "was") << " on the one-token kernel";
                }
                if (!mma) {  // the instance of exactly T tokens (mangled: its last template argument NT, then the
                             // MatvecArgs parameter); not the four-token one with tokens left empty
                    const std::string instance = "Li" + std::to_string(T) + "EEEvNS0_10MatvecArgsE";
                    ScopedEnv skip("RF_GPU_PROFILE_SKIP", instance.c_str());
                    LayerActs m(T, E, Q, KV, F);
                    EXPECT_FALSE(all_finite(run_layer(w, m, x0, T)[2])) << what << ": the q/k/v launch was not on the "
                                                                        << T << "-token instance";
                }
            }
        }
        for (const Weight& o : w.owned) gpu().release(const_cast<void*>(o.data));
    }
}

}  // namespace
}  // namespace rf::gputest
