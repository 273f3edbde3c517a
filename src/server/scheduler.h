// Continuous batching over one loaded model. Requests wait in a queue; a request is admitted
// when the KV cache can hold its whole prompt + generation budget (its blocks are reserved, so
// an admitted request never runs out of KV) and fewer than n_parallel run. Each step takes one
// token from every decoding request and fills the rest of n_batch with prompt chunks of the
// prefilling ones (chunked prefill, oldest first), so new prompts join while others decode.
// Models with linear-attention layers step one sequence at a time (their recurrent state is
// updated per sequence), taking the running requests in turn.
//
// Decode pipelining on a GPU (RF_DECODE_PIPELINE, on by default; not for linear-attention models):
// when every output row of a step is plain greedy, their argmax runs on the device and stays there
// (GpuBackend::argmax_rows_async); the next step feeds those tokens from the device and is launched
// before the host reads them, so the host's work between two steps overlaps the device's. A request
// whose read token ends it (end of generation, a stop string, a cancel) had one token fed too many:
// its KV drops it again before the sequence is freed or kept. The last token of a budget is never fed
// ahead.
//
// One thread (the scheduler's) owns the model, the KV cache and the samplers; submit() and
// stats() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/embedding.h"
#include "engine/loaded_model.h"
#include "server/prefix_cache.h"
#include "server/request_stream.h"

namespace rf {
class GpuBackend;
}

namespace rf::server {

struct SchedulerOptions {
    int32_t n_parallel = 4;  // requests running at once (the KV cache holds n_parallel x n_ctx)
    int32_t n_batch = 512;   // tokens per step (decode tokens + prompt chunks)
    int32_t prefix_cache_entries = 16;  // finished sequences kept for their prefixes (0: off; prefix_cache.h)
};

struct SchedulerStats {
    int32_t running = 0;
    int32_t waiting = 0;
    int64_t steps = 0;
    int64_t prompt_tokens = 0;     // prompt tokens fed so far
    int64_t generated_tokens = 0;  // tokens sampled so far
    int32_t max_batch_seqs = 0;    // the most sequences one step has held
    int64_t pipelined_steps = 0;   // steps fed tokens still on the device (decode pipelining)
    int32_t kv_blocks_total = 0;
    int32_t kv_blocks_reserved = 0;
    int32_t kv_blocks_free = 0;      // (the prefix cache's kept sequences hold the others besides the running ones)
    int64_t finished[5] = {};        // requests ended, by FinishReason (Length, Stop, EndOfGeneration, ContextFull, Cancelled)
    int64_t failed = 0;              // requests ended by an error
    PrefixCacheStats prefix_cache;
};

class Scheduler {
public:
    // The model, its KV cache (sized for n_parallel sequences of n_ctx) and its tokenizer must
    // outlive the scheduler.
    Scheduler(Model& model, KvCache& kv, const Tokenizer& tokenizer, int32_t n_ctx, const SchedulerOptions& options);
    Scheduler(LoadedModel& model, const SchedulerOptions& options)
        : Scheduler(model.model(), model.kv(), model.tokenizer(), model.n_ctx(), options) {}
    ~Scheduler();  // stop("server: shutting down")
    // Stops the thread: queued and running requests end with a Failed event carrying `reason`, and
    // submit() / call() throw from now on. (Idempotent; the first reason is kept.)
    void stop(const std::string& reason);
    bool stopped() const;
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // Queues a request. Throws rf::Error (naming the field and value) when it can never run:
    // an empty prompt, a token id out of range, a prompt + max_tokens above the context size,
    // a sampling parameter out of range.
    std::shared_ptr<RequestStream> submit(GenerationParams params);
    SchedulerStats stats() const;  // as of the end of the last step
    // The figures as they are between two steps (waits for the step in progress).
    SchedulerStats current_stats();
    // Runs fn on the scheduler's thread between two steps and waits for it (what must not race
    // with a step: device queries, model state); an exception fn throws comes back here.
    void call(const std::function<void()>& fn);
    // Frees every kept prefix (on the scheduler's thread).
    void drop_prefix_cache();
    // Embeddings of `inputs` (token ids each; engine/embedding.h), computed on the scheduler's thread
    // between two steps, each in a sequence of its own that is freed again (kept prefixes are evicted
    // where the KV cache has no room). Throws rf::Error when an input does not fit.
    std::vector<std::vector<float>> embed(const std::vector<std::vector<int32_t>>& inputs, const EmbedOptions& options);
    int32_t n_ctx() const { return n_ctx_; }
    const SchedulerOptions& options() const { return options_; }

private:
    struct Request;
    void run();
    void run_tasks();
    void refresh_stats();  // (scheduler thread)
    void admit();
    void drop_cancelled();
    // Ends a request (every running one) with a Failed event carrying `error`, its KV freed.
    void fail(Request& r, const std::string& error);
    void fail_running(const std::string& error);
    void step();
    // Reads the oldest argmax batch (decode pipelining) and picks its rows' tokens;
    // read_argmax_batches: every pending batch, oldest first.
    void read_argmax_batch();
    void read_argmax_batches() {
        while (!batches_.empty()) read_argmax_batch();
    }
    // Waits for the pending argmax batches without picking (the running requests are failing).
    void abandon_argmax_batches();
    void pick(Request& r, SampleResult s);
    void finish(Request& r, FinishReason reason, const std::string& stop_string = {});
    // Gives the request's KV sequence back: kept by the prefix cache (`keep`, when there is one) or freed.
    void release(Request& r, bool keep = false);
    int32_t n_running() const;  // running requests that have not ended
    void remove_ended();        // ended requests no argmax batch holds a row of
    // Reserves n more tokens of a sequence, evicting kept prefixes while the pool is short.
    void reserve(int32_t seq, int32_t n);
    int32_t blocks_for(int64_t tokens) const;

    Model& model_;
    KvCache& kv_;
    const Tokenizer& tokenizer_;
    SchedulerOptions options_;
    int32_t n_ctx_;
    bool recurrent_;  // linear-attention layers: one sequence per step
    GpuBackend* gpu_ = nullptr;  // the model's backend when it is a GPU (rows sampled on the device)
    bool pipeline_ = false;      // decode pipelining (a GPU, RF_DECODE_PIPELINE, no linear-attention layers)

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::unique_ptr<Request>> queue_;  // submitted, not admitted (guarded by mutex_)
    std::deque<std::function<void()>> tasks_;     // call()'s functions (guarded by mutex_)
    bool stopping_ = false;
    std::string stop_reason_ = "server: shutting down";  // (guarded by mutex_)
    SchedulerStats stats_;                        // (guarded by mutex_)

    // (a request that ended stays here until no argmax batch holds a row of it)
    std::list<std::unique_ptr<Request>> running_;  // scheduler thread only
    // Decode pipelining: argmax batches launched and not read yet, oldest first (at most one between
    // two steps); row i is the token of rows[i]. serial: the batch's number (Request::device_batch).
    struct ArgmaxBatch {
        int64_t serial = 0;
        std::vector<Request*> rows;
    };
    std::deque<ArgmaxBatch> batches_;  // scheduler thread only
    int64_t batch_serial_ = 0;
    std::unique_ptr<PrefixCache> cache_;           // scheduler thread only; null when off
    int32_t reserved_blocks_ = 0;
    size_t turn_ = 0;  // recurrent models: the next running request to step
    std::thread thread_;
};

}  // namespace rf::server
