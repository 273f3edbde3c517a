// GpuBackendImpl's sampling entry points: the device chain (sampling.cuh), with the host chain
// as the fallback for nuclei wider than the device candidate list.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "backend/gpu/gpu_backend_impl.h"
#include "backend/gpu/gpu_check.h"
#include "backend/gpu/gpu_sampling_host.h"
#include "backend/gpu/gpu_weight_layout.h"
#include "backend/gpu/sampling.cuh"
#include "core/error.h"

namespace rf::gpu {

namespace {

// A logits row in which no value compared (every logit NaN) has no token to give: say so
// rather than return an id (the device wrote token 0 so that a step already fed it stays in bounds).
void check_sample_value(const SampleOut& out, int64_t n) {
    RF_CHECK(!out.no_value, "gpu sampling: the logits row{} has no comparable value (every logit is NaN): the model's "
             "output is broken",
             n > 0 ? fmt::format(" of {}", n) : std::string());
}

// The chain's constants for these parameters, draw u and penalised-token count.
SampleConsts sample_consts(const GpuSamplingParams& p, double u, size_t n_penalties) {
    SampleConsts c = zeroed<SampleConsts>();
    c.u = u;
    c.temperature = p.temperature;
    c.top_p = p.top_p;
    c.min_p = p.min_p;
    c.repeat_penalty = p.repeat_penalty;
    c.presence_penalty = p.presence_penalty;
    c.frequency_penalty = p.frequency_penalty;
    c.top_k = p.top_k;
    c.n_penalties = static_cast<int32_t>(n_penalties);
    return c;
}

}  // namespace

SampleScratchLayout sample_scratch_layout(int64_t n, size_t n_penalties) {
    const int64_t n1 = sample_stage1_blocks(n);
    SampleScratchLayout lay;
    size_t off = 0;
    auto take = [&](size_t bytes) {
        const size_t at = off;
        off = align_up(off + bytes, 256);
        return at;
    };
    lay.work = take(n_penalties > 0 ? static_cast<size_t>(n) * 4 : 0);
    lay.pairs = take(n_penalties * 8);
    lay.stats = take(static_cast<size_t>(n1) * sizeof(SampleStats));
    const size_t cand_n = static_cast<size_t>(n1) * kSampleMaxK;
    lay.v0 = take(cand_n * 4);
    lay.v1 = take(cand_n * 4);
    lay.i0 = take(cand_n * 4);
    lay.i1 = take(cand_n * 4);
    lay.out = take(sizeof(SampleOut));
    lay.bytes = off;
    return lay;
}

const void* GpuBackendImpl::launch_sampling(const float* row, int64_t n, const GpuSamplingParams& p,
                                            std::span<const GpuTokenCount> penalties, double u, int k_list,
                                            void* host_result, StepUpload up) {
    RF_CHECK(n > 0 && n < (int64_t{1} << 31), "sampling: row of {} values", n);
    if (ops_.empty()) read_switches();  // (flush reads them when it has a step to launch)
    flush();
    device_token_ = nullptr;  // the sampling scratch is rewritten below
    const bool penalise = !penalties.empty();
    const SampleScratchLayout lay = sample_scratch_layout(n, penalties.size());
    ensure_scratch(sample_buf_, lay.bytes);
    auto* base = static_cast<uint8_t*>(sample_buf_.ptr);

    const SampleConsts c = sample_consts(p, u, penalties.size());

    Launcher l(Launcher::Mode::Launch, stream_, pdl_between_steps());
    const float* work = row;
    if (penalise) {
        std::vector<int32_t> pairs;
        pairs.reserve(penalties.size() * 2);
        for (const GpuTokenCount& tc : penalties) {
            pairs.push_back(tc.token);
            pairs.push_back(tc.count);
        }
        RF_GPU_CHECK(cudaMemcpyAsync(base + lay.work, row, static_cast<size_t>(n) * 4, cudaMemcpyDeviceToDevice, stream_));
        RF_GPU_CHECK(cudaMemcpyAsync(base + lay.pairs, pairs.data(), pairs.size() * 4, cudaMemcpyHostToDevice, stream_));
        launch_penalties(l, reinterpret_cast<float*>(base + lay.work), n, reinterpret_cast<const int32_t*>(base + lay.pairs), c);
        work = reinterpret_cast<const float*>(base + lay.work);
    }
    float* cand_v[2] = {reinterpret_cast<float*>(base + lay.v0), reinterpret_cast<float*>(base + lay.v1)};
    int32_t* cand_i[2] = {reinterpret_cast<int32_t*>(base + lay.i0), reinterpret_cast<int32_t*>(base + lay.i1)};
    // the host's copy: written by the last kernel through the mapping of sample_host_, or copied
    const bool direct = zero_copy();
    void* mapped = direct ? static_cast<uint8_t*>(sample_host_dev_) + (static_cast<uint8_t*>(host_result) -
                                                                      static_cast<uint8_t*>(sample_host_))
                          : nullptr;
    launch_sample(l, row, work, n, c, k_list, reinterpret_cast<SampleStats*>(base + lay.stats), cand_v, cand_i,
                  reinterpret_cast<SampleOut*>(base + lay.out), static_cast<SampleOut*>(mapped),
                  switches_.sample_fast, up);
    if (!direct) RF_GPU_CHECK(cudaMemcpyAsync(host_result, base + lay.out, sizeof(SampleOut), cudaMemcpyDeviceToHost, stream_));
    return base + lay.out;
}

void GpuBackendImpl::sample_on_device(const float* row, int64_t n, const GpuSamplingParams& p,
                                      std::span<const GpuTokenCount> penalties, double u, int k_list,
                                      GpuSampleResult& result) {
    ScopedNs timer(stats_.sample_ns);
    (void)launch_sampling(row, n, p, penalties, u, k_list, sample_host_);
    wait_stream();
    SampleOut out;
    std::memcpy(&out, sample_host_, sizeof out);
    check_sample_value(out, n);
    if (out.fallback) {
        std::vector<float> host(static_cast<size_t>(n));
        RF_GPU_CHECK(cudaMemcpy(host.data(), row, static_cast<size_t>(n) * 4, cudaMemcpyDeviceToHost));
        result = sample_row_host(host, p, penalties, u);
        return;
    }
    result.token = out.token;
    result.logprob = out.logprob;
    result.on_device = true;
}

int32_t GpuBackendImpl::argmax(const float* row, int64_t n) {
    GpuSamplingParams p;
    p.temperature = 0.0f;
    GpuSampleResult r;
    sample_on_device(row, n, p, {}, 0.0, 0, r);
    return r.token;
}

void GpuBackendImpl::argmax_async(const float* row, int64_t n) {
    RF_CHECK(pending_argmax_.size() < 2, "gpu: argmax_async with {} results pending (at most 2)", pending_argmax_.size());
    ScopedNs timer(stats_.sample_ns);
    // the slot not held by a pending result (results are read in order)
    const int slot = pending_argmax_.empty() ? 0 : 1 - pending_argmax_.front();
    if (ops_.empty()) read_switches();  // (flush reads them when it has a step to launch)
    flush();  // the step whose logits these are (and an older held chain)
    if (switches_.sample_upload && zero_copy()) {
        // held until the next begin_step (its upload fused into the final kernel) or anything else
        const SampleScratchLayout lay = sample_scratch_layout(n, 0);
        ensure_scratch(sample_buf_, lay.bytes);
        held_sample_ = HeldSample{true, row, n, slot};
        pending_argmax_.push_back(slot);
        device_token_ = reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(sample_buf_.ptr) + lay.out +
                                                         offsetof(SampleOut, token));
        return;
    }
    GpuSamplingParams p;
    p.temperature = 0.0f;
    void* host = static_cast<uint8_t*>(sample_host_) + kAsyncSampleOffset + slot * sizeof(SampleOut);
    const void* dev_out = launch_sampling(row, n, p, {}, 0.0, 0, host);
    RF_GPU_CHECK(cudaEventRecord(argmax_done_[slot], stream_));
    pending_argmax_.push_back(slot);
    device_token_ = reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(dev_out) + offsetof(SampleOut, token));
}

void GpuBackendImpl::launch_held_sample(StepUpload up) {
    if (!held_sample_.active) return;
    const HeldSample h = held_sample_;
    held_sample_.active = false;  // (launch_sampling flushes: not again)
    GpuSamplingParams p;
    p.temperature = 0.0f;
    void* host = static_cast<uint8_t*>(sample_host_) + kAsyncSampleOffset + h.slot * sizeof(SampleOut);
    // ops recorded since argmax_async come after the chain: kept out of launch_sampling's flush
    std::vector<Op> later;
    later.swap(ops_);
    const void* dev_out = nullptr;
    try {
        dev_out = launch_sampling(h.row, h.n, p, {}, 0.0, 0, host, up);
    } catch (...) {
        ops_.swap(later);
        throw;
    }
    ops_.swap(later);
    RF_GPU_CHECK(cudaEventRecord(argmax_done_[h.slot], stream_));
    // (launch_sampling forgot the device token: it is this chain's)
    device_token_ = reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(dev_out) + offsetof(SampleOut, token));
}

void GpuBackendImpl::hand_held_sample_to_graph(StepUpload up, int si) {
    const HeldSample held = held_sample_;
    held_sample_.active = false;
    graph_sample_ = GraphSample{};
    graph_sample_.active = true;
    graph_sample_.row = held.row;
    graph_sample_.n = held.n;
    graph_sample_.up = StepUpload{up.dst, nullptr, up.n};
    graph_sample_.staging_src[0] = staging_dev_[0];
    graph_sample_.staging_src[1] = staging_dev_[1];
    graph_sample_.scratch = sample_buf_.ptr;
    graph_sample_.slot = held.slot;
    graph_sample_.staging = si;
    // its ring slot's result word, polled by argmax_wait: emptied before the chain can run (the
    // result there before is the chain's two rings back, read: at most 2 results pending)
    for (int pending : pending_argmax_)
        RF_CHECK(pending == held.slot || ring_of_slot_[pending] != si,
                 "gpu: ring result slot {} still holds an unread result", si);
    *(reinterpret_cast<volatile uint64_t*>(static_cast<uint8_t*>(sample_host_) + kRingWordOffset) + si) = kSampleWordEmpty;
    const SampleScratchLayout lay = sample_scratch_layout(held.n, 0);
    device_token_ = reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(sample_buf_.ptr) + lay.out +
                                                     offsetof(SampleOut, token));
}

void GpuBackendImpl::emit_greedy_chain(Launcher& l, const GraphSample& g) const {
    const SampleScratchLayout lay = sample_scratch_layout(g.n, 0);
    auto* base = static_cast<uint8_t*>(sample_buf_.ptr);
    // the constants of argmax_async's chain in launch_sampling: the default parameters at temperature 0
    GpuSamplingParams p;
    p.temperature = 0.0f;
    const SampleConsts c = sample_consts(p, 0.0, 0);
    float* cand_v[2] = {reinterpret_cast<float*>(base + lay.v0), reinterpret_cast<float*>(base + lay.v1)};
    int32_t* cand_i[2] = {reinterpret_cast<int32_t*>(base + lay.i0), reinterpret_cast<int32_t*>(base + lay.i1)};
    auto* ring_words = reinterpret_cast<uint64_t*>(static_cast<uint8_t*>(sample_host_dev_) + kRingWordOffset);
    const SampleRing ring{ring_counter_, {ring_words, ring_words + 1}, {g.staging_src[0], g.staging_src[1]}};
    launch_sample(l, g.row, g.row, g.n, c, 0, reinterpret_cast<SampleStats*>(base + lay.stats), cand_v, cand_i,
                  reinterpret_cast<SampleOut*>(base + lay.out), nullptr, switches_.sample_fast, g.up, ring);
}

void GpuBackendImpl::launch_graph_sample_alone() {
    if (!graph_sample_.active) return;
    Launcher l(Launcher::Mode::Launch, stream_, false);  // (no PDL: the ring counter is read before the wait)
    emit_greedy_chain(l, graph_sample_);
    graph_sample_launched(false);
}

void GpuBackendImpl::graph_sample_launched(bool in_step) {
    if (!graph_sample_.active) return;
    graph_sample_.active = false;
    if (in_step) ++stats_.graph_samples;
    RF_GPU_CHECK(cudaEventRecord(argmax_done_[graph_sample_.slot], stream_));
    RF_GPU_CHECK(cudaEventRecord(staging_done_[graph_sample_.staging], stream_));
    polled_[graph_sample_.slot] = in_step;  // (its event comes after the whole step)
    ring_of_slot_[graph_sample_.slot] = graph_sample_.staging;
    ++ring_count_;
}

int32_t GpuBackendImpl::argmax_wait() {
    RF_CHECK(!pending_argmax_.empty(), "gpu: argmax_wait without a pending argmax_async");
    ScopedNs timer(stats_.sample_ns);
    const int slot = pending_argmax_.front();
    if (held_sample_.active && held_sample_.slot == slot) launch_held_sample(StepUpload{nullptr, nullptr, 0});
    if (graph_sample_.active && graph_sample_.slot == slot) flush();  // (its chain is in the step's launch)
    pending_argmax_.pop_front();
    SampleOut out;
    const int ring = ring_of_slot_[slot];  // a chain with SampleRing: its result word in that ring slot
    ring_of_slot_[slot] = -1;
    if (ring >= 0) {
        const volatile uint64_t* word =
            reinterpret_cast<const volatile uint64_t*>(static_cast<const uint8_t*>(sample_host_) + kRingWordOffset) + ring;
        if (polled_[slot]) {
            // the chain ran first in a step whose event comes after the whole step: its word, or that
            // event (an error, or a word already there) if it comes first
            ScopedNs wait_timer(stats_.wait_ns);
            for (int spin = 0; *word == kSampleWordEmpty; ++spin) {
                if (spin % 64 != 63) continue;
                const cudaError_t q = cudaEventQuery(argmax_done_[slot]);
                if (q == cudaSuccess) break;
                if (q != cudaErrorNotReady) RF_GPU_CHECK(q);
            }
            polled_[slot] = false;
        } else {
            wait_event(argmax_done_[slot]);
        }
        const uint64_t w = *word;
        RF_CHECK(w != kSampleWordEmpty, "gpu: the sampling chain of ring slot {} finished without its result", ring);
        out = sample_word_decode(w);
    } else {
        wait_event(argmax_done_[slot]);
        std::memcpy(&out, static_cast<const uint8_t*>(sample_host_) + kAsyncSampleOffset + slot * sizeof(SampleOut),
                    sizeof out);
    }
    check_sample_value(out, 0);
    return out.token;  // (argmax never takes the host fallback: that is for wide nuclei)
}

namespace {

void check_sample_args(const GpuSamplingParams& params, double u) {
    RF_CHECK(params.top_p > 0.0f && params.min_p < 1.0f && params.repeat_penalty > 0.0f,
             "sampling: top_p {} / min_p {} / repeat_penalty {} out of range", params.top_p, params.min_p,
             params.repeat_penalty);
    RF_CHECK(u >= 0.0 && u < 1.0, "sampling: u = {} is not in [0, 1)", u);
}

// Candidates the device chain keeps for a sampled row (0: greedy).
int candidate_list(const GpuSamplingParams& params) {
    if (params.temperature <= 0.0f) return 0;
    if (params.top_k <= 0 || params.top_k > kSampleMaxK) return kSampleMaxK;
    int k_list = 64;
    while (k_list < params.top_k) k_list *= 2;
    return k_list;
}

}  // namespace

GpuSampleResult GpuBackendImpl::sample(const float* row, int64_t n, const GpuSamplingParams& params,
                                       std::span<const GpuTokenCount> penalties, double u) {
    check_sample_args(params, u);
    GpuSampleResult r;
    sample_on_device(row, n, params, penalties, u, candidate_list(params), r);
    return r;
}

std::vector<GpuSampleResult> GpuBackendImpl::sample_rows(std::span<const GpuRowSample> rows) {
    for (const GpuRowSample& r : rows) check_sample_args(r.params, r.u);
    ScopedNs timer(stats_.sample_ns);
    std::vector<GpuSampleResult> out(rows.size());
    // the host slots below argmax_async's: rows in groups of as many
    constexpr size_t kSlots = kAsyncSampleOffset / sizeof(SampleOut);
    for (size_t b = 0; b < rows.size(); b += kSlots) {
        const size_t e = std::min(rows.size(), b + kSlots);
        // the scratch sized for the group's largest layout first (a growth waits for the stream)
        size_t bytes = 0;
        for (size_t i = b; i < e; ++i) bytes = std::max(bytes, sample_scratch_layout(rows[i].n, rows[i].penalties.size()).bytes);
        ensure_scratch(sample_buf_, bytes);
        for (size_t i = b; i < e; ++i)  // (in stream order: each chain's result leaves the scratch before the next)
            (void)launch_sampling(rows[i].row, rows[i].n, rows[i].params, rows[i].penalties, rows[i].u,
                                  candidate_list(rows[i].params), static_cast<uint8_t*>(sample_host_) + (i - b) * sizeof(SampleOut));
        wait_stream();
        for (size_t i = b; i < e; ++i) {
            SampleOut o;
            std::memcpy(&o, static_cast<const uint8_t*>(sample_host_) + (i - b) * sizeof(SampleOut), sizeof o);
            check_sample_value(o, rows[i].n);
            if (o.fallback) {  // a nucleus wider than the device's candidate list: the row on the host
                std::vector<float> host(static_cast<size_t>(rows[i].n));
                RF_GPU_CHECK(cudaMemcpy(host.data(), rows[i].row, host.size() * 4, cudaMemcpyDeviceToHost));
                out[i] = sample_row_host(host, rows[i].params, rows[i].penalties, rows[i].u);
                continue;
            }
            out[i].token = o.token;
            out[i].logprob = o.logprob;
            out[i].on_device = true;
        }
    }
    return out;
}

// ---- argmax_rows_async: a batched decode step's greedy rows, their tokens kept on the device ----

void GpuBackendImpl::argmax_rows_async(const float* rows, int64_t n_rows, int64_t n) {
    RF_CHECK(n_rows >= 1 && n_rows <= kMaxAsyncRows, "gpu: argmax_rows_async of {} rows (1 .. {})", n_rows, kMaxAsyncRows);
    RF_CHECK(n > 0 && n < (int64_t{1} << 31), "gpu: argmax_rows_async of rows of {} values", n);
    RF_CHECK(pending_rows_.size() < 2, "gpu: argmax_rows_async with {} batches pending (at most 2)", pending_rows_.size());
    ScopedNs timer(stats_.sample_ns);
    if (ops_.empty()) read_switches();  // (flush reads them when it has a step to launch)
    flush();                            // the step whose logits these are
    static_assert(kRowsSampleOffset + 2 * kMaxAsyncRows * sizeof(SampleOut) <= kSampleHostBytes,
                  "the batches' host results fit sample_host_");
    const size_t result_bytes = 2 * static_cast<size_t>(kMaxAsyncRows) * sizeof(SampleOut);
    if (rows_out_.ptr == nullptr) ensure_scratch(rows_out_, result_bytes);  // (once: its address never changes)
    // the rows' statistics in the sampling scratch (in stream order after any chain before)
    ensure_scratch(sample_buf_, static_cast<size_t>(n_rows * sample_stage1_blocks(n)) * sizeof(SampleStats));
    device_token_ = nullptr;  // (the scratch is rewritten)
    const int parity = rows_parity_;
    auto* dev = static_cast<SampleOut*>(rows_out_.ptr) + static_cast<size_t>(parity) * kMaxAsyncRows;
    const size_t host_at = kRowsSampleOffset + static_cast<size_t>(parity) * kMaxAsyncRows * sizeof(SampleOut);
    const bool direct = zero_copy();
    GpuSamplingParams greedy;
    greedy.temperature = 0.0f;
    Launcher l(Launcher::Mode::Launch, stream_, pdl_between_steps());
    launch_greedy_rows(l, rows, n, n_rows, sample_consts(greedy, 0.0, 0), static_cast<SampleStats*>(sample_buf_.ptr), dev,
                       direct ? reinterpret_cast<SampleOut*>(static_cast<uint8_t*>(sample_host_dev_) + host_at) : nullptr);
    if (!direct)
        RF_GPU_CHECK(cudaMemcpyAsync(static_cast<uint8_t*>(sample_host_) + host_at, dev,
                                     static_cast<size_t>(n_rows) * sizeof(SampleOut), cudaMemcpyDeviceToHost, stream_));
    RF_GPU_CHECK(cudaEventRecord(rows_done_[parity], stream_));
    pending_rows_.push_back(RowsBatch{parity, n_rows});
    rows_parity_ = 1 - parity;
    device_rows_ = dev;
    device_rows_n_ = n_rows;
}

std::vector<GpuSampleResult> GpuBackendImpl::argmax_rows_wait() {
    RF_CHECK(!pending_rows_.empty(), "gpu: argmax_rows_wait without a pending argmax_rows_async");
    ScopedNs timer(stats_.sample_ns);
    const RowsBatch b = pending_rows_.front();
    pending_rows_.pop_front();
    wait_event(rows_done_[b.parity]);
    const auto* host = reinterpret_cast<const SampleOut*>(static_cast<const uint8_t*>(sample_host_) + kRowsSampleOffset) +
                       static_cast<size_t>(b.parity) * kMaxAsyncRows;  // (written by the chain's final kernel)
    std::vector<GpuSampleResult> out(static_cast<size_t>(b.n_rows));
    for (int64_t i = 0; i < b.n_rows; ++i) {
        SampleOut o;
        std::memcpy(&o, host + i, sizeof o);
        check_sample_value(o, 0);
        out[static_cast<size_t>(i)].token = o.token;  // (argmax never takes the host fallback)
        out[static_cast<size_t>(i)].logprob = o.logprob;
    }
    return out;
}

}  // namespace rf::gpu
