// The scheduler's decode pipelining on the GPU backend (server/scheduler.h): a step's greedy rows
// are argmax'd on the device (GpuBackend::argmax_rows_async) and the next step is fed those tokens
// from there, launched before the host reads them.
// - One request: the pipelined scheduler gives exactly the tokens of the unpipelined one (the same
//   steps, one token each after the prompt), and its steps are counted as pipelined.
// - A request ended by a stop string had its stop token fed before its reading: the sequence the
//   prefix cache keeps drops it again (the kept prefix is the prompt and the tokens before the stop
//   token, as without pipelining), measured by the prompt tokens a later request reuses.
// - Several requests sharing steps (some ended early by the model's end of generation, whose token
//   was fed before its reading): each request's first tokens equal the unpipelined scheduler's (steps
//   of other compositions round differently, as in gpu_server_test.cpp), and the KV cache is whole
//   afterwards.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "gpu/gpu_test_util.h"
#include "server/scheduler.h"
#include "unit/server_test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf::gputest {
namespace {

constexpr int32_t kParallel = 4, kCtx = 128;

// A scheduler with decode pipelining on or off (read when it is made).
std::unique_ptr<server::Scheduler> make_scheduler(bool pipelined, Model& model, KvCache& kv, const Tokenizer& tok) {
    ScopedEnv env("RF_DECODE_PIPELINE", pipelined ? "on" : "off");
    return std::make_unique<server::Scheduler>(model, kv, tok, kCtx, server::SchedulerOptions{kParallel, 8});
}

TEST(GpuServerPipeline, PipelinedStepsGiveTheUnpipelinedTokensAndDropATokenFedPastAStop) {
    Model model(open_default_model(), gpu());
    const Tokenizer tok = tokenizer_from_gguf(model.gguf());
    KvCache kv(gpu(), KvCacheConfig{kParallel * kCtx / 16, 16, KvCodec::F16}, model.kv_layer_shapes());
    const std::vector<int32_t> prompt = tok.encode("The Python interpreter", true, true);
    constexpr int32_t kTokens = 24;

    // one request: the same tokens, the steps after the first decode one pipelined
    server::Outcome ref;
    for (const bool pipelined : {false, true}) {
        auto sched = make_scheduler(pipelined, model, kv, tok);
        auto stream = sched->submit(server::greedy_request(prompt, kTokens));
        const server::Outcome o = server::drain(*stream);
        sched->call([] {});
        const server::SchedulerStats st = sched->stats();
        if (!pipelined) {
            ref = o;
            ASSERT_EQ(static_cast<int32_t>(ref.tokens.size()), kTokens);
            EXPECT_EQ(st.pipelined_steps, 0);
        } else {
            EXPECT_EQ(o.tokens, ref.tokens) << "pipelined decode changed the tokens of a lone request";
            EXPECT_GE(st.pipelined_steps, kTokens - 2) << "the decode steps were not fed from the device";
            EXPECT_EQ(st.generated_tokens, kTokens);
        }
    }

    // a stop string completed by token j (its first occurrence in the text ends there)
    const std::string text = tok.decode(ref.tokens, /*skip_special=*/true);
    std::string stop;
    const int32_t j = server::first_stop_token(tok, ref.tokens, 6, kTokens - 4, stop);
    ASSERT_GE(j, 0) << "no token of '" << text << "' ends a stop string first";
    std::vector<int32_t> longer = prompt;  // a later prompt: the whole reference continuation after it
    longer.insert(longer.end(), ref.tokens.begin(), ref.tokens.end());
    for (const bool pipelined : {false, true}) {
        auto sched = make_scheduler(pipelined, model, kv, tok);
        server::GenerationParams p = server::greedy_request(prompt, kTokens);
        p.stop = {stop};
        auto stream = sched->submit(p);
        const server::Outcome o = server::drain(*stream);
        EXPECT_EQ(o.end.finish, FinishReason::Stop) << "stop '" << stop << "'";
        sched->call([] {});
        const int64_t reused0 = sched->stats().prefix_cache.reused_tokens;
        (void)server::drain(*sched->submit(server::greedy_request(longer, 1)));
        sched->call([] {});
        // the kept sequence: the prompt and the j tokens before the stop token (that one never fed)
        EXPECT_EQ(sched->stats().prefix_cache.reused_tokens - reused0, static_cast<int64_t>(prompt.size()) + j)
            << (pipelined ? "pipelined" : "unpipelined") << ": the kept prefix after a stop at token " << j;
        sched->drop_prefix_cache();
        sched->call([&] { EXPECT_EQ(kv.n_free_blocks(), kv.pool().n_blocks()); });
    }

    // several requests sharing steps: the first tokens of each as unpipelined, the KV whole afterwards
    const std::vector<std::string> prompts = {"The Python interpreter", "Hello world", "Once upon a time, in a land far away",
                                              "import numpy as np", "The quick brown fox"};
    std::vector<std::vector<int32_t>> first[2];
    for (const bool pipelined : {false, true}) {
        auto sched = make_scheduler(pipelined, model, kv, tok);
        std::vector<std::shared_ptr<server::RequestStream>> streams;
        for (size_t i = 0; i < prompts.size(); ++i)
            streams.push_back(sched->submit(server::greedy_request(tok.encode(prompts[i], true, true), 16 + static_cast<int32_t>(i) * 4)));
        for (size_t i = 0; i < streams.size(); ++i) {  // (some end early: the model's end of generation)
            const server::Outcome o = server::drain(*streams[i]);
            EXPECT_GE(o.tokens.size(), 1u) << prompts[i];
            first[pipelined ? 1 : 0].push_back(std::vector<int32_t>(o.tokens.begin(), o.tokens.begin() + std::min<size_t>(8, o.tokens.size())));
        }
        sched->call([] {});
        if (pipelined) {
            EXPECT_GT(sched->stats().pipelined_steps, 0);
        }
        EXPECT_EQ(sched->stats().max_batch_seqs, kParallel);
        sched->drop_prefix_cache();
        sched->call([&] { EXPECT_EQ(kv.n_free_blocks(), kv.pool().n_blocks()); });
    }
    for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(first[1][i], first[0][i]) << prompts[i];
}

}  // namespace
}  // namespace rf::gputest
