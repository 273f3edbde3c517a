// Embeddings (engine/embedding.h) on the embedded default model (CPU): the last token's state is what
// the LM head reads, the poolings are the rows they name, the vector is normalised, chunked prefill
// gives the same vector, and the sequence's KV blocks are given back.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "engine/embedding.h"
#include "engine/session.h"
#include "engine_test_util.h"
#include "formats/quant/quantize.h"
#include "model/model_config.h"
#include "tokenizer/tokenizer.h"

namespace rf {
namespace {

double norm_of(const std::vector<float>& v) {
    double s = 0.0;
    for (float x : v) s += static_cast<double>(x) * x;
    return std::sqrt(s);
}

TEST(Embedding, TheLastTokensStateIsWhatTheLmHeadReads) {
    LoadedModel& lm = test::default_cpu_model(512);
    const auto ids = lm.tokenizer().encode("The Python interpreter", true, true);
    EmbedOptions o;
    o.normalize = false;
    const std::vector<float> h = embed_tokens(lm.model(), lm.kv(), ids, 512, o);
    ASSERT_EQ(h.size(), static_cast<size_t>(lm.model().config().n_embd));
    std::vector<float> logits;
    {
        Session s(lm.model(), lm.kv(), 512);
        s.feed(ids, 512, &logits);
    }
    // the output matrix (host memory on the CPU backend) times the state, against the logits
    const Weight& out = lm.model().weights().output;
    std::vector<float> row(static_cast<size_t>(out.cols));
    double worst = 0.0, scale = 0.0;
    int32_t best = 0;
    float best_dot = -1e30f;
    for (int64_t v = 0; v < out.rows; ++v) {
        dequantize_row(out.type, static_cast<const uint8_t*>(out.data) + v * out.row_bytes, row.data(), out.cols);
        double dot = 0.0;
        for (size_t i = 0; i < row.size(); ++i) dot += static_cast<double>(row[i]) * h[i];
        worst = std::max(worst, std::abs(dot - logits[static_cast<size_t>(v)]));
        scale = std::max(scale, std::abs(static_cast<double>(logits[static_cast<size_t>(v)])));
        if (dot > best_dot) {
            best_dot = static_cast<float>(dot);
            best = static_cast<int32_t>(v);
        }
    }
    EXPECT_LT(worst, 2e-2 * scale) << "scale " << scale;  // (the CPU's matmul rounds the state to q8 blocks)
    EXPECT_EQ(best, static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
}

TEST(Embedding, PoolingsNormalisationChunksAndTheKvBlocks) {
    LoadedModel& lm = test::default_cpu_model(512);
    const auto ids = lm.tokenizer().encode("A quick brown fox jumps over the lazy dog", true, true);
    const size_t n_embd = static_cast<size_t>(lm.model().config().n_embd);
    std::vector<float> all;
    {
        Session s(lm.model(), lm.kv(), 512);
        s.feed_hidden(ids, 512, /*all_rows=*/true, all);
    }
    ASSERT_EQ(all.size(), ids.size() * n_embd);
    const int32_t free_before = lm.kv().n_free_blocks();
    EmbedOptions o;
    o.normalize = false;
    for (Pooling p : {Pooling::Last, Pooling::Cls, Pooling::Mean}) {
        o.pooling = p;
        const std::vector<float> e = embed_tokens(lm.model(), lm.kv(), ids, 512, o);
        for (size_t i = 0; i < n_embd; ++i) {
            double want = 0.0;
            if (p == Pooling::Last) want = all[(ids.size() - 1) * n_embd + i];
            if (p == Pooling::Cls) want = all[i];
            if (p == Pooling::Mean) {
                for (size_t t = 0; t < ids.size(); ++t) want += all[t * n_embd + i];
                want /= static_cast<double>(ids.size());
            }
            ASSERT_NEAR(e[i], want, 1e-4 * (1.0 + std::abs(want))) << pooling_name(p) << " " << i;
        }
        // three tokens per step: the same vector
        EmbedOptions chunked = o;
        chunked.n_batch = 3;
        const std::vector<float> c = embed_tokens(lm.model(), lm.kv(), ids, 512, chunked);
        for (size_t i = 0; i < n_embd; ++i) ASSERT_NEAR(c[i], e[i], 2e-3 * (1.0 + std::abs(e[i]))) << pooling_name(p);
    }
    EXPECT_EQ(lm.kv().n_free_blocks(), free_before);
    o.pooling = Pooling::Last;
    o.normalize = true;
    const std::vector<float> a = embed_tokens(lm.model(), lm.kv(), ids, 512, o);
    EXPECT_NEAR(norm_of(a), 1.0, 1e-5);
    EXPECT_EQ(embed_tokens(lm.model(), lm.kv(), ids, 512, o), a);
    const auto other = lm.tokenizer().encode("Completely different words", true, true);
    EXPECT_NE(embed_tokens(lm.model(), lm.kv(), other, 512, o), a);
    EXPECT_THROW((void)embed_tokens(lm.model(), lm.kv(), std::vector<int32_t>{}, 512, o), Error);
    EXPECT_THROW((void)embed_tokens(lm.model(), lm.kv(), ids, 4, o), Error);  // longer than the context
}

TEST(Embedding, PoolingFromTheModelOrByName) {
    ModelConfig c;
    EXPECT_EQ(default_pooling(c), Pooling::Last);
    c.pooling_type = 1;
    EXPECT_EQ(default_pooling(c), Pooling::Mean);
    c.pooling_type = 2;
    EXPECT_EQ(default_pooling(c), Pooling::Cls);
    c.pooling_type = 3;
    EXPECT_EQ(default_pooling(c), Pooling::Last);
    c.pooling_type = 4;
    EXPECT_THROW((void)default_pooling(c), Error);
    c.pooling_type = 0;
    EXPECT_THROW((void)default_pooling(c), Error);
    EXPECT_EQ(parse_pooling("mean"), Pooling::Mean);
    EXPECT_THROW((void)parse_pooling("max"), Error);
}

}  // namespace
}  // namespace rf
