// Qwen3-MoE end to end on the CPU against the Hugging Face transformers reference (float32,
// tests/fixtures/reference/tiny-qwen3moe.*): the file llama.cpp's converter wrote (q8_0; llama.cpp's own
// CPU backend meets 2.7e-2 of the largest logit and the same argmax at 40 of 43 positions on its
// prompts, ../shared/README.md) and the f32 file our converter writes (the model itself: a float
// rounding away from the reference, the whole greedy continuation kept).
#include <gtest/gtest.h>

#include <cstdio>

#include "formats/gguf/gguf_file.h"
#include "model/model_config.h"
#include "model_test_util.h"
#include "tools_convert_test_util.h"

namespace rf {
namespace {

// The fixture's model through compare_with_reference (model_test_util.h), checked to be qwen3moe.
test::ReferenceReport run(const std::string& path, int n_greedy) {
    EXPECT_EQ(read_model_config(GgufFile(path)).arch, "qwen3moe");
    return test::compare_with_reference(path, "tiny-qwen3moe", n_greedy);
}

TEST(ModelQwen3Moe, LlamaCppQ8_0FileMatchesTransformers) {
    RF_REQUIRE_SHARED();
    const test::ReferenceReport r = run(test::llamacpp_file("tiny-qwen3moe-llamacpp-q8_0.gguf").string(), 0);
    // Measured: 3.78e-2, on the chat prompt (16 positions; the other prompts 1.3e-2 - 3.1e-2), same argmax at
    // 52 of 53. The experts' matmuls quantize their activations to q8_0 as the dense ones do (and as
    // llama.cpp's mul_mat_id); with f32 activations in the experts that prompt gives 2.74e-2 but another
    // 0.169: a router near-tie chosen the other way. A MoE's logit error is its routing's near-ties, so the
    // bound is ours measured, above llama.cpp's 2.7e-2 on its five prompts; the argmax bar is llama.cpp's.
    EXPECT_LE(r.worst, 4e-2);
    EXPECT_GE(r.same_argmax * 43, r.positions * 40);  // llama.cpp's bar: 40 of 43
}

TEST(ModelQwen3Moe, OurF32FileMatchesTransformersAndKeepsTheGreedyContinuation) {
    RF_REQUIRE_SHARED();
    const test::ReferenceReport r = run(test::converted("tiny-qwen3moe", "f32").string(), 64);
    EXPECT_LE(r.worst, 1e-3);
    EXPECT_EQ(r.same_argmax, r.positions);
    for (size_t n : r.greedy_agree) EXPECT_EQ(n, 64u);
}

TEST(ModelQwen3Moe, ATokenReadsOnlyItsChosenExperts) {
    RF_REQUIRE_SHARED();
    const std::string path = test::llamacpp_file("tiny-qwen3moe-llamacpp-q8_0.gguf").string();
    test::CpuModel m(path, 64);
    const ModelConfig& c = m.model.config();
    ASSERT_EQ(c.n_expert, 8);
    ASSERT_EQ(c.n_expert_used, 2);
    // by hand from the file: every tensor (the embedding is the tied output), the expert tensors at 2 of 8
    const GgufFile f(path);
    size_t want = 0, experts = 0, expert_bytes = 0;
    for (const auto& t : f.tensors()) {
        const bool expert = t.name.find("_exps.weight") != std::string::npos;
        want += expert ? t.nbytes / 8 * 2 : t.nbytes;
        experts += expert ? 1 : 0;
        expert_bytes += expert ? t.nbytes : 0;
    }
    EXPECT_EQ(experts, 12u);
    EXPECT_EQ(weight_bytes_per_token(m.model.weights(), c), want);
    EXPECT_EQ(m.model.weights().total_bytes - want, expert_bytes / 8 * 6);  // 6 of 8 experts unread
}

}  // namespace
}  // namespace rf
