// The server's continuous-batching scheduler on the CPU: requests that run together (decode
// tokens and prompt chunks in the same steps) give what one request alone gives (generate() on
// its own session), and the KV cache is whole again after every kind of end.
//
// "What it gives alone" up to rounding: a step of 3 or 4 tokens runs the CPU's multi-token dot
// kernels, whose sums round differently from the one-token kernel's (measured: max |dlogit| 0 at
// 2 tokens, ~3e-6 at 3, tiny-qwen3 q8_0, AVX-512), and now and then such a difference rounds a q8
// activation the other way, which moves the logits by up to ~0.4 (`rocmforge logits -b 1` vs `-b 3`
// over 115 tokens), so a continuation may part from the lone one, late in the text; vLLM and
// llama.cpp's server batch the same way. A scheduling fault (a wrong block table, position or output
// row) changes the first tokens.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/generator.h"
#include "engine/loaded_model.h"
#include "engine/session.h"
#include "server/scheduler.h"
#include "server_test_util.h"
#include "test_paths.h"

namespace rf::server {
namespace {

std::unique_ptr<LoadedModel> load(const std::string& path, int32_t n_parallel, int32_t n_ctx = 256) {
    LoadOptions o;
    o.model_path = path;
    o.backend.device = "cpu";
    o.backend.n_threads = 2;
    o.n_ctx = n_ctx;
    o.n_seq_max = n_parallel;
    return std::make_unique<LoadedModel>(o);
}

GenerationParams greedy(const LoadedModel& lm, const std::string& prompt, int32_t max_tokens) {
    return greedy_request(lm.tokenizer().encode(prompt, true, true), max_tokens);
}

// The tokens the batched run must share with the lone one (see the top of the file).
constexpr size_t kExactPrefix = 8;

void expect_same_start(const std::vector<int32_t>& batched, const std::vector<int32_t>& alone, const std::string& what) {
    const size_t n = std::min(alone.size(), kExactPrefix);
    ASSERT_GE(batched.size(), n) << what;
    EXPECT_EQ(std::vector<int32_t>(batched.begin(), batched.begin() + static_cast<ptrdiff_t>(n)),
              std::vector<int32_t>(alone.begin(), alone.begin() + static_cast<ptrdiff_t>(n)))
        << what;
    if (batched != alone) std::printf("  (%s: the batched continuation parts from the lone one at a near tie)\n", what.c_str());
}

GenerateResult alone(LoadedModel& lm, const GenerationParams& p) {
    Session s(lm.model(), lm.kv(), lm.n_ctx());
    GenerateOptions g;
    g.max_tokens = p.max_tokens;
    g.sampling = p.sampling;
    g.stop = p.stop;
    return generate(s, lm.tokenizer(), p.prompt, g);
}

std::string model_text(const LoadedModel& lm, const std::vector<int32_t>& tokens) {
    return lm.tokenizer().decode(tokens, /*skip_special=*/true);
}

const std::vector<std::string> kPrompts = {"The Python interpreter", "Hello world", "Once upon a time, in a land far away",
                                           "import numpy as np", "The quick brown fox", "In 1492"};

TEST(ServerScheduler, BatchedRequestsGiveWhatEachGivesAlone) {
    auto lm = load("", 4);
    std::vector<GenerationParams> params;
    std::vector<GenerateResult> expected;
    for (size_t i = 0; i < kPrompts.size(); ++i) {
        params.push_back(greedy(*lm, kPrompts[i], 12 + static_cast<int32_t>(i) * 3));
        expected.push_back(alone(*lm, params.back()));
    }
    // Small steps: the longest prompt is fed in chunks of 8 while the others decode.
    Scheduler sched(*lm, {4, 8});
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (const auto& p : params) streams.push_back(sched.submit(p));
    int64_t n_sampled = 0;
    for (size_t i = 0; i < streams.size(); ++i) {
        const Outcome o = drain(*streams[i]);
        expect_same_start(o.tokens, expected[i].tokens, kPrompts[i]);
        EXPECT_EQ(o.text, model_text(*lm, o.tokens)) << kPrompts[i];
        EXPECT_EQ(o.end.kind, StreamEvent::Kind::Finished);
        EXPECT_EQ(o.end.n_prompt, static_cast<int32_t>(params[i].prompt.size()));
        EXPECT_EQ(o.end.n_generated, static_cast<int32_t>(o.tokens.size()));
        if (o.end.finish == FinishReason::Length) {
            EXPECT_EQ(o.end.n_generated, params[i].max_tokens);
        }
        n_sampled += static_cast<int64_t>(o.tokens.size()) + (o.end.finish == FinishReason::EndOfGeneration);
    }
    sched.call([] {});  // (the last step's figures are in after it)
    const SchedulerStats st = sched.stats();
    EXPECT_EQ(st.max_batch_seqs, 4) << "the requests never shared a step";
    EXPECT_EQ(st.generated_tokens, n_sampled);  // (an end-of-generation token is sampled, not kept)
    sched.drop_prefix_cache();  // (finished requests' sequences are kept for their prefixes until then)
    sched.call([&] { EXPECT_EQ(lm->kv().n_free_blocks(), lm->kv().pool().n_blocks()); });
}

// Two sampled requests queued together (the scheduler held meanwhile, so that both join the same
// steps every time): each follows its seed — the same tokens when run again, different tokens for
// different seeds — and starts as it does alone. (Only the start: a multi-token step's q8 activations
// can round one value the other way, which moves the tiny model's logits by up to ~0.4 — `rocmforge
// logits -b 1` vs `-b 3` — and a sampled draw near a boundary with them.)
TEST(ServerScheduler, SampledRequestsFollowTheirSeeds) {
    auto lm = load("", 2);
    GenerationParams p = greedy(*lm, "The Python interpreter", 20);
    p.sampling.temperature = 0.9f;
    p.sampling.top_k = 40;
    p.sampling.seed = 1234;
    GenerationParams other = p;
    other.sampling.seed = 99;
    auto together = [&] {
        Scheduler sched(*lm, {2, 64});
        std::shared_ptr<RequestStream> a, b;
        queue_while_held(sched, [&] {
            a = sched.submit(p);
            b = sched.submit(other);
        });
        std::vector<int32_t> ta = drain(*a).tokens, tb = drain(*b).tokens;
        return std::make_pair(ta, tb);
    };
    const auto first = together(), second = together();
    EXPECT_EQ(first.first, second.first) << "seed 1234 again";
    EXPECT_EQ(first.second, second.second) << "seed 99 again";
    EXPECT_NE(first.first, first.second) << "seeds 1234 and 99";
    const GenerateResult expected = alone(*lm, p);
    ASSERT_GE(first.first.size(), 3u);
    EXPECT_EQ(std::vector<int32_t>(first.first.begin(), first.first.begin() + 3),
              std::vector<int32_t>(expected.tokens.begin(), expected.tokens.begin() + 3))
        << "seed 1234 batched vs alone";
}

// stop(reason): queued and running requests end with the reason; then submit() and call() refuse with it.
TEST(ServerScheduler, AStoppedSchedulerEndsItsRequestsAndRefusesNewOnes) {
    auto lm = load("", 2);
    Scheduler sched(*lm, {2, 64});
    GenerationParams p = greedy(*lm, "Hello", 200);
    p.ignore_eos = true;
    auto running = sched.submit(p);
    StreamEvent ev;
    while (running->pop(ev, std::chrono::milliseconds(50)) && ev.kind == StreamEvent::Kind::Text && ev.tokens.empty()) {
    }
    EXPECT_FALSE(sched.stopped());
    sched.stop("model \"tiny\" was unloaded");
    EXPECT_TRUE(sched.stopped());
    const Outcome o = drain(*running);
    EXPECT_EQ(o.end.kind, StreamEvent::Kind::Failed);
    EXPECT_EQ(o.end.error, "model \"tiny\" was unloaded");
    try {
        (void)sched.submit(p);
        FAIL() << "a stopped scheduler took a request";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("was unloaded"), std::string::npos) << e.what();
    }
    EXPECT_THROW(sched.call([] {}), Error);
    sched.stop("again");  // (idempotent: the first reason stays)
}

TEST(ServerScheduler, StopStringsAndEndsAreReported) {
    auto lm = load("", 2);
    GenerationParams p = greedy(*lm, "The Python interpreter", 32);
    const GenerateResult full = alone(*lm, p);
    ASSERT_NE(full.text.find("compiled"), std::string::npos);
    p.stop = {"release", "compiled"};
    Scheduler sched(*lm, {2, 64});
    const Outcome o = drain(*sched.submit(p));
    EXPECT_EQ(o.end.finish, FinishReason::Stop);
    EXPECT_EQ(o.end.stop_string, "compiled");
    EXPECT_EQ(o.text, full.text.substr(0, full.text.find("compiled")));

    GenerationParams zero = greedy(*lm, "Hello", 0);
    const Outcome z = drain(*sched.submit(zero));
    EXPECT_EQ(z.end.finish, FinishReason::Length);
    EXPECT_EQ(z.end.n_generated, 0);
    EXPECT_TRUE(z.text.empty());

    // No max_tokens: generation runs to the context's end at the latest.
    GenerationParams open = greedy(*lm, "Hello", -1);
    open.ignore_eos = true;
    const Outcome u = drain(*sched.submit(open));
    EXPECT_EQ(u.end.finish, FinishReason::ContextFull);
    EXPECT_EQ(u.end.n_prompt + u.end.n_generated, lm->n_ctx());
}

TEST(ServerScheduler, RequestsThatCannotRunAreRefusedByName) {
    auto lm = load("", 1, 64);
    Scheduler sched(*lm, {1, 32});
    GenerationParams p = greedy(*lm, "Hello", 64);
    try {
        (void)sched.submit(p);
        ADD_FAILURE() << "a prompt + max_tokens above the context was queued";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("above the context size 64"), std::string::npos) << e.what();
    }
    GenerationParams empty;
    EXPECT_THROW((void)sched.submit(empty), Error);
    GenerationParams bad = greedy(*lm, "Hello", 4);
    bad.prompt.push_back(1 << 30);
    try {
        (void)sched.submit(bad);
        ADD_FAILURE() << "an out-of-range token id was queued";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("token id 1073741824"), std::string::npos) << e.what();
    }
    GenerationParams hot = greedy(*lm, "Hello", 4);
    hot.sampling.temperature = -1.0f;
    EXPECT_THROW((void)sched.submit(hot), Error);
}

// More requests than run at once: the rest wait their turn, and a cancelled request (running or
// waiting) gives its KV blocks back.
TEST(ServerScheduler, WaitingAndCancelledRequestsFreeTheirBlocks) {
    auto lm = load("", 2);
    Scheduler sched(*lm, {2, 64});
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (int i = 0; i < 5; ++i) {
        GenerationParams p = greedy(*lm, kPrompts[static_cast<size_t>(i)], 200);
        p.ignore_eos = true;
        streams.push_back(sched.submit(p));
    }
    // Let the first two start, then cancel one running and one waiting request.
    StreamEvent first;
    ASSERT_TRUE(streams[0]->pop(first, std::chrono::seconds(60)));
    streams[0]->cancel();
    streams[4]->cancel();
    const Outcome c = drain(*streams[0]);
    EXPECT_EQ(c.end.finish, FinishReason::Cancelled);
    for (int i = 1; i < 4; ++i) {
        const Outcome o = drain(*streams[static_cast<size_t>(i)]);
        EXPECT_EQ(o.end.finish, FinishReason::Length);
        EXPECT_EQ(o.end.n_generated, 200);
    }
    sched.drop_prefix_cache();
    sched.call([&] { EXPECT_EQ(lm->kv().n_free_blocks(), lm->kv().pool().n_blocks()); });
    const SchedulerStats st = sched.stats();  // (updated before the call ran)
    EXPECT_EQ(st.running, 0);
    EXPECT_EQ(st.waiting, 0);
    EXPECT_EQ(st.kv_blocks_reserved, 0);
}

// A finished request's sequence is kept: the same prompt again, and the next turn of a chat, feed
// only what they add (the KV of the common prefix is shared, copied on write) and give the same text.
TEST(ServerScheduler, PrefixCacheReusesFinishedSequences) {
    auto lm = load("", 2);
    Scheduler sched(*lm, {2, 64});
    std::vector<int32_t> prompt;
    for (int i = 0; i < 5; ++i) {
        const auto part = lm->tokenizer().encode(" and the Python interpreter reads the source", i == 0, true);
        prompt.insert(prompt.end(), part.begin(), part.end());
    }
    GenerationParams p;
    p.prompt = prompt;
    p.max_tokens = 8;
    p.sampling.temperature = 0.0f;
    p.ignore_eos = true;
    const Outcome first = drain(*sched.submit(p));
    sched.call([] {});
    const int64_t fed_first = sched.stats().prompt_tokens;
    EXPECT_EQ(fed_first, static_cast<int64_t>(prompt.size()));
    EXPECT_EQ(sched.stats().prefix_cache.entries, 1);

    const Outcome again = drain(*sched.submit(p));
    sched.call([] {});
    EXPECT_EQ(sched.stats().prompt_tokens - fed_first, 1) << "the same prompt fed its last token only";
    EXPECT_EQ(sched.stats().prefix_cache.reused_tokens, static_cast<int64_t>(prompt.size()) - 1);
    expect_same_start(again.tokens, first.tokens, "the same prompt again");

    // The next turn: the first prompt, its reply (7 of 8 tokens were fed back), then more.
    GenerationParams next = p;
    next.prompt.insert(next.prompt.end(), first.tokens.begin(), first.tokens.end());
    const auto more = lm->tokenizer().encode(" Then", false, true);
    next.prompt.insert(next.prompt.end(), more.begin(), more.end());
    const int64_t reused_before = sched.stats().prefix_cache.reused_tokens;
    const Outcome turn = drain(*sched.submit(next));
    sched.call([] {});
    EXPECT_EQ(sched.stats().prefix_cache.reused_tokens - reused_before, static_cast<int64_t>(prompt.size()) + 7);
    EXPECT_EQ(sched.stats().prefix_cache.hits, 2);
    GenerateResult lone = alone(*lm, next);
    expect_same_start(turn.tokens, lone.tokens, "the next turn");

    // A cancelled request is not kept; dropping the cache gives every block back.
    GenerationParams other = greedy(*lm, "A different prompt", 200);
    other.ignore_eos = true;
    auto s = sched.submit(other);
    StreamEvent ev;
    ASSERT_TRUE(s->pop(ev, std::chrono::seconds(60)));
    s->cancel();
    EXPECT_EQ(drain(*s).end.finish, FinishReason::Cancelled);
    sched.call([] {});
    EXPECT_EQ(sched.stats().prefix_cache.entries, 1) << "(the next turn's sequence holds the first two)";
    sched.drop_prefix_cache();
    sched.call([&] { EXPECT_EQ(lm->kv().n_free_blocks(), lm->kv().pool().n_blocks()); });
}

// Kept prefixes give their blocks back when a request needs them.
TEST(ServerScheduler, PrefixCacheIsEvictedForNewWork) {
    auto lm = load("", 1, 128);  // 8 blocks in all
    Scheduler sched(*lm, {1, 64, 16});
    for (const auto& text : kPrompts) (void)drain(*sched.submit(greedy(*lm, text, 40)));
    sched.call([] {});
    EXPECT_GE(sched.stats().prefix_cache.entries, 2);
    GenerationParams big = greedy(*lm, "Something else entirely", 120);
    big.ignore_eos = true;
    const Outcome o = drain(*sched.submit(big));
    EXPECT_EQ(o.end.finish, FinishReason::Length);
    EXPECT_EQ(o.end.n_generated, 120);
    sched.call([] {});
    EXPECT_GT(sched.stats().prefix_cache.evictions, 0);
}

// A model with linear-attention layers (Qwen3.5-MoE hybrid) steps one sequence at a time; the
// requests still interleave and each gives what it gives alone.
TEST(ServerScheduler, HybridModelRequestsTakeTurns) {
    const auto path = test::shared_dir() / "models" / "llamacpp-gguf" / "tiny-qwen35moe-llamacpp-q8_0.gguf";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found (set ROCMFORGE_SHARED_DIR)";
    auto lm = load(path.string(), 3);
    std::vector<GenerationParams> params;
    std::vector<GenerateResult> expected;
    for (size_t i = 0; i < 3; ++i) {
        params.push_back(greedy(*lm, kPrompts[i], 10));
        expected.push_back(alone(*lm, params.back()));
    }
    Scheduler sched(*lm, {3, 16});
    std::vector<std::shared_ptr<RequestStream>> streams;
    for (const auto& p : params) streams.push_back(sched.submit(p));
    // One sequence per step: every step is the lone run's step, so the tokens are the same throughout.
    for (size_t i = 0; i < streams.size(); ++i) EXPECT_EQ(drain(*streams[i]).tokens, expected[i].tokens) << kPrompts[i];
    sched.call([] {});
    EXPECT_EQ(sched.stats().max_batch_seqs, 1);
}

// A hybrid model's prefix cache takes whole kept sequences only (a recurrent state cannot be cut back):
// the next turn (the last prompt, the reply, then more) forks the kept sequence, state included, and
// computes only what it adds; a prompt that shares only part of a kept sequence computes everything.
TEST(ServerScheduler, HybridModelReusesWholeKeptSequences) {
    const auto path = test::shared_dir() / "models" / "llamacpp-gguf" / "tiny-qwen35moe-llamacpp-q8_0.gguf";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found (set ROCMFORGE_SHARED_DIR)";
    auto lm = load(path.string(), 1);
    Scheduler sched(*lm, {1, 64, 4});
    const GenerationParams first = greedy(*lm, kPrompts[0], 8);
    const Outcome a = drain(*sched.submit(first));
    ASSERT_EQ(a.tokens.size(), 8u);
    // the next turn: the first prompt, the reply the sequence holds (all but the last token), more text
    GenerationParams next = greedy(*lm, "", 6);
    next.prompt = first.prompt;
    next.prompt.insert(next.prompt.end(), a.tokens.begin(), a.tokens.end());
    const auto more = lm->tokenizer().encode(" And then", false, true);
    next.prompt.insert(next.prompt.end(), more.begin(), more.end());
    const Outcome b = drain(*sched.submit(next));
    sched.call([] {});
    const SchedulerStats st = sched.stats();
    EXPECT_EQ(st.prefix_cache.hits, 1);
    EXPECT_EQ(st.prefix_cache.reused_tokens, static_cast<int64_t>(first.prompt.size() + a.tokens.size() - 1));
    // the same prompt computed whole (no cache) starts the same way
    Scheduler fresh(*lm, {1, 64, 0});
    const Outcome whole = drain(*fresh.submit(next));
    ASSERT_GE(b.tokens.size(), 3u);
    EXPECT_EQ(std::vector<int32_t>(b.tokens.begin(), b.tokens.begin() + 3),
              std::vector<int32_t>(whole.tokens.begin(), whole.tokens.begin() + 3));
    // part of a kept sequence is no hit for a recurrent model
    GenerationParams part = greedy(*lm, "", 2);
    part.prompt.assign(next.prompt.begin(), next.prompt.begin() + static_cast<ptrdiff_t>(first.prompt.size() / 2));
    part.prompt.push_back(next.prompt.back());
    (void)drain(*sched.submit(part));
    sched.call([] {});
    EXPECT_EQ(sched.stats().prefix_cache.hits, 1);
    EXPECT_EQ(sched.stats().prefix_cache.lookups, 2);  // (the first request found the cache empty)
}

}  // namespace
}  // namespace rf::server
