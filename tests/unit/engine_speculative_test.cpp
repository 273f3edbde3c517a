// Speculative decoding with prompt-lookup drafts (GenerateOptions::draft, engine/prompt_lookup.h) on
// the embedded default model (CPU): the drafts, and generation with them giving the tokens, text,
// finish and session that one-token-at-a-time greedy decoding gives, at every way generation ends.
#include <gtest/gtest.h>

#include "test_paths.h"
#include "core/error.h"
#include "engine/generator.h"
#include "engine/loaded_model.h"
#include "engine/prompt_lookup.h"
#include "engine/session.h"
#include "engine_test_util.h"

namespace rf {
namespace {

TEST(PromptLookup, DraftsFollowTheLatestLongestMatch) {
    using V = std::vector<int32_t>;
    // last 3 tokens 1 2 3 occur at 0 and 5: the latest (5) is followed by 9 9
    EXPECT_EQ(prompt_lookup_draft(V{1, 2, 3, 4, 5, 1, 2, 3, 9, 9, 1, 2, 3}, 3, 1, 4), (V{9, 9, 1, 2}));
    EXPECT_EQ(prompt_lookup_draft(V{1, 2, 3, 4, 5, 1, 2, 3, 9, 9, 1, 2, 3}, 3, 1, 1), (V{9}));
    // no 3- or 2-gram match: the last token alone (7 at 1, followed by 8)
    EXPECT_EQ(prompt_lookup_draft(V{5, 7, 8, 6, 7}, 3, 1, 8), (V{8, 6, 7}));
    EXPECT_EQ(prompt_lookup_draft(V{5, 7, 8, 6, 7}, 3, 2, 8), V{});  // min n-gram 2: none
    EXPECT_EQ(prompt_lookup_draft(V{1, 2, 3}, 3, 1, 8), V{});
    EXPECT_EQ(prompt_lookup_draft(V{4, 4, 4, 4}, 2, 1, 3), (V{4}));  // the latest earlier 4 4 is followed by one 4
    EXPECT_EQ(prompt_lookup_draft(V{1}, 3, 1, 8), V{});
    EXPECT_EQ(prompt_lookup_draft(V{1, 2, 1}, 3, 1, 0), V{});
}

LoadedModel& model() { return test::default_cpu_model(512); }

struct Generated {
    GenerateResult r;
    std::vector<int32_t> session_tokens;
};

Generated run(const std::string& prompt, GenerateOptions g, int32_t n_ctx = 512) {
    Session s(model().model(), model().kv(), n_ctx);
    const auto ids = model().tokenizer().encode(prompt, true, true);
    Generated out{generate(s, model().tokenizer(), ids, g), {}};
    out.session_tokens = s.tokens();
    return out;
}

const char* kRepetitive =
    "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n\ndef mul(a, b):\n    return a * b\n\n"
    "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n";

// A forward pass of several tokens rounds differently from single-token steps (on the CPU the q8
// activations of a 3+-token pass differ by ~1e-6, and a flipped rounding moves the default model's
// logits by up to ~0.4: `rocmforge logits -b 1` vs `-b 3`), so greedy texts may part at a near tie.
// With n_batch = 1 the verification's tokens go through the model one at a time, the same arithmetic
// as one-at-a-time decoding: then the drafted run must give exactly its tokens, text, finish and
// session, which tests the drafting, the keeping and the cutting back.
TEST(Speculative, DraftedGreedyGivesWhatOneTokenAtATimeGives) {
    struct Case {
        const char* prompt;
        int32_t max_tokens;
        std::vector<std::string> stop;
        bool ignore_eos;
        int32_t n_ctx;
    };
    const Case cases[] = {
        {kRepetitive, 96, {}, false, 512},
        {kRepetitive, 7, {}, false, 512},                 // max_tokens inside a kept draft
        {kRepetitive, 96, {"return a * b"}, false, 512},  // a stop string inside a kept draft
        {"The Python interpreter", 48, {}, false, 512},
        {"1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4,", 40, {}, true, 512},
        {kRepetitive, -1, {}, true, 120},                 // until the context is full
    };
    int64_t kept_drafts = 0;
    for (const Case& c : cases) {
        GenerateOptions g;
        g.max_tokens = c.max_tokens;
        g.sampling.temperature = 0.0f;
        g.stop = c.stop;
        g.ignore_eos = c.ignore_eos;
        g.n_batch = 1;
        const Generated one = run(c.prompt, g, c.n_ctx);
        for (int32_t draft : {1, 4, 8}) {
            g.draft = draft;
            const Generated spec = run(c.prompt, g, c.n_ctx);
            const std::string what = std::string(c.prompt).substr(0, 24) + " max " + std::to_string(c.max_tokens) + " draft " +
                                     std::to_string(draft);
            EXPECT_EQ(spec.r.tokens, one.r.tokens) << what;
            EXPECT_EQ(spec.r.text, one.r.text) << what;
            EXPECT_EQ(spec.r.finish, one.r.finish) << what;
            EXPECT_EQ(spec.session_tokens, one.session_tokens) << what << ": the session keeps what one at a time feeds";
            EXPECT_LE(spec.r.accepted, spec.r.drafted) << what;
            EXPECT_LE(spec.r.decode_steps, one.r.decode_steps) << what;
            kept_drafts += spec.r.accepted;
        }
    }
    EXPECT_GT(kept_drafts, 100) << "the repetitive prompts' drafts were kept";
}

// With the default batch the verification is one forward pass: the repeated code takes several
// tokens per pass, and its start is what one at a time gives (before any near tie).
TEST(Speculative, RepeatedTextTakesSeveralTokensPerForwardPass) {
    GenerateOptions g;
    g.max_tokens = 64;
    g.sampling.temperature = 0.0f;
    const Generated one = run(kRepetitive, g);
    g.draft = 8;
    const Generated spec = run(kRepetitive, g);
    EXPECT_LT(spec.r.decode_steps * 2, static_cast<int32_t>(spec.r.tokens.size())) << spec.r.decode_steps;
    ASSERT_GE(spec.r.tokens.size(), 16u);
    EXPECT_EQ(std::vector<int32_t>(spec.r.tokens.begin(), spec.r.tokens.begin() + 16),
              std::vector<int32_t>(one.r.tokens.begin(), one.r.tokens.begin() + 16));
}

TEST(Speculative, AChatContinuesFromTheSessionItLeaves) {
    // two turns in one session (the second continues what the first left), drafted and one at a time
    auto two_turns = [](int32_t draft) {
        Session s(model().model(), model().kv(), 512);
        GenerateOptions g;
        g.max_tokens = 24;
        g.sampling.temperature = 0.0f;
        g.n_batch = 1;
        g.draft = draft;
        const auto first = model().tokenizer().encode(kRepetitive, true, true);
        const GenerateResult r1 = generate(s, model().tokenizer(), first, g);
        const auto next = model().tokenizer().encode("\n\ndef add(", false, true);
        const GenerateResult r2 = generate(s, model().tokenizer(), next, g);
        return std::make_tuple(r1.tokens, r2.tokens, s.tokens(), r1.accepted + r2.accepted);
    };
    const auto [one1, one2, one_session, one_kept] = two_turns(0);
    const auto [spec1, spec2, spec_session, spec_kept] = two_turns(6);
    EXPECT_EQ(spec1, one1);
    EXPECT_EQ(spec2, one2);
    EXPECT_EQ(spec_session, one_session);
    EXPECT_EQ(one_kept, 0);
    EXPECT_GT(spec_kept, 10);
}

TEST(Speculative, SamplingAndRecurrentModelsAreRefused) {
    GenerateOptions g;
    g.max_tokens = 4;
    g.sampling.temperature = 0.7f;
    g.draft = 4;
    try {
        (void)run("hello", g);
        FAIL() << "a temperature with drafts ran";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("greedy only (temperature 0.7"), std::string::npos) << e.what();
    }
    // a hybrid model's recurrent state cannot be cut back to the kept draft
    RF_REQUIRE_SHARED();
    LoadOptions o;
    o.model_path = (test::shared_dir() / "models" / "llamacpp-gguf" / "tiny-qwen35moe-llamacpp-q8_0.gguf").string();
    o.backend.device = "cpu";
    o.n_ctx = 128;
    LoadedModel hybrid(o);
    Session s(hybrid.model(), hybrid.kv(), 128);
    g.sampling.temperature = 0.0f;
    try {
        (void)generate(s, hybrid.tokenizer(), hybrid.tokenizer().encode("hello", true, true), g);
        FAIL() << "drafts ran on a hybrid model";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("linear-attention layers"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace rf
