// The scheduler's decode pipelining (server/scheduler.h) on the CPU, through a GpuBackend whose
// "device" is the CPU backend (host memory): argmax_rows_async takes each row's argmax at once and keeps
// the batch, begin_step puts a plan's device-held tokens in from the last batch. The scheduler's logic
// (which requests are fed ahead, the token fed past an end dropped from the KV, ended requests kept while
// a batch holds their rows, the batches read in order) is the same as on a GPU, where
// GpuServerPipeline checks it against the real device; here it runs in CI.
// - One request: pipelined, the same tokens as unpipelined, the decode steps counted as pipelined.
// - A stop string completed by token j: the prefix cache keeps the prompt and j tokens both ways.
// - Five requests on four slots, some ending by the model's end of generation: each request's tokens as
//   unpipelined (one token per decode step here: the same step compositions but at the ends, whose
//   extra token is dropped), the KV cache whole afterwards; a cancelled request ends with its KV freed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/gpu/gpu_backend.h"
#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "forwarding_backend.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "server/scheduler.h"
#include "server_test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf::server {
namespace {

// A GpuBackend over the CPU backend: the ops run there; only what the scheduler's pipelining uses of a
// GPU is implemented (greedy rows, their tokens held "on the device" until a plan names them).
class HostAsDevice final : public test::ForwardingBackend<GpuBackend> {
public:
    HostAsDevice() : ForwardingBackend(cpu_) {}
    std::string name() const override { return "host-as-device (" + cpu_.name() + ")"; }
    void begin_step(const StepPlan& plan) override {
        if (plan.device_rows.empty()) return cpu_.begin_step(plan);
        EXPECT_FALSE(last_.empty()) << "a plan names device rows, but no batch is there";
        StepPlan p = plan;
        for (size_t t = 0; t < p.tokens.size(); ++t)
            if (p.device_rows[t] >= 0) p.tokens[t] = last_.at(static_cast<size_t>(p.device_rows[t])).token;
        p.device_rows.clear();
        ++fed_from_device_;
        cpu_.begin_step(p);
    }

    GpuDeviceInfo device_info() override { return GpuDeviceInfo{"host-as-device", "host", 1, 32, 0, 0, false, 0.0}; }
    void check_vram(const VramNeed&) override {}
    int32_t argmax(const float* row, int64_t n) override { return top(row, n); }
    void argmax_async(const float*, int64_t) override { ADD_FAILURE() << "argmax_async: not the scheduler's"; }
    int32_t argmax_wait() override { return -1; }
    int pending_argmax() const override { return 0; }
    void argmax_rows_async(const float* rows, int64_t n_rows, int64_t n) override {
        EXPECT_LT(pending_.size(), 2u) << "more than two batches pending";
        last_.assign(static_cast<size_t>(n_rows), GpuSampleResult{});
        for (int64_t i = 0; i < n_rows; ++i) last_[static_cast<size_t>(i)].token = top(rows + i * n, n);
        pending_.push_back(last_);
    }
    std::vector<GpuSampleResult> argmax_rows_wait() override {
        EXPECT_FALSE(pending_.empty()) << "argmax_rows_wait without a batch";
        std::vector<GpuSampleResult> out = std::move(pending_.front());
        pending_.pop_front();
        return out;
    }
    int pending_argmax_rows() const override { return static_cast<int>(pending_.size()); }
    GpuSampleResult sample(const float* row, int64_t n, const GpuSamplingParams& p, std::span<const GpuTokenCount>,
                           double) override {
        EXPECT_LE(p.temperature, 0.0f) << "greedy rows only";
        GpuSampleResult r;
        r.token = top(row, n);
        return r;
    }
    std::vector<GpuSampleResult> sample_rows(std::span<const GpuRowSample> rows) override {
        std::vector<GpuSampleResult> out;
        for (const GpuRowSample& r : rows) out.push_back(sample(r.row, r.n, r.params, r.penalties, r.u));
        return out;
    }
    GpuGraphStats graph_stats() const override { return {}; }
    void set_use_graphs(bool) override {}
    void set_fuse_ops(bool) override {}
    void set_use_pdl(bool) override {}
    void set_attention_trace(void*) override {}
    GpuF16CacheInfo f16_cache_info() const override { return {}; }
    void set_f16_cache_budget(int64_t) override {}

    int64_t fed_from_device() const { return fed_from_device_; }

private:
    static int32_t top(const float* row, int64_t n) {
        int64_t best = 0;
        for (int64_t i = 1; i < n; ++i)
            if (row[i] > row[best]) best = i;
        return static_cast<int32_t>(best);
    }

    CpuBackend cpu_{2};
    std::vector<GpuSampleResult> last_;  // the last batch (what a plan's device rows name)
    std::deque<std::vector<GpuSampleResult>> pending_;
    int64_t fed_from_device_ = 0;
};

constexpr int32_t kParallel = 4, kCtx = 128;

// An environment variable set for the life of the object (the scheduler reads RF_DECODE_PIPELINE when made).
struct ScopedEnv {
    ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
    ~ScopedEnv() { ::unsetenv(name_); }
    const char* name_;
};

struct Fixture {
    HostAsDevice device;
    Model model{open_default_model(), device};
    Tokenizer tok = tokenizer_from_gguf(model.gguf());
    KvCache kv{device, KvCacheConfig{kParallel * kCtx / 16, 16, KvCodec::F16}, model.kv_layer_shapes()};
    // n_batch 4: a decode step holds each running request's token, and prompts come one chunk of few tokens at
    // a time beside them
    std::unique_ptr<Scheduler> scheduler(bool pipelined) {
        ScopedEnv env("RF_DECODE_PIPELINE", pipelined ? "on" : "off");
        return std::make_unique<Scheduler>(model, kv, tok, kCtx, SchedulerOptions{kParallel, kParallel});
    }
};

TEST(ServerSchedulerPipeline, FeedsTokensAheadAndDropsTheOneFedPastAnEnd) {
    Fixture f;
    const std::vector<int32_t> prompt = f.tok.encode("The Python interpreter", true, true);
    constexpr int32_t kTokens = 20;

    Outcome ref;
    for (const bool pipelined : {false, true}) {
        auto sched = f.scheduler(pipelined);
        const int64_t fed0 = f.device.fed_from_device();
        const Outcome o = drain(*sched->submit(greedy_request(prompt, kTokens)));
        sched->call([] {});
        if (!pipelined) {
            ref = o;
            ASSERT_EQ(static_cast<int32_t>(ref.tokens.size()), kTokens);
            EXPECT_EQ(sched->stats().pipelined_steps, 0);
            EXPECT_EQ(f.device.fed_from_device(), fed0);
        } else {
            EXPECT_EQ(o.tokens, ref.tokens);
            // (every decode step: the 19 that feed tokens 1 .. 19, the first one the prompt's last chunk gave; the
            // budget's last token is never fed)
            EXPECT_EQ(sched->stats().pipelined_steps, kTokens - 1);
            EXPECT_EQ(f.device.fed_from_device() - fed0, kTokens - 1);
            EXPECT_EQ(sched->stats().generated_tokens, kTokens);
        }
        sched->drop_prefix_cache();
        sched->call([&] { EXPECT_EQ(f.kv.n_free_blocks(), f.kv.pool().n_blocks()); });
    }

    // a stop string completed by token j: the kept prefix is the prompt and the j tokens before it
    std::string stop;
    const int32_t j = first_stop_token(f.tok, ref.tokens, 4, kTokens - 2, stop);
    ASSERT_GE(j, 0);
    std::vector<int32_t> longer = prompt;
    longer.insert(longer.end(), ref.tokens.begin(), ref.tokens.end());
    for (const bool pipelined : {false, true}) {
        auto sched = f.scheduler(pipelined);
        GenerationParams p = greedy_request(prompt, kTokens);
        p.stop = {stop};
        const Outcome o = drain(*sched->submit(p));
        EXPECT_EQ(o.end.finish, FinishReason::Stop);
        sched->call([] {});
        const int64_t reused0 = sched->stats().prefix_cache.reused_tokens;
        (void)drain(*sched->submit(greedy_request(longer, 1)));
        sched->call([] {});
        EXPECT_EQ(sched->stats().prefix_cache.reused_tokens - reused0, static_cast<int64_t>(prompt.size()) + j)
            << (pipelined ? "pipelined" : "unpipelined") << ": the kept prefix after a stop at token " << j;
        sched->drop_prefix_cache();
        sched->call([&] { EXPECT_EQ(f.kv.n_free_blocks(), f.kv.pool().n_blocks()); });
    }
}

TEST(ServerSchedulerPipeline, SeveralRequestsEndsAndACancelLeaveTheKvWhole) {
    Fixture f;
    const std::vector<std::string> prompts = {"The Python interpreter", "Hello world", "Once upon a time, in a land far away",
                                              "import numpy as np", "The quick brown fox"};
    std::vector<std::vector<int32_t>> got[2];
    for (const bool pipelined : {false, true}) {
        auto sched = f.scheduler(pipelined);
        std::vector<std::shared_ptr<RequestStream>> streams;
        for (size_t i = 0; i < prompts.size(); ++i)
            streams.push_back(sched->submit(greedy_request(f.tok.encode(prompts[i], true, true), 12 + static_cast<int32_t>(i) * 3)));
        for (auto& s : streams) got[pipelined ? 1 : 0].push_back(drain(*s).tokens);
        sched->call([] {});
        if (pipelined) {
            EXPECT_GT(sched->stats().pipelined_steps, 0);
        }
        // a request cancelled while it decodes: it ends, its KV freed with the token fed ahead
        auto c = sched->submit(greedy_request(f.tok.encode(prompts[0], true, true), 60));
        StreamEvent ev;
        while (c->pop(ev, std::chrono::seconds(30)) && ev.kind == StreamEvent::Kind::Text && ev.tokens.empty()) {
        }
        c->cancel();
        const Outcome o = drain(*c);
        EXPECT_EQ(o.end.finish, FinishReason::Cancelled);
        sched->drop_prefix_cache();
        sched->call([&] { EXPECT_EQ(f.kv.n_free_blocks(), f.kv.pool().n_blocks()); });
    }
    // (the CPU's multi-token steps round as the one-token ones at these counts only where the compositions
    // match: compare the starts, as server_scheduler_test.cpp does)
    for (size_t i = 0; i < prompts.size(); ++i) {
        const size_t n = std::min<size_t>({8, got[0][i].size(), got[1][i].size()});
        EXPECT_EQ(std::vector<int32_t>(got[1][i].begin(), got[1][i].begin() + static_cast<ptrdiff_t>(n)),
                  std::vector<int32_t>(got[0][i].begin(), got[0][i].begin() + static_cast<ptrdiff_t>(n)))
            << prompts[i];
    }
}

}  // namespace
}  // namespace rf::server
