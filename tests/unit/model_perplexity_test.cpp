// Perplexity of tiny-qwen3 on ../shared/text/heldout.txt at ctx 512 (every position after the
// first of each window) matches transformers (bf16 weights, float32 math: 74.3503, recorded in
// tests/fixtures/reference/tiny-qwen3.json) within 0.5 %.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "engine/loaded_model.h"
#include "model_test_util.h"
#include "tools/perplexity.h"

namespace rf {
namespace {

TEST(ModelPerplexity, TinyQwen3F16MatchesTransformersOnHeldout) {
    RF_REQUIRE_SHARED();
    const test::Reference ref = test::load_reference("tiny-qwen3");
    LoadOptions o;
    o.model_path = (test::shared_dir() / "models" / "llamacpp-gguf" / "tiny-qwen3-llamacpp-f16.gguf").string();
    o.backend.device = "cpu";
    o.n_ctx = 512;
    LoadedModel lm(o);
    std::ifstream f(test::shared_dir() / "text" / "heldout.txt", std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const auto tokens = lm.tokenizer().encode(ss.str(), false, true);
    EXPECT_EQ(tokens.size(), 116049u);  // the reference tokenizer's count
    PerplexityOptions po;
    po.n_ctx = 512;
    const PerplexityResult r = compute_perplexity(lm.model(), lm.kv(), tokens, po, nullptr);
    std::printf("perplexity %.4f vs transformers %.4f (%d windows, %lld scored)\n", r.perplexity, ref.perplexity,
                r.n_windows, static_cast<long long>(r.n_scored));
    EXPECT_EQ(r.n_scored, 115486);
    EXPECT_NEAR(r.perplexity, ref.perplexity, 0.005 * ref.perplexity);
}

}  // namespace
}  // namespace rf
