#include "server/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <future>

#include "backend/gpu/gpu_backend.h"
#include "core/error.h"
#include "engine/device_sampling.h"
#include "engine/generator.h"
#include "engine/stop_matcher.h"
#include "kv/step_builder.h"
#include "tokenizer/detokenizer.h"

namespace rf::server {

struct Scheduler::Request {
    GenerationParams params;
    std::shared_ptr<RequestStream> stream;
    int32_t budget = 0;             // tokens to generate at most
    int32_t reserved = 0;           // KV blocks held for prompt + budget
    int32_t seq = -1;               // KV sequence, once admitted
    int32_t n_fed = 0;              // tokens in the KV cache
    int32_t n_generated = 0;
    int32_t pending = -1;           // sampled, fed by the next step
    bool done = false;
    // Decode pipelining: its next token as row device_row of argmax batch device_batch (-1: none), not
    // read yet; tokens fed from there before their reading (in n_fed); batches not read yet that hold a
    // row of it.
    int32_t device_row = -1;
    int64_t device_batch = -1;
    int32_t ahead = 0;
    int32_t in_batches = 0;
    std::vector<int32_t> history;   // prompt + generated (the penalties' window)
    std::unique_ptr<Sampler> sampler;
    std::unique_ptr<StreamingDetokenizer> detok;
    std::unique_ptr<StopMatcher> stops;

    int32_t n_prompt() const { return static_cast<int32_t>(params.prompt.size()); }
    bool prefilling() const { return n_fed < n_prompt(); }
};

Scheduler::Scheduler(Model& model, KvCache& kv, const Tokenizer& tokenizer, int32_t n_ctx, const SchedulerOptions& options)
    : model_(model), kv_(kv), tokenizer_(tokenizer), options_(options), n_ctx_(n_ctx) {
    RF_CHECK(options_.n_parallel >= 1, "server: parallel requests {} must be positive", options_.n_parallel);
    RF_CHECK(options_.n_batch >= options_.n_parallel,
             "server: batch size {} must hold one token of each of the {} parallel requests", options_.n_batch,
             options_.n_parallel);
    RF_CHECK(kv_.pool().n_blocks() >= blocks_for(n_ctx_) * options_.n_parallel,
             "server: the KV cache has {} blocks, {} parallel requests of {} tokens need {}",
             kv_.pool().n_blocks(), options_.n_parallel, n_ctx_, blocks_for(n_ctx_) * options_.n_parallel);
    const ModelConfig& c = model_.config();
    recurrent_ = c.n_attention_layers() != c.n_layer;
    gpu_ = dynamic_cast<GpuBackend*>(&model_.backend());
    pipeline_ = gpu_ != nullptr && !recurrent_ && decode_pipelining_enabled();
    stats_.kv_blocks_total = kv_.pool().n_blocks();
    stats_.kv_blocks_free = kv_.n_free_blocks();
    // A recurrent state cannot be cut back to a prefix: those models reuse whole kept sequences only,
    // and keep at most n_parallel of them (each holds its own copy of the state, allocated beside the
    // KV pool: as much again as the running sequences' states at most).
    const int32_t entries = recurrent_ ? std::min(options_.prefix_cache_entries, options_.n_parallel) : options_.prefix_cache_entries;
    if (entries > 0) cache_ = std::make_unique<PrefixCache>(kv_, entries, /*whole_entries=*/recurrent_);
    thread_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() { stop("server: shutting down"); }

bool Scheduler::stopped() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stopping_;
}

void Scheduler::stop(const std::string& reason) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!stopping_) stop_reason_ = reason;
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

int32_t Scheduler::blocks_for(int64_t tokens) const {
    const int64_t bs = kv_.block_size();
    return static_cast<int32_t>((tokens + bs - 1) / bs);
}

std::shared_ptr<RequestStream> Scheduler::submit(GenerationParams params) {
    const int64_t n_prompt = static_cast<int64_t>(params.prompt.size());
    RF_CHECK(n_prompt > 0, "prompt: empty (it gives no tokens)");
    const int32_t n_vocab = model_.n_vocab();
    for (int32_t id : params.prompt)
        RF_CHECK(id >= 0 && id < n_vocab, "prompt: token id {} out of range [0, {})", id, n_vocab);
    RF_CHECK(params.max_tokens >= -1, "max_tokens: {} (must be >= 0)", params.max_tokens);
    if (params.max_tokens >= 0) {
        RF_CHECK(n_prompt + params.max_tokens <= n_ctx_,
                 "the prompt has {} tokens and max_tokens is {}: {} tokens, above the context size {}", n_prompt,
                 params.max_tokens, n_prompt + params.max_tokens, n_ctx_);
    } else {
        RF_CHECK(n_prompt < n_ctx_, "the prompt has {} tokens, the context size is {}: no room for a generated token",
                 n_prompt, n_ctx_);
    }
    check_sampling_params(params.sampling);

    auto r = std::make_unique<Request>();
    r->budget = params.max_tokens >= 0 ? params.max_tokens : n_ctx_ - static_cast<int32_t>(n_prompt);
    r->reserved = blocks_for(n_prompt + r->budget);
    r->params = std::move(params);
    r->stream = std::make_shared<RequestStream>();
    auto stream = r->stream;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        RF_CHECK(!stopping_, "{}", stop_reason_);
        queue_.push_back(std::move(r));
        stats_.waiting = static_cast<int32_t>(queue_.size());
    }
    wake_.notify_all();
    return stream;
}

SchedulerStats Scheduler::stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
}

SchedulerStats Scheduler::current_stats() {
    call([this] { refresh_stats(); });
    return stats();
}

void Scheduler::refresh_stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.running = n_running();
    stats_.waiting = static_cast<int32_t>(queue_.size());
    stats_.kv_blocks_reserved = reserved_blocks_;
    stats_.kv_blocks_free = kv_.n_free_blocks();
    if (cache_) stats_.prefix_cache = cache_->stats();
}

void Scheduler::run() {
    for (;;) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty() || !running_.empty() || !tasks_.empty(); });
            if (stopping_) break;
        }
        run_tasks();
        try {
            drop_cancelled();
            admit();
            step();
        } catch (const std::exception& e) {
            // (a step's own failure is handled in step(); this is anything else, e.g. a device error
            // while sampling): the running requests end with it, the server goes on
            spdlog::error("server: scheduler step failed: {}", e.what());
            fail_running(e.what());
        }
        refresh_stats();
    }
    run_tasks();
    // Stopped: nothing more runs; every open request hears why.
    std::string reason;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        reason = stop_reason_;
    }
    fail_running(reason);
    StreamEvent failed;
    failed.kind = StreamEvent::Kind::Failed;
    failed.error = reason;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& r : queue_) r->stream->push(failed);
    queue_.clear();
    stats_.running = 0;
    stats_.waiting = 0;
}

void Scheduler::call(const std::function<void()>& fn) {
    auto done = std::make_shared<std::promise<void>>();
    std::future<void> result = done->get_future();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        RF_CHECK(!stopping_, "{}", stop_reason_);
        tasks_.push_back([fn, done] {
            try {
                fn();
                done->set_value();
            } catch (...) {
                done->set_exception(std::current_exception());
            }
        });
    }
    wake_.notify_all();
    result.get();
}

std::vector<std::vector<float>> Scheduler::embed(const std::vector<std::vector<int32_t>>& inputs,
                                                 const EmbedOptions& options) {
    std::vector<std::vector<float>> out;
    call([&] {
        for (const std::vector<int32_t>& ids : inputs) {
            const int64_t blocks = (static_cast<int64_t>(ids.size()) + kv_.block_size() - 1) / kv_.block_size();
            while (kv_.n_free_blocks() < blocks && cache_ && cache_->evict_one()) {
            }
            out.push_back(embed_tokens(model_, kv_, ids, n_ctx_, options));
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (cache_) stats_.prefix_cache = cache_->stats();
    });
    return out;
}

void Scheduler::drop_prefix_cache() {
    call([this] {
        if (!cache_) return;
        cache_->clear();
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.prefix_cache = cache_->stats();
    });
}

void Scheduler::run_tasks() {
    for (bool first = true;; first = false) {
        std::function<void()> task;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (tasks_.empty()) return;
            task = std::move(tasks_.front());
            tasks_.pop_front();
        }
        // (a task sees every sampled token read: none still on the device)
        if (first && !batches_.empty()) {
            try {
                read_argmax_batches();
            } catch (const std::exception& e) {
                spdlog::error("server: reading the sampled tokens failed: {}", e.what());
                fail_running(e.what());
            }
        }
        task();
    }
}

void Scheduler::fail(Request& r, const std::string& error) {
    StreamEvent failed;
    failed.kind = StreamEvent::Kind::Failed;
    failed.error = error;
    release(r);  // (not kept by the prefix cache: its KV may be half written)
    r.done = true;
    r.stream->push(std::move(failed));
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.failed;
}

void Scheduler::fail_running(const std::string& error) {
    abandon_argmax_batches();
    for (auto& r : running_)
        if (!r->done) fail(*r, error);
    running_.clear();
}

void Scheduler::abandon_argmax_batches() {
    for (ArgmaxBatch& b : batches_) {
        try {
            (void)gpu_->argmax_rows_wait();
        } catch (const std::exception& e) {
            spdlog::warn("server: a pending argmax batch failed: {}", e.what());
        }
        for (Request* r : b.rows) --r->in_batches;
    }
    batches_.clear();
}

int32_t Scheduler::n_running() const {
    return static_cast<int32_t>(std::count_if(running_.begin(), running_.end(), [](const auto& r) { return !r->done; }));
}

void Scheduler::remove_ended() {
    running_.remove_if([](const std::unique_ptr<Request>& r) { return r->done && r->in_batches == 0; });
}

void Scheduler::drop_cancelled() {
    for (auto& r : running_)
        if (!r->done && r->stream->cancelled()) finish(*r, FinishReason::Cancelled);
    remove_ended();
    std::lock_guard<std::mutex> lock(mutex_);
    std::erase_if(queue_, [](const std::unique_ptr<Request>& r) { return r->stream->cancelled(); });
}

void Scheduler::admit() {
    const int32_t total = kv_.pool().n_blocks();
    for (;;) {
        std::unique_ptr<Request> r;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            // First come, first served: a request that does not fit yet holds back the later ones.
            if (queue_.empty() || n_running() >= options_.n_parallel ||
                reserved_blocks_ + queue_.front()->reserved > total)
                return;
            r = std::move(queue_.front());
            queue_.pop_front();
        }
        reserved_blocks_ += r->reserved;
        PrefixCache::Hit hit;
        try {
            if (cache_) hit = cache_->take(r->params.prompt);
        } catch (const std::exception& e) {  // (a fork's state copy could not be allocated: computed instead)
            spdlog::warn("server: prefix cache: {}; the prompt is computed whole", e.what());
            hit = PrefixCache::Hit{};
        }
        if (hit.seq >= 0) {
            r->seq = hit.seq;
            r->n_fed = hit.n_tokens;
        } else {
            r->seq = kv_.create_sequence();
        }
        r->history = r->params.prompt;
        r->sampler = std::make_unique<Sampler>(r->params.sampling, &tokenizer_);
        r->detok = std::make_unique<StreamingDetokenizer>(tokenizer_, /*skip_special=*/true);
        r->stops = std::make_unique<StopMatcher>(r->params.stop);
        if (r->budget == 0) {
            finish(*r, FinishReason::Length);
            continue;
        }
        running_.push_back(std::move(r));
    }
}

void Scheduler::step() {
    if (running_.empty()) return;
    KvCache& kv = kv_;
    StepPlan plan;
    std::vector<std::pair<Request*, int32_t>> members;  // (request, tokens it feeds)
    std::vector<Request*> outputs;                      // the request of each output row
    std::vector<int32_t> device_rows;                   // per token: its row of the newest argmax batch, or -1
    std::vector<Request*> fed_ahead;                    // the requests fed from there
    int32_t room = options_.n_batch;
    const int32_t no_token = 0;  // (the plan's placeholder for a token fed from the device)

    auto add = [&](Request& r) {
        if (r.done) return;
        const bool decode = !r.prefilling();
        int32_t row = -1;
        if (decode && r.pending < 0) {
            // its token is a row of the newest argmax batch, not read yet: fed from there where a token
            // will follow it (the budget's last is not fed), else after the reading
            if (r.device_row < 0 || batches_.empty() || r.device_batch != batches_.back().serial ||
                r.n_generated + 1 >= r.budget)
                return;
            row = r.device_row;
        }
        const int32_t n = decode ? 1 : std::min(r.n_prompt() - r.n_fed, room);
        if (n <= 0) return;
        reserve(r.seq, n);
        const bool output = decode || r.n_fed + n == r.n_prompt();
        if (decode) append_to_step(plan, kv, r.seq, std::span<const int32_t>(row >= 0 ? &no_token : &r.pending, 1), output);
        else append_to_step(plan, kv, r.seq, std::span<const int32_t>(r.params.prompt).subspan(static_cast<size_t>(r.n_fed), static_cast<size_t>(n)), output);
        device_rows.resize(plan.tokens.size(), -1);
        if (row >= 0) {
            device_rows.back() = row;
            fed_ahead.push_back(&r);
        }
        if (output) outputs.push_back(&r);
        members.emplace_back(&r, n);
        room -= n;
    };

    if (recurrent_) {
        // One sequence per step, the running requests in turn.
        auto it = running_.begin();
        std::advance(it, static_cast<ptrdiff_t>(turn_ % running_.size()));
        add(**it);
        ++turn_;
    } else {
        for (auto& r : running_)
            if (!r->prefilling()) add(*r);
        for (auto& r : running_)
            if (r->prefilling() && room > 0) add(*r);
    }
    if (plan.tokens.empty()) {
        read_argmax_batches();  // (every token left is on the device: read them)
        remove_ended();
        return;
    }
    const bool from_device = !fed_ahead.empty();
    if (from_device) plan.device_rows = std::move(device_rows);

    // On a GPU the logits stay on the device and each row is sampled there (only the token comes
    // back); rows that want top-n logprobs, and every row on the CPU, are sampled on the host.
    const int32_t n_vocab = model_.n_vocab();
    std::vector<float> logits(gpu_ ? 0 : outputs.size() * static_cast<size_t>(n_vocab));
    try {
        model_.forward(plan, kv, gpu_ ? nullptr : logits.data());
    } catch (const std::exception& e) {
        spdlog::error("server: a step of {} sequences failed: {}", members.size(), e.what());
        for (auto& [r, n] : members) fail(*r, e.what());
        read_argmax_batches();  // (the others' tokens)
        remove_ended();
        return;
    }
    int64_t fed_prompt = 0;
    for (auto& [r, n] : members) {
        kv.commit(r->seq, n);
        if (r->prefilling()) fed_prompt += n;
        r->n_fed += n;
        r->pending = -1;
    }
    for (Request* r : fed_ahead) ++r->ahead;  // (their tokens are read below, after this step's launch)
    const float* device_rows_ptr = gpu_ ? model_.workspace().get(0, static_cast<int64_t>(outputs.size()), n_vocab).data : nullptr;

    // Decode pipelining: every output row plain greedy on the device, their tokens kept there for the
    // next step; the previous batch is read after this step's launch.
    const bool async = pipeline_ && !outputs.empty() && static_cast<int64_t>(outputs.size()) <= GpuBackend::kMaxAsyncRows &&
                       std::all_of(outputs.begin(), outputs.end(), [](const Request* r) {
                           return is_plain_greedy(r->params.sampling) && !needs_host_sampling(r->params.sampling);
                       });
    if (async) {
        gpu_->argmax_rows_async(device_rows_ptr, static_cast<int64_t>(outputs.size()), n_vocab);
        ArgmaxBatch b{++batch_serial_, outputs};
        for (size_t i = 0; i < outputs.size(); ++i) {
            outputs[i]->device_row = static_cast<int32_t>(i);
            outputs[i]->device_batch = b.serial;
            ++outputs[i]->in_batches;
        }
        batches_.push_back(std::move(b));
    }
    while (batches_.size() > (async ? 1u : 0u)) read_argmax_batch();

    int64_t sampled = 0;
    if (!async) {
        // On a GPU the rows sampled there go in one batch (one host round trip for the step); the rows
        // of requests that ended at the reading above are not sampled.
        std::vector<SampleResult> on_device;
        if (gpu_) {
            std::vector<DeviceRow> rows;
            for (size_t i = 0; i < outputs.size(); ++i)
                if (!outputs[i]->done && !needs_host_sampling(outputs[i]->params.sampling))
                    rows.push_back({outputs[i]->sampler.get(), device_rows_ptr + i * static_cast<size_t>(n_vocab), outputs[i]->history});
            if (!rows.empty()) on_device = sample_device_rows(*gpu_, rows, n_vocab);
        }
        std::vector<float> row;
        size_t next_device = 0;
        for (size_t i = 0; i < outputs.size(); ++i) {
            Request& r = *outputs[i];
            if (r.done) continue;
            const size_t at = i * static_cast<size_t>(n_vocab);
            SampleResult s;
            if (!gpu_) {
                s = r.sampler->sample(std::span<const float>(logits.data() + at, static_cast<size_t>(n_vocab)), r.history);
            } else if (needs_host_sampling(r.params.sampling)) {
                row.resize(static_cast<size_t>(n_vocab));
                model_.backend().download(row.data(), device_rows_ptr + at, row.size() * sizeof(float));
                s = r.sampler->sample(row, r.history);
            } else {
                s = std::move(on_device[next_device++]);
            }
            pick(r, std::move(s));
            ++sampled;
        }
    }
    remove_ended();

    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.steps;
    stats_.generated_tokens += sampled;
    if (from_device) ++stats_.pipelined_steps;
    stats_.prompt_tokens += fed_prompt;
    stats_.max_batch_seqs = std::max(stats_.max_batch_seqs, static_cast<int32_t>(plan.seqs.size()));
    if (cache_) stats_.prefix_cache = cache_->stats();
}

void Scheduler::read_argmax_batch() {
    ArgmaxBatch b = std::move(batches_.front());
    batches_.pop_front();
    std::vector<GpuSampleResult> got;
    try {
        got = gpu_->argmax_rows_wait();
    } catch (...) {
        for (Request* r : b.rows) --r->in_batches;
        throw;
    }
    RF_CHECK(got.size() == b.rows.size(), "server: an argmax batch of {} rows gave {} tokens", b.rows.size(), got.size());
    for (size_t i = 0; i < b.rows.size(); ++i) {
        Request& r = *b.rows[i];
        --r.in_batches;
        if (r.device_batch == b.serial) {
            r.device_row = -1;
            r.device_batch = -1;
        }
        if (r.done) continue;  // (ended before: its row is not a token of it)
        SampleResult s;
        s.token = got[i].token;  // (greedy rows report no logprob, as sample_device_rows)
        const bool fed = r.ahead > 0;
        pick(r, std::move(s));  // (an end here drops the token fed ahead: release)
        if (fed && !r.done) {
            r.ahead = 0;
            r.pending = -1;  // (already fed)
        }
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.generated_tokens;
    }
}

void Scheduler::pick(Request& r, SampleResult s) {
    if (!r.params.ignore_eos && tokenizer_.is_eog(s.token)) {
        finish(r, FinishReason::EndOfGeneration);
        return;
    }
    r.history.push_back(s.token);
    ++r.n_generated;
    StreamEvent ev;
    ev.tokens.push_back(TokenOut{s.token, s.logprob, std::move(s.top)});
    const StopMatcher::Result m = r.stops->push(r.detok->push(s.token));
    ev.text = m.emit;
    r.stream->push(std::move(ev));
    if (m.stopped) {
        finish(r, FinishReason::Stop, m.matched);
        return;
    }
    if (r.n_generated >= r.budget) {
        finish(r, r.params.max_tokens >= 0 ? FinishReason::Length : FinishReason::ContextFull);
        return;
    }
    r.pending = s.token;
}

void Scheduler::finish(Request& r, FinishReason reason, const std::string& stop_string) {
    StreamEvent end;
    end.kind = StreamEvent::Kind::Finished;
    end.stop_string = stop_string;
    if (reason != FinishReason::Stop && reason != FinishReason::Cancelled) {
        // The text held back (an unfinished character, a possible stop string's start).
        const StopMatcher::Result m = r.stops->push(r.detok->flush());
        std::string rest = m.emit;
        if (m.stopped) {
            reason = FinishReason::Stop;
            end.stop_string = m.matched;
        } else {
            rest += r.stops->flush();
        }
        if (!rest.empty()) {
            StreamEvent tail;
            tail.text = std::move(rest);
            r.stream->push(std::move(tail));
        }
    }
    end.finish = reason;
    end.n_prompt = r.n_prompt();
    end.n_generated = r.n_generated;
    r.stream->push(std::move(end));
    {
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.finished[static_cast<int>(reason)];
    }
    release(r, /*keep=*/reason != FinishReason::Cancelled);
    r.done = true;
}

void Scheduler::release(Request& r, bool keep) {
    if (r.seq >= 0 && r.ahead > 0) {  // a token fed before its reading that generation does not keep
        kv_.truncate(r.seq, r.n_fed - r.ahead);
        r.n_fed -= r.ahead;
    }
    r.ahead = 0;
    if (r.seq >= 0) {
        if (keep && cache_ && r.n_fed > 0) {
            // what the sequence's KV holds: the prompt and the generated tokens fed back
            cache_->put(r.seq, std::vector<int32_t>(r.history.begin(), r.history.begin() + r.n_fed));
        } else {
            kv_.free_sequence(r.seq);
        }
    }
    r.seq = -1;
    reserved_blocks_ -= r.reserved;
    r.reserved = 0;
}

void Scheduler::reserve(int32_t seq, int32_t n) {
    while (!kv_.reserve(seq, n)) {
        // The reservations fit the pool, so only kept prefixes can stand in the way.
        RF_CHECK(cache_ && cache_->evict_one(), "server: KV cache full inside a reservation (sequence {}, {} tokens)", seq, n);
    }
}

}  // namespace rf::server
