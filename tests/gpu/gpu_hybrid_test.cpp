// The Qwen3.5 hybrid's GPU ops against the CPU's: Gated DeltaNet (gated_delta_net.cu against
// cpu_gated_delta_net.cpp) for both key head dims, one token and many, with the recurrent state carried
// from call to call; the sigmoid gate; and the whole tiny-qwen35moe model (our converter's f32 file of
// ../shared/models/tiny-qwen35moe, ROCMFORGE_SHARED_DIR on the GPU machine) on both backends, and
// llama.cpp's q8_0 file on the GPU against the transformers reference with llama.cpp's own bar.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_ops.h"
#include "engine/generator.h"
#include "engine/session.h"
#include "formats/gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"
#include "gpu/gpu_test_util.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "unit/model_test_util.h"
#include "unit/tools_convert_test_util.h"

namespace rf::gputest {
namespace {

// One Gated DeltaNet layer's f32 vectors on the host and on the device.
struct GdnWeights {
    std::vector<float> conv, a_neg, dt_bias, norm;
    Weight cpu_conv, cpu_a, cpu_dt, cpu_norm, gpu_conv, gpu_a, gpu_dt, gpu_norm;
    GdnWeights(int64_t C, int K, int NV, int DV, uint32_t seed)
        : conv(random_floats(static_cast<size_t>(C * K), seed, 0.5f)),
          a_neg(random_floats(static_cast<size_t>(NV), seed + 1, 1.0f)),
          dt_bias(random_floats(static_cast<size_t>(NV), seed + 2, 1.0f)),
          norm(random_floats(static_cast<size_t>(DV), seed + 3, 0.3f)) {
        for (float& v : a_neg) v = -std::fabs(v) - 0.05f;  // -exp(A_log) < 0
        for (float& v : norm) v += 1.0f;
        cpu_conv = Weight::view(TensorType::F32, K, C, 1, conv.data());
        cpu_a = Weight::view(TensorType::F32, NV, 1, 1, a_neg.data());
        cpu_dt = Weight::view(TensorType::F32, NV, 1, 1, dt_bias.data());
        cpu_norm = Weight::view(TensorType::F32, DV, 1, 1, norm.data());
        gpu_conv = gpu().load_weight(TensorType::F32, K, C, 1, conv.data());
        gpu_a = gpu().load_weight(TensorType::F32, NV, 1, 1, a_neg.data());
        gpu_dt = gpu().load_weight(TensorType::F32, NV, 1, 1, dt_bias.data());
        gpu_norm = gpu().load_weight(TensorType::F32, DV, 1, 1, norm.data());
    }
};

TEST(GpuHybrid, GatedDeltaNetMatchesTheCpuAcrossCalls) {
    uint32_t seed = 7700;
    for (const int DK : {64, 128}) {
        const int NK = 2, NV = 4, DV = DK, K = 4;
        GatedDeltaNet p;
        p.n_k_heads = NK;
        p.n_v_heads = NV;
        p.d_k = DK;
        p.d_v = DV;
        const int64_t C = p.channels();
        GdnWeights w(C, K, NV, DV, ++seed);
        GatedDeltaNet pc = p, pg = p;
        pc.conv = &w.cpu_conv, pc.a_neg = &w.cpu_a, pc.dt_bias = &w.cpu_dt, pc.norm = &w.cpu_norm;
        pg.conv = &w.gpu_conv, pg.a_neg = &w.gpu_a, pg.dt_bias = &w.gpu_dt, pg.norm = &w.gpu_norm;
        ASSERT_EQ(pc.state_floats(), static_cast<size_t>((K - 1) * C + NV * DK * DV));
        std::vector<float> cpu_state(pc.state_floats(), 0.0f);
        DeviceActs gpu_state(std::vector<float>(pc.state_floats(), 0.0f), 1, static_cast<int64_t>(pc.state_floats()));
        // three calls: 7 tokens, 1, 2 (fewer than the window), the state carried
        for (const int64_t T : {7, 1, 2}) {
            const auto qkv = random_floats(static_cast<size_t>(T * C), ++seed);
            const auto z = random_floats(static_cast<size_t>(T * NV * DV), ++seed);
            const auto a = random_floats(static_cast<size_t>(T * NV), ++seed);
            const auto b = random_floats(static_cast<size_t>(T * NV), ++seed);
            std::vector<float> ref(static_cast<size_t>(T * NV * DV));
            cpu::gated_delta_net(pool(), {const_cast<float*>(qkv.data()), T, C}, {const_cast<float*>(z.data()), T, NV * DV},
                                 {const_cast<float*>(a.data()), T, NV}, {const_cast<float*>(b.data()), T, NV}, pc,
                                 cpu_state.data(), {ref.data(), T, NV * DV});
            DeviceActs dq(qkv, T, C), dz(z, T, NV * DV), da(a, T, NV), db(b, T, NV), dout(T, NV * DV);
            dout.poison();
            gpu().gated_delta_net(dq.act(), dz.act(), da.act(), db.act(), pg, gpu_state.act().data, dout.act());
            const std::string what = "DK " + std::to_string(DK) + " T " + std::to_string(T);
            EXPECT_NMSE_LE(dout.get(), ref, 1e-10, what);
            EXPECT_NMSE_LE(gpu_state.get(), cpu_state, 1e-10, what + " state");
            std::printf("  gated delta net %s: nmse %.3g\n", what.c_str(), nmse(dout.get().data(), ref.data(), ref.size()));
        }
    }
}

TEST(GpuHybrid, SigmoidMulMatchesTheCpu) {
    const int64_t R = 5, C = 300;
    const auto x = random_floats(static_cast<size_t>(R * C), 1);
    for (const int64_t gc : {C, int64_t{1}}) {
        const auto g = random_floats(static_cast<size_t>(R * gc), 2, 2.0f);
        std::vector<float> ref(static_cast<size_t>(R * C));
        cpu::sigmoid_mul(pool(), {const_cast<float*>(x.data()), R, C}, {const_cast<float*>(g.data()), R, gc}, {ref.data(), R, C});
        DeviceActs dx(x, R, C), dg(g, R, gc), dout(R, C);
        dout.poison();
        gpu().sigmoid_mul(dx.act(), dg.act(), dout.act());
        EXPECT_NMSE_LE(dout.get(), ref, 1e-12, "sigmoid_mul gate cols " + std::to_string(gc));
    }
}

std::vector<float> logits_of(Model& m, KvCache& kv, const std::vector<int32_t>& ids, int32_t n_batch) {
    Session s(m, kv, 256);
    std::vector<float> all;
    s.feed(ids, n_batch, nullptr, &all);
    return all;
}

TEST(GpuHybrid, TinyQwen35MoeModelMatchesTheCpu) {
    RF_REQUIRE_SHARED();
    const std::string path = test::converted("tiny-qwen35moe", "f32").string();
    CpuBackend cpu_be(4);
    Model mc(path, cpu_be), mg(path, gpu());
    KvCache kc(cpu_be, KvCacheConfig{32, 16, KvCodec::F32}, mc.kv_layer_shapes());
    KvCache kg(gpu(), KvCacheConfig{32, 16, KvCodec::F32}, mg.kv_layer_shapes());
    const test::Reference ref = test::load_reference("tiny-qwen35moe");
    for (const auto& p : ref.prompts) {
        for (const int32_t n_batch : {512, 1}) {  // one step, and token by token (the decode path)
            const auto c = logits_of(mc, kc, p.ids, n_batch);
            const auto g = logits_of(mg, kg, p.ids, n_batch);
            const std::string what = p.text.substr(0, 12) + " n_batch " + std::to_string(n_batch);
            EXPECT_NMSE_LE(g, c, 1e-6, what);
            std::printf("  tiny-qwen35moe f32 %s: gpu vs cpu nmse %.3g, gpu vs transformers %.3g\n", what.c_str(),
                        nmse(g.data(), c.data(), c.size()), test::relative_max_error(g, p.logits));
        }
    }
}

TEST(GpuHybrid, LlamaCppQ8_0FileOnTheGpuMeetsLlamaCppsBar) {
    RF_REQUIRE_SHARED();
    Model m(test::llamacpp_file("tiny-qwen35moe-llamacpp-q8_0.gguf").string(), gpu());
    KvCache kv(gpu(), KvCacheConfig{32, 16, KvCodec::F16}, m.kv_layer_shapes());
    const test::Reference ref = test::load_reference("tiny-qwen35moe");
    double worst = 0.0;
    int positions = 0, same = 0;
    for (const auto& p : ref.prompts) {
        const auto g = logits_of(m, kv, p.ids, 512);
        worst = std::max(worst, test::relative_max_error(g, p.logits));
        for (size_t t = 0; t < p.ids.size(); ++t) {
            ++positions;
            same += test::argmax_row(g, t, ref.n_vocab) == test::argmax_row(p.logits, t, ref.n_vocab);
        }
    }
    std::printf("  tiny-qwen35moe q8_0 on the GPU: max |d| / max |ref| %.3g, argmax %d / %d\n", worst, same, positions);
    EXPECT_LE(worst, 1.2e-1);
    EXPECT_GE(same * 43, positions * 42);
}

// Greedy generation of a model with linear-attention layers is not pipelined on the GPU (a step fed
// ahead could not be taken back from the recurrent state without feeding the whole sequence again): no
// step takes its data from a sampling chain, and the tokens equal those with pipelining switched off.
TEST(GpuHybrid, GreedyGenerationIsNotPipelined) {
    RF_REQUIRE_SHARED();
    auto file = std::make_unique<GgufFile>(test::llamacpp_file("tiny-qwen35moe-llamacpp-q8_0.gguf").string());
    const Tokenizer tok(vocab_from_gguf(*file));
    Model m(std::move(file), gpu());
    KvCache kv(gpu(), KvCacheConfig{32, 16, KvCodec::F16}, m.kv_layer_shapes());
    const auto prompt = tok.encode("The Python interpreter", true, true);
    GenerateResult r[2];
    for (int off = 0; off < 2; ++off) {
        std::unique_ptr<ScopedEnv> sw;
        if (off) sw = std::make_unique<ScopedEnv>("RF_DECODE_PIPELINE", "off");
        const int64_t fused = gpu().graph_stats().fused_uploads;
        Session s(m, kv, 256);
        GenerateOptions g;
        g.max_tokens = 40;
        g.sampling.temperature = 0.0f;
        r[off] = generate(s, tok, prompt, g, [](std::string_view) { return true; });
        EXPECT_EQ(gpu().graph_stats().fused_uploads, fused) << "run " << off << ": a step fed from a sampling chain";
        EXPECT_EQ(gpu().pending_argmax(), 0);
        // (the last token of a length-limited run is not fed)
        EXPECT_EQ(static_cast<size_t>(s.length()),
                  prompt.size() + r[off].tokens.size() - (r[off].finish == FinishReason::Length ? 1 : 0));
    }
    EXPECT_EQ(r[0].tokens, r[1].tokens);
    EXPECT_GT(r[0].tokens.size(), 0u);
}

}  // namespace
}  // namespace rf::gputest
