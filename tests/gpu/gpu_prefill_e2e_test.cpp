// End-to-end prefill on a real model (the embedded tiny Qwen3, q8_0): prompts of 1, 100 and
// 1000 tokens fed through Session (chunked prefill, n_batch tokens per step) on the CPU and on
// the GPU backend, comparing the logits; chunks small enough to go through every GPU path
// (matvec + decode attention, tiled GEMM + flash attention, vendor GEMM), a prompt appended to
// an existing cache, and every row's logits of a chunked prompt.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "backend/cpu/cpu_backend.h"
#include "engine/default_model.h"
#include "engine/session.h"
#include "formats/gguf/gguf_file.h"
#include "gpu/gpu_test_util.h"
#include "kv/kv_cache.h"
#include "model/model.h"

namespace rf::gputest {
namespace {

constexpr int32_t kCtx = 2048;

// One model + KV cache on a backend.
struct Loaded {
    Model model;
    KvCache kv;
    Loaded(Backend& be)
        : model(open_default_model(), be),
          kv(be, KvCacheConfig{kCtx / 16 + 8, 16, KvCodec::F16}, model.kv_layer_shapes()) {}
};

std::vector<int32_t> random_prompt(int n, int vocab, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
    return t;
}

// Logits NMSE of the GPU against the CPU. The GPU rounds activations to f16 (GEMM, attention)
// or q8_1 (matvec) where the CPU keeps f32 or its own q8 form.
constexpr double kLogitsBound = 1e-3;

void expect_close(const std::vector<float>& got, const std::vector<float>& ref, int n_vocab, const std::string& what) {
    ASSERT_EQ(got.size(), ref.size());
    EXPECT_NMSE_LE(got, ref, kLogitsBound, what);
    const size_t rows = ref.size() / static_cast<size_t>(n_vocab);
    int top1_diff = 0;
    for (size_t r = 0; r < rows; ++r) {
        const float* a = got.data() + r * n_vocab;
        const float* b = ref.data() + r * n_vocab;
        const int ia = static_cast<int>(std::max_element(a, a + n_vocab) - a);
        const int ib = static_cast<int>(std::max_element(b, b + n_vocab) - b);
        // the same top token unless the CPU's top two are within the expected error
        if (ia != ib && std::fabs(b[ia] - b[ib]) > 0.02f * std::fabs(b[ib])) ++top1_diff;
    }
    EXPECT_EQ(top1_diff, 0) << what;
    std::printf("  %s: logits nmse %.3g over %zu rows\n", what.c_str(), nmse(got.data(), ref.data(), ref.size()), rows);
}

TEST(GpuPrefillEndToEnd, PromptsOf1_100_1000TokensMatchTheCpu) {
    CpuBackend cpu_be(0);
    Loaded cpu(cpu_be), dev(gpu());
    const int n_vocab = cpu.model.n_vocab();
    uint32_t seed = 42;
    for (int n : {1, 100, 1000})
        for (int32_t n_batch : {512, 64, 7}) {
            if (n_batch == 7 && n > 100) continue;  // the decode-sized chunks only on the short prompt
            const auto prompt = random_prompt(n, n_vocab, ++seed);
            Session sc(cpu.model, cpu.kv, kCtx), sg(dev.model, dev.kv, kCtx);
            std::vector<float> lc, lg;
            sc.feed(prompt, n_batch, &lc);
            sg.feed(prompt, n_batch, &lg);
            expect_close(lg, lc, n_vocab, "prompt " + std::to_string(n) + " n_batch " + std::to_string(n_batch));
        }
}

TEST(GpuPrefillEndToEnd, PromptAppendedToAnExistingCacheAndEveryRow) {
    CpuBackend cpu_be(0);
    Loaded cpu(cpu_be), dev(gpu());
    const int n_vocab = cpu.model.n_vocab();
    const auto first = random_prompt(300, n_vocab, 7), second = random_prompt(333, n_vocab, 8);
    Session sc(cpu.model, cpu.kv, kCtx), sg(dev.model, dev.kv, kCtx);
    std::vector<float> lc, lg, all_c, all_g;
    sc.feed(first, 128, nullptr);
    sg.feed(first, 128, nullptr);
    // 333 tokens after 300 cached ones, in chunks of 100: every row's logits
    sc.feed(second, 100, &lc, &all_c);
    sg.feed(second, 100, &lg, &all_g);
    expect_close(lg, lc, n_vocab, "333 after 300, last row");
    expect_close(all_g, all_c, n_vocab, "333 after 300, every row");
}

}  // namespace
}  // namespace rf::gputest
