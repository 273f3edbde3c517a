// Generation on the embedded default model (tiny-qwen3 q8_0) on the CPU: the golden greedy
// output, seeds, stop strings, limits, the context limit, and chat prompt reuse.
#include <gtest/gtest.h>

#include "core/error.h"
#include "engine/generator.h"
#include "engine/loaded_model.h"
#include "engine/session.h"
#include "engine_test_util.h"

namespace rf {
namespace {

LoadedModel& default_model() { return test::default_cpu_model(256); }

GenerateResult run(const std::string& prompt, GenerateOptions g, int32_t n_ctx = 256) {
    LoadedModel& lm = default_model();
    Session s(lm.model(), lm.kv(), n_ctx);
    const auto ids = lm.tokenizer().encode(prompt, true, true);
    return generate(s, lm.tokenizer(), ids, g);
}

TEST(Generate, GoldenGreedyOutputOfTheDefaultModel) {
    GenerateOptions g;
    g.max_tokens = 32;
    g.sampling.temperature = 0.0f;
    const GenerateResult r = run("The Python interpreter", g);
    EXPECT_EQ(r.text,
              " is compiled to work with the compiled Python\nPython compiled in release mode.  The Python source "
              "tree is compiled into a\nPython source tree; it is now");
    EXPECT_EQ(r.tokens.size(), 32u);
    EXPECT_EQ(r.finish, FinishReason::Length);
}

// Decode pipelining feeds token ids held on a GPU; the CPU backend refuses such a step with a
// message, and the session stays usable (nothing fed, nothing left unresolved).
TEST(Generate, ADeviceHeldTokenIsRefusedOnTheCpu) {
    LoadedModel& lm = default_model();
    Session s(lm.model(), lm.kv(), 64);
    const auto ids = lm.tokenizer().encode("Hello", true, true);
    s.feed(ids, 512, nullptr);
    try {
        s.feed_device_token();
        ADD_FAILURE() << "the CPU backend took a device-held token";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("CPU backend"), std::string::npos) << e.what();
    }
    EXPECT_EQ(s.length(), static_cast<int32_t>(ids.size()));
    EXPECT_FALSE(s.has_unresolved_token());
    std::vector<float> logits;
    s.feed(std::vector<int32_t>{ids.back()}, 1, &logits);
    EXPECT_EQ(s.length(), static_cast<int32_t>(ids.size()) + 1);
}

TEST(Generate, SameSeedSameTextAndDifferentSeedsDiffer) {
    GenerateOptions g;
    g.max_tokens = 24;
    g.sampling.temperature = 1.0f;
    g.sampling.seed = 42;
    const auto a = run("In computer science", g), b = run("In computer science", g);
    EXPECT_EQ(a.text, b.text);
    g.sampling.seed = 43;
    const auto c = run("In computer science", g);
    EXPECT_NE(a.text, c.text);
}

TEST(Generate, StopsAtAStopStringWithoutPrintingIt) {
    GenerateOptions g;
    g.max_tokens = 32;
    g.sampling.temperature = 0.0f;
    g.stop = {"release"};
    std::string streamed;
    LoadedModel& lm = default_model();
    Session s(lm.model(), lm.kv(), 256);
    const auto ids = lm.tokenizer().encode("The Python interpreter", true, true);
    const GenerateResult r = generate(s, lm.tokenizer(), ids, g, [&](std::string_view t) {
        streamed += t;
        return true;
    });
    EXPECT_EQ(r.finish, FinishReason::Stop);
    EXPECT_EQ(r.text, " is compiled to work with the compiled Python\nPython compiled in ");
    EXPECT_EQ(streamed, r.text);
}

TEST(Generate, CancelAndContextLimit) {
    GenerateOptions g;
    g.max_tokens = 100;
    g.sampling.temperature = 0.0f;
    LoadedModel& lm = default_model();
    {
        Session s(lm.model(), lm.kv(), 256);
        const auto ids = lm.tokenizer().encode("Hello", true, true);
        int pieces = 0;
        const auto r = generate(s, lm.tokenizer(), ids, g, [&](std::string_view) { return ++pieces < 3; });
        EXPECT_EQ(r.finish, FinishReason::Cancelled);
    }
    const auto r = run("Hello", g, /*n_ctx=*/10);
    EXPECT_EQ(r.finish, FinishReason::ContextFull);
    // 10 tokens fill the context; the token sampled from the full context is still returned.
    EXPECT_EQ(r.n_prompt + static_cast<int32_t>(r.tokens.size()), 11);
    // A prompt longer than the context is a clear error, not a crash.
    try {
        run(std::string(200, 'x') + " and more words than fit", g, 8);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("more than the context size 8"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace rf
