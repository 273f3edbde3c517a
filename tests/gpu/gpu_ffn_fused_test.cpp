// The fused one-token feed-forward launch (ffn1.cuh, RF_GPU_FFN_FUSED): rms_norm + gate/up + SwiGLU +
// down + residual add as one dataflow launch against the same ops as separate launches, over repeated
// decode steps (the launch's sync words must be back at zero for every replay, or the next step skips
// items): every output of the ops (norm output, gate, up, act, down, the residual stream) within
// rounding (the down sums run in another order, act's q8_1 blocks the same), with the down projection's
// columns in 1 (default), 2 or 4 parts, at 4 (default) or 2 blocks per SM, and the same bits when run
// again; the fused launch is the
// one that did the work (knocked out by name, x stays as it was); the 7b shape with Q6_K down
// projections whose 64-column units straddle act's chunks; the model's buffers (swiglu in place, the
// down projection into the norm's output, which the fused launch writes twice).
#include <gtest/gtest.h>

#include <memory>

#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

struct FfnCase {
    TensorType gate_up, down;
    int64_t E, F;
    bool bias;
    bool model_buffers;  // as the model's block: swiglu into g, the down projection into the norm's output
};

struct FfnOutputs {
    std::vector<float> x, norm, g, u, down;
};

// Steps decode steps of x += down(swiglu(gate(norm(x)), up(norm(x)))) with a fresh x per step.
FfnOutputs run_ffn(const FfnCase& c, int steps, uint32_t seed) {
    const uint32_t x_seed = seed * 7;  // step s: random_floats(E, x_seed + s)
    struct W {
        std::vector<uint8_t> bytes;
        Weight w;
    };
    auto weight = [&](TensorType t, int64_t rows, int64_t cols) {
        W w;
        w.bytes = random_weight_bytes(t, rows, cols, ++seed);
        w.w = gpu().load_weight(t, cols, rows, 1, w.bytes.data());
        return w;
    };
    W wg = weight(c.gate_up, c.F, c.E), wu = weight(c.gate_up, c.F, c.E), wd = weight(c.down, c.E, c.F);
    std::vector<float> nw = random_floats(static_cast<size_t>(c.E), ++seed, 0.1f);
    for (float& v : nw) v += 1.0f;
    const Weight norm = gpu().load_weight(TensorType::F32, c.E, 1, 1, nw.data());
    const auto bg = random_floats(static_cast<size_t>(c.F), ++seed, 0.1f), bu = random_floats(static_cast<size_t>(c.F), ++seed, 0.1f);
    const Weight bgw = gpu().load_weight(TensorType::F32, c.F, 1, 1, bg.data());
    const Weight buw = gpu().load_weight(TensorType::F32, c.F, 1, 1, bu.data());
    DeviceActs x(1, c.E), h(1, c.E), g(1, c.F), u(1, c.F), a(1, c.F), d(1, c.E);
    FfnOutputs out;
    for (int step = 0; step < steps; ++step) {
        x.set(random_floats(static_cast<size_t>(c.E), x_seed + static_cast<uint32_t>(step)));
        gpu().begin_step(make_plan(1, step, 16, 64, 5));
        gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
        gpu().matmul(wg.w, h.act(), g.act(), c.bias ? &bgw : nullptr);
        gpu().matmul(wu.w, h.act(), u.act(), c.bias ? &buw : nullptr);
        DeviceActs& act = c.model_buffers ? g : a;
        DeviceActs& down = c.model_buffers ? h : d;
        gpu().swiglu(g.act(), u.act(), act.act());
        gpu().matmul(wd.w, act.act(), down.act(), nullptr);
        gpu().add(x.act(), down.act(), x.act());
        const std::pair<std::vector<float>*, DeviceActs*> outs[] = {
            {&out.x, &x}, {&out.norm, c.model_buffers ? nullptr : &h}, {&out.g, c.model_buffers ? nullptr : &g}, {&out.u, &u}, {&out.down, &down}};
        for (auto [dst, src] : outs) {
            if (src == nullptr) continue;
            const auto v = src->get();
            dst->insert(dst->end(), v.begin(), v.end());
        }
    }
    for (W* w : {&wg, &wu, &wd}) gpu().release(const_cast<void*>(w->w.data));
    for (const Weight* w : {&norm, &bgw, &buw}) gpu().release(const_cast<void*>(w->data));
    return out;
}

std::string describe(const FfnCase& c) {
    return std::string(type_name(c.gate_up)) + "/" + type_name(c.down) + " " + std::to_string(c.E) + "x" + std::to_string(c.F) +
           (c.bias ? " bias" : "");
}

TEST(GpuFfnFused, MatchesTheSeparateLaunches) {
    const FfnCase cases[] = {
        {TensorType::Q4_0, TensorType::Q4_0, 1024, 2816, false, false},  // 88 gate/up items in 11 chunks
        {TensorType::Q8_0, TensorType::Q8_0, 1024, 2816, false, true},
        {TensorType::Q4_K, TensorType::Q4_K, 1024, 2816, true, false},
        {TensorType::Q4_K, TensorType::Q6_K, 3584, 18944, false, true},  // 7b: 16 chunks of 1,184 columns, Q6_K units of 64
        {TensorType::Q4_0, TensorType::Q4_0, 3584, 18944, false, true},
    };
    uint32_t seed = 800;
    for (const FfnCase& c : cases) {
        seed += 100;
        const int steps = c.E > 2048 ? 6 : 12;
        FfnOutputs sep, fused, skipped;
        {
            ScopedEnv off("RF_GPU_FFN_FUSED", "off");
            sep = run_ffn(c, steps, seed);
        }
        {
            ScopedEnv on("RF_GPU_FFN_FUSED", "all");
            fused = run_ffn(c, steps, seed);
            // the same bits again: the parts of a row are summed in part order whatever the timing
            const FfnOutputs again = run_ffn(c, steps, seed);
            EXPECT_EQ(again.x, fused.x) << describe(c) << ": the fused launch is not deterministic";
            for (const char* parts : {"2", "4"}) {
                ScopedEnv p("RF_GPU_FFN_PARTS", parts);
                const FfnOutputs other = run_ffn(c, steps, seed);
                EXPECT_NMSE_LE(other.x, sep.x, 1e-7, "residual stream, " + std::string(parts) + " parts, " + describe(c));
            }
            ScopedEnv b("RF_GPU_FFN_BLOCKS", "2");
            const FfnOutputs two = run_ffn(c, steps, seed);
            EXPECT_NMSE_LE(two.x, sep.x, 1e-7, "residual stream, 2 blocks per SM, " + describe(c));
        }
        {
            ScopedEnv on("RF_GPU_FFN_FUSED", "all");
            ScopedEnv skip("RF_GPU_PROFILE_SKIP", "ffn1_kernel");
            skipped = run_ffn(c, 1, seed);
        }
        ASSERT_TRUE(all_finite(fused.x)) << describe(c);
        // the same arithmetic per row but another split of the sums over lanes: rounding only
        if (!c.model_buffers) {  // (there the down projection and act overwrite them)
            EXPECT_NMSE_LE(fused.norm, sep.norm, 1e-12, "norm output " + describe(c));
            EXPECT_NMSE_LE(fused.g, sep.g, 1e-10, "gate " + describe(c));
        }
        EXPECT_NMSE_LE(fused.u, sep.u, 1e-10, "up " + describe(c));
        // (a last-bit difference in act can move one of its q8_1 roundings)
        EXPECT_NMSE_LE(fused.down, sep.down, 1e-7, "down " + describe(c));
        EXPECT_NMSE_LE(fused.x, sep.x, 1e-7, "residual stream " + describe(c));
        // knocked out, the fused launch leaves x as it was: it is the launch that adds the block's output
        const auto x0 = random_floats(static_cast<size_t>(c.E), seed * 7);
        EXPECT_EQ(std::vector<float>(skipped.x.begin(), skipped.x.begin() + c.E), x0)
            << describe(c) << ": the feed-forward block did not go to the fused launch";
    }
}

}  // namespace
}  // namespace rf::gputest
