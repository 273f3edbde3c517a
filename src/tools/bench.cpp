#include "tools/bench.h"

#include "backend/gpu/gpu_backend.h"
#include "engine/sampler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <span>

#include "backend/backend_factory.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_features.h"
#include "core/env_switch.h"
#include "core/error.h"
#include "engine/generator.h"
#include "engine/session.h"
#include "kv/step_builder.h"
#include "formats/gguf/gguf_file.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "tools/bench_bandwidth.h"
#include "tools/synthetic_model.h"

namespace rf {
namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::vector<int32_t> random_tokens(int n, int n_vocab, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<int32_t> d(0, n_vocab - 1);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = d(rng);
    return t;
}

// Host time of one timed feed: the whole, and its parts in Session::feed (model recording, the
// backend's begin_step, and whatever flushes/waits happen inside) and in choosing the next token;
// on a GPU backend also its counters over the timed part.
struct FeedTiming {
    double seconds = 0;
    double feed_seconds = 0;
    double next_token_seconds = 0;
    GpuGraphStats gpu;  // differences over the timed part
};

// sum += b - a, every counter of GpuGraphStats
void add_stats(GpuGraphStats& sum, const GpuGraphStats& a, const GpuGraphStats& b) {
    sum.steps += b.steps - a.steps;
    sum.graph_launches += b.graph_launches - a.graph_launches;
    sum.graph_updates += b.graph_updates - a.graph_updates;
    sum.graph_instantiations += b.graph_instantiations - a.graph_instantiations;
    sum.eager_flushes += b.eager_flushes - a.eager_flushes;
    sum.kernels += b.kernels - a.kernels;
    sum.fast_replays += b.fast_replays - a.fast_replays;
    sum.flush_ns += b.flush_ns - a.flush_ns;
    sum.ops += b.ops - a.ops;
    sum.begin_step_ns += b.begin_step_ns - a.begin_step_ns;
    sum.graph_build_ns += b.graph_build_ns - a.graph_build_ns;
    sum.wait_ns += b.wait_ns - a.wait_ns;
    sum.sample_ns += b.sample_ns - a.sample_ns;
    sum.device_allocs += b.device_allocs - a.device_allocs;
    sum.alloc_ns += b.alloc_ns - a.alloc_ns;
    sum.f16_cache_hits += b.f16_cache_hits - a.f16_cache_hits;
    sum.f16_cache_fills += b.f16_cache_fills - a.f16_cache_fills;
    sum.f16_cache_bypasses += b.f16_cache_bypasses - a.f16_cache_bypasses;
    sum.step_uploads += b.step_uploads - a.step_uploads;
    sum.fused_uploads += b.fused_uploads - a.fused_uploads;
}

void add_timing(FeedTiming& sum, const FeedTiming& t) {
    sum.seconds += t.seconds;
    sum.feed_seconds += t.feed_seconds;
    sum.next_token_seconds += t.next_token_seconds;
    add_stats(sum.gpu, GpuGraphStats{}, t.gpu);
}

// Feeds `tokens` into a sequence holding `prefix` already (fed first, not timed), n_batch at a
// time (pp) or one by one (tg). Each tg step ends with the next token chosen as a generator
// would: on a GPU backend argmax runs on the device (the logits row stays there), on the CPU the
// row is read on the host.
FeedTiming time_feed(Model& model, KvCache& kv, int32_t n_ctx, const std::vector<int32_t>& prefix,
                     const std::vector<int32_t>& tokens, int n_batch, bool one_by_one) {
    Session s(model, kv, n_ctx);
    std::vector<float> logits;
    if (!prefix.empty()) s.feed(prefix, n_batch, nullptr);
    model.backend().synchronize();
    auto* gpu = dynamic_cast<GpuBackend*>(&model.backend());
    s.set_want_device_logits(gpu != nullptr);
    FeedTiming ft;
    const GpuGraphStats stats0 = gpu ? gpu->graph_stats() : GpuGraphStats{};
    const auto t0 = Clock::now();
    auto feed = [&](std::span<const int32_t> t, int32_t b, std::vector<float>* out) {
        const auto a = Clock::now();
        s.feed(t, b, out);
        ft.feed_seconds += std::chrono::duration<double>(Clock::now() - a).count();
    };
    auto next_token = [&] {
        const auto a = Clock::now();
        (void)(gpu ? gpu->argmax(s.device_logits(), model.n_vocab()) : argmax(logits));
        ft.next_token_seconds += std::chrono::duration<double>(Clock::now() - a).count();
    };
    if (one_by_one && gpu && decode_pipelining_enabled() && !tokens.empty()) {
        // as the generator decodes greedily on a GPU: each step feeds the previous step's device
        // argmax, launched before the host reads it (tokens after the first are the model's own)
        feed(std::span<const int32_t>(tokens.data(), 1), 1, nullptr);
        auto a = Clock::now();
        gpu->argmax_async(s.device_logits(), model.n_vocab());
        ft.next_token_seconds += std::chrono::duration<double>(Clock::now() - a).count();
        for (size_t k = 1; k < tokens.size(); ++k) {
            a = Clock::now();
            s.feed_device_token();
            const auto b = Clock::now();
            ft.feed_seconds += std::chrono::duration<double>(b - a).count();
            gpu->argmax_async(s.device_logits(), model.n_vocab());
            s.resolve_device_token(gpu->argmax_wait());
            ft.next_token_seconds += std::chrono::duration<double>(Clock::now() - b).count();
        }
        a = Clock::now();
        (void)gpu->argmax_wait();
        ft.next_token_seconds += std::chrono::duration<double>(Clock::now() - a).count();
    } else if (one_by_one) {
        for (const int32_t& t : tokens) {
            feed(std::span<const int32_t>(&t, 1), 1, gpu ? nullptr : &logits);
            next_token();
        }
    } else {
        feed(tokens, n_batch, gpu ? nullptr : &logits);
        if (gpu) next_token();
    }
    model.backend().synchronize();
    ft.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (gpu) add_stats(ft.gpu, stats0, gpu->graph_stats());
    return ft;
}

// RF_BENCH_ROW_ARGMAX=on: each row's argmax its own round trip (before sample_rows; for comparisons)
bool per_row_argmax() { return env_choice("RF_BENCH_ROW_ARGMAX", {"off", "on"}, 0) == 1; }

// A tg run of n_seqs sequences decoding together: each sequence holds `prefix` (fed one sequence
// at a time, not timed) and a first token of its own, then every step feeds one token per
// sequence and takes each row's argmax (on a GPU on the device, else on the host), as the
// server's scheduler does for greedy requests: on a GPU with decode pipelining (RF_DECODE_PIPELINE),
// each step is fed the previous step's argmax rows on the device and launched before the host reads
// them (GpuBackend::argmax_rows_async), else each step's rows are sampled in one round trip.
FeedTiming time_batched_decode(Model& model, KvCache& kv, int n_seqs, const std::vector<int32_t>& prefix,
                               const std::vector<int32_t>& first_tokens, int n_steps, int n_batch) {
    const int32_t n_vocab = model.n_vocab();
    auto* gpu = dynamic_cast<GpuBackend*>(&model.backend());
    std::vector<int32_t> seqs;
    for (int i = 0; i < n_seqs; ++i) seqs.push_back(kv.create_sequence());
    // from_device: every token is the previous step's argmax row of its sequence, still on the device
    auto step = [&](const std::vector<std::pair<int32_t, std::vector<int32_t>>>& feeds, bool want_logits,
                    std::vector<float>* logits, bool from_device = false) {
        StepPlan plan;
        for (const auto& [seq, toks] : feeds) {
            RF_CHECK(kv.reserve(seq, static_cast<int32_t>(toks.size())), "bench: the KV cache is full ({} sequences)", n_seqs);
            append_to_step(plan, kv, seq, toks, want_logits);
        }
        if (from_device) {
            plan.device_rows.resize(plan.tokens.size());
            for (size_t t = 0; t < plan.tokens.size(); ++t) plan.device_rows[t] = static_cast<int32_t>(t);
        }
        if (logits) logits->resize(plan.output_rows.size() * static_cast<size_t>(n_vocab));
        model.forward(plan, kv, logits && !gpu ? logits->data() : nullptr);
        for (const auto& [seq, toks] : feeds) kv.commit(seq, static_cast<int32_t>(toks.size()));
    };
    for (int32_t seq : seqs)
        for (size_t b = 0; b < prefix.size(); b += static_cast<size_t>(n_batch)) {
            const size_t e = std::min(prefix.size(), b + static_cast<size_t>(n_batch));
            step({{seq, std::vector<int32_t>(prefix.begin() + static_cast<ptrdiff_t>(b), prefix.begin() + static_cast<ptrdiff_t>(e))}},
                 false, nullptr);
        }
    model.backend().synchronize();
    const GpuGraphStats stats0 = gpu ? gpu->graph_stats() : GpuGraphStats{};
    FeedTiming ft;
    std::vector<int32_t> next = first_tokens;
    std::vector<float> logits;
    const bool pipelined = gpu && decode_pipelining_enabled() && !per_row_argmax() && n_seqs <= GpuBackend::kMaxAsyncRows;
    const auto t0 = Clock::now();
    for (int k = 0; k < n_steps; ++k) {
        std::vector<std::pair<int32_t, std::vector<int32_t>>> feeds;
        for (int i = 0; i < n_seqs; ++i) feeds.push_back({seqs[static_cast<size_t>(i)], {next[static_cast<size_t>(i)]}});
        const auto a = Clock::now();
        step(feeds, true, &logits, pipelined && k > 0);
        const auto b = Clock::now();
        // (on a GPU each row's argmax runs on the device, all rows in one round trip, as the server samples)
        const float* rows = gpu ? model.workspace().get(0, n_seqs, n_vocab).data : logits.data();
        if (pipelined) {
            // this step's rows launched; the previous step's read (the host learns a token a step late)
            gpu->argmax_rows_async(rows, n_seqs, n_vocab);
            if (k > 0) {
                const std::vector<GpuSampleResult> got = gpu->argmax_rows_wait();
                for (int i = 0; i < n_seqs; ++i) next[static_cast<size_t>(i)] = got[static_cast<size_t>(i)].token;
            }
        } else if (gpu && !per_row_argmax()) {
            std::vector<GpuRowSample> batch(static_cast<size_t>(n_seqs));
            for (int i = 0; i < n_seqs; ++i) {
                batch[static_cast<size_t>(i)].row = rows + static_cast<size_t>(i) * n_vocab;
                batch[static_cast<size_t>(i)].n = n_vocab;
                batch[static_cast<size_t>(i)].params.temperature = 0.0f;
            }
            const std::vector<GpuSampleResult> got = gpu->sample_rows(batch);
            for (int i = 0; i < n_seqs; ++i) next[static_cast<size_t>(i)] = got[static_cast<size_t>(i)].token;
        } else {
            for (int i = 0; i < n_seqs; ++i) {
                const float* row = rows + static_cast<size_t>(i) * n_vocab;
                next[static_cast<size_t>(i)] =
                    gpu ? gpu->argmax(row, n_vocab) : argmax(std::span<const float>(row, static_cast<size_t>(n_vocab)));
            }
        }
        ft.feed_seconds += std::chrono::duration<double>(b - a).count();
        ft.next_token_seconds += std::chrono::duration<double>(Clock::now() - b).count();
    }
    if (pipelined && n_steps > 0) {
        const auto a = Clock::now();
        (void)gpu->argmax_rows_wait();
        ft.next_token_seconds += std::chrono::duration<double>(Clock::now() - a).count();
    }
    model.backend().synchronize();
    ft.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (gpu) add_stats(ft.gpu, stats0, gpu->graph_stats());
    for (int32_t seq : seqs) kv.free_sequence(seq);
    return ft;
}

}  // namespace

std::string graph_work_note(const GpuGraphStats& run) {
    return fmt::format("graphs: {} eager steps, {} instantiations, {} updates, {:.0f} us building", run.eager_flushes,
                       run.graph_instantiations, run.graph_updates, static_cast<double>(run.graph_build_ns) * 1e-3);
}

namespace {

// Where the host time of a test's timed runs went on a GPU backend (per token for tg, per run
// for pp), from the bench's own timers and the backend's counters (GpuGraphStats).
std::string gpu_host_line(const std::string& test, const FeedTiming& t, double units,
                          const char* unit) {
    const double us = 1e6 / units, ns = 1e-3 / units;
    const GpuGraphStats a{}, &b = t.gpu;
    return fmt::format(
        "{} host time per {} (us): wall {:.1f} = Session::feed {:.1f} (begin_step {:.1f}) + next "
        "token {:.1f} (sample/argmax {:.1f}) + final sync {:.1f}; inside them: flush {:.1f} (graph "
        "capture/update/instantiate {:.1f}), waiting for the device {:.1f}, device allocations "
        "{:.1f} in {:.2f} calls; exposed host (wall - waits) {:.1f}. Per {}: {:.1f} ops, {:.2f} "
        "flushes ({:.2f} fast replays, {:.2f} graph launches, {:.2f} eager, {:.2f} updates, {:.2f} "
        "instantiations), {:.1f} kernels, {:.2f} step uploads, {:.2f} fused into the sampling; f16 weight "
        "cache {:.1f} hits, {:.1f} fills, {:.1f} bypasses",
        test, unit, t.seconds * us, t.feed_seconds * us, (b.begin_step_ns - a.begin_step_ns) * ns,
        t.next_token_seconds * us, (b.sample_ns - a.sample_ns) * ns,
        (t.seconds - t.feed_seconds - t.next_token_seconds) * us, (b.flush_ns - a.flush_ns) * ns,
        (b.graph_build_ns - a.graph_build_ns) * ns, (b.wait_ns - a.wait_ns) * ns,
        (b.alloc_ns - a.alloc_ns) * ns, (b.device_allocs - a.device_allocs) / units,
        t.seconds * us - (b.wait_ns - a.wait_ns) * ns, unit, (b.ops - a.ops) / units,
        (b.steps - a.steps) / units, (b.fast_replays - a.fast_replays) / units,
        (b.graph_launches - a.graph_launches) / units, (b.eager_flushes - a.eager_flushes) / units,
        (b.graph_updates - a.graph_updates) / units,
        (b.graph_instantiations - a.graph_instantiations) / units, (b.kernels - a.kernels) / units,
        (b.step_uploads - a.step_uploads) / units, (b.fused_uploads - a.fused_uploads) / units,
        (b.f16_cache_hits - a.f16_cache_hits) / units, (b.f16_cache_fills - a.f16_cache_fills) / units,
        (b.f16_cache_bypasses - a.f16_cache_bypasses) / units);
}

// K and V bytes of one position across all attention layers.
size_t kv_bytes_per_position(const Model& model, KvCodec codec) {
    size_t b = 0;
    for (const KvLayerShape& s : model.kv_layer_shapes())
        b += 2 * static_cast<size_t>(s.n_kv_head) * kv_row_bytes(codec, s.head_dim);
    return b;
}

// Per-op table of one test: time per token, share, and GB/s of the bytes the op reads.
std::string profile_table(const std::string& test, const std::map<std::string, OpStats>& stats,
                          double tokens, double wall_seconds) {
    std::vector<std::pair<std::string, OpStats>> rows(stats.begin(), stats.end());
    std::sort(rows.begin(), rows.end(),
              [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
    double total = 0;
    for (const auto& r : rows) total += r.second.seconds;
    std::string s = fmt::format(
        "\nops of {} ({:.3f} ms per token; ops {:.3f} ms, the rest is outside the ops):\n\n", test,
        1e3 * wall_seconds / tokens, 1e3 * total / tokens);
    s +=
        "| op | calls / token | ms / token | share | GB/s |\n| --- | ---: | ---: | ---: | ---: |\n";
    for (const auto& [name, st] : rows)
        s += fmt::format("| {} | {:.1f} | {:.4f} | {:.1f} % | {} |\n", name, st.calls / tokens,
                         1e3 * st.seconds / tokens, 100 * st.seconds / total,
                         st.bytes > 0 ? fmt::format("{:.1f}", st.bytes / st.seconds / 1e9) : "");
    return s;
}

std::string format_params(int64_t p) {
    if (p >= 1000000000) return fmt::format("{:.2f} B", p / 1e9);
    if (p >= 1000000) return fmt::format("{:.2f} M", p / 1e6);
    return fmt::format("{:.2f} K", p / 1e3);
}

}  // namespace

std::string BenchReport::markdown() const {
    std::string s = bandwidth_line + "\n\n";
    s += "| model | size | params | backend | threads | test | t/s | runs (min - max) | GB/s | % of BW |\n";
    s += "| --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: |\n";
    for (const BenchRow& r : rows) {
        const bool tg = r.gbs > 0;
        std::string runs;
        if (!r.runs_tps.empty()) {
            const auto [lo, hi] = std::minmax_element(r.runs_tps.begin(), r.runs_tps.end());
            runs = fmt::format("{:.2f} - {:.2f}", *lo, *hi);
        }
        s += fmt::format("| {} | {:.2f} GiB | {} | {} | {} | {} | {:.2f} | {} | {} | {} |\n", r.model,
                         r.size_gib, format_params(r.params), r.backend, r.threads, r.test, r.tps, runs,
                         tg ? fmt::format("{:.1f}", r.gbs) : "",
                         tg ? fmt::format("{:.0f} %", 100 * r.bw_fraction) : "");
    }
    return s + profiles;
}

void check_bench_backend(const BenchOptions& o, bool cpu_backend, const std::string& backend_name) {
    RF_CHECK(!o.profile || cpu_backend,
             "bench: --profile times the CPU backend's ops and cannot time {} (run with --device cpu; on a GPU, "
             "a profiling build, -DROCMFORGE_GPU_STEP_TRACE=ON with RF_GPU_STEP_TRACE=K:N, prints the decode "
             "steps' kernel timeline)",
             backend_name);
}

BenchReport run_bench(const BenchOptions& o,
                      const std::function<void(const std::string&)>& log_fn) {
    auto log = [&](const std::string& line) {
        if (log_fn) log_fn(line);
    };
    RF_CHECK(o.model_path.empty() != o.synthetic.empty(),
             "bench: give exactly one of -m MODEL and --synthetic SHAPE:TYPE");
    const auto all_of = [](const std::vector<int>& v, auto pred) { return std::all_of(v.begin(), v.end(), pred); };
    const auto non_negative = [](int v) { return v >= 0; };
    const auto max_of = [](const std::vector<int>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); };
    RF_CHECK(o.reps >= 1 && o.n_batch >= 1 && all_of(o.n_prompt, non_negative) && all_of(o.n_gen, non_negative) &&
                 all_of(o.depth, non_negative) && !o.depth.empty(),
             "bench: -r {} must be >= 1, -b {} >= 1, every -p [{}], -n [{}] and -d [{}] >= 0 (and one -d at least)", o.reps,
             o.n_batch, fmt::join(o.n_prompt, ","), fmt::join(o.n_gen, ","), fmt::join(o.depth, ","));
    RF_CHECK(max_of(o.n_prompt) > 0 || max_of(o.n_gen) > 0, "bench: nothing to run (-p 0 and -n 0); give -p N and/or -n N");
    const auto positive = [](int v) { return v >= 1; };
    RF_CHECK(!o.parallel.empty() && all_of(o.parallel, positive), "bench: every --parallel [{}] must be >= 1",
             fmt::join(o.parallel, ","));
    RF_CHECK(max_of(o.parallel) == 1 || max_of(o.n_gen) > 0,
             "bench: --parallel {} sets the sequences of the tg tests; there is none (-n 0)", max_of(o.parallel));
    // the context each test needs: the depth, the longer test and a margin, within kMaxContext
    RF_CHECK(int64_t{max_of(o.depth)} + std::max(max_of(o.n_prompt), max_of(o.n_gen)) + 16 <= kMaxContext,
             "bench: -d {} + max(-p {}, -n {}) tokens of context is above the largest supported, {}", max_of(o.depth),
             max_of(o.n_prompt), max_of(o.n_gen), kMaxContext);

    if (o.priority != 0) {
        // All threads of the process (the pool is created below) inherit the nice value.
        errno = 0;
        RF_CHECK(setpriority(PRIO_PROCESS, 0, o.priority) == 0,
                 "bench: cannot set priority (nice) {}: {}", o.priority, std::strerror(errno));
    }
    // the backend first: options it cannot take fail before a synthetic model is built
    std::unique_ptr<Backend> backend = make_backend(BackendChoice{o.device, o.threads});
    auto* cpu_backend = dynamic_cast<CpuBackend*>(backend.get());
    check_bench_backend(o, cpu_backend != nullptr, backend->name());
    std::optional<SyntheticModel> synth;
    std::string path = o.model_path, name;
    if (!o.synthetic.empty()) {
        const auto t0 = Clock::now();
        synth.emplace(o.synthetic, o.seed);
        path = synth->path();
        name = synth->shape().name + " " + synth->file_type().name + " (synthetic)";
        log(fmt::format("built synthetic {} in memory: {:.2f} GiB in {:.1f} s",
                        synth->description(), synth->file_bytes() / 1073741824.0,
                        std::chrono::duration<double>(Clock::now() - t0).count()));
    }

    const auto t_load = Clock::now();
    Model model(path, *backend);
    log(fmt::format("loaded in {:.1f} s on {}",
                    std::chrono::duration<double>(Clock::now() - t_load).count(), backend->name()));
    if (name.empty()) {
        name = model.config().name.empty() ? std::filesystem::path(path).filename().string()
                                           : model.config().name;
    }

    int64_t params = 0;
    for (const auto& t : model.gguf().tensors()) params += t.n_elements();
    const ModelWeights& w = model.weights();
    const size_t token_weight_bytes = weight_bytes_per_token(w, model.config());

    BenchReport report;
    // The bandwidth is measured once up front and again right before every tg run, and each tg
    // run is compared with its own measurement: on a shared or virtual machine the bandwidth
    // available to these threads changes over seconds (other tenants, where the vCPUs run).
    std::vector<Bandwidth> measured;
    BandwidthMeter meter(*backend, o.bandwidth_bytes);
    auto measure = [&] {
        measured.push_back(meter.measure());
        return measured.back();
    };
    log(measure().describe());

    const int32_t n_ctx = max_of(o.depth) + std::max(max_of(o.n_prompt), max_of(o.n_gen)) + 16;
    KvCache kv(*backend, {((n_ctx + 15) / 16 + 1) * max_of(o.parallel), 16, o.kv_codec}, model.kv_layer_shapes());
    const std::string backend_name =
        cpu_backend ? fmt::format("cpu {}", cpu::cpu_isa_name(cpu::cpu_isa())) : backend->name();

    // one test after `depth` random tokens: warm-up, then o.reps timed runs
    auto run_test = [&](bool tg, int n, int depth, int n_seqs) {
        const std::vector<int32_t> prefix = random_tokens(depth, model.n_vocab(), o.seed + 3);
        const auto tokens = random_tokens(std::max(n, n_seqs), model.n_vocab(), o.seed + (tg ? 2 : 1));
        // the timed runs: one sequence as the generator runs it, or n_seqs decoding together
        auto timed_run = [&](const std::vector<int32_t>& toks, int steps) {
            if (n_seqs == 1) return time_feed(model, kv, n_ctx, prefix, toks, o.n_batch, tg);
            return time_batched_decode(model, kv, n_seqs, prefix, tokens, steps, o.n_batch);
        };
        // Warm-up on a short run of the same kind after the same prefix: faults in every weight
        // page, sizes workspaces and scratch, and runs the kernels of the timed steps once (pp:
        // one whole n_batch chunk, e.g. the GPU's many-token GEMM path and its library setup;
        // tg: a few steps at the same depth, twice, so that a GPU graph of every kind of step exists: a
        // run's first step, whose token comes from the host, is a graph of its own where the pipelined
        // steps carry the sampling chain, and a graph is built at a step's second sighting).
        const std::vector<int32_t> warm(tokens.begin(),
                                        tokens.begin() + std::min(n, tg ? 3 : o.n_batch));
        for (int pass = 0; pass < (tg ? 2 : 1); ++pass) timed_run(warm, static_cast<int>(warm.size()));
        if (auto* g = dynamic_cast<GpuBackend*>(backend.get()); g != nullptr && !tg) {
            const GpuF16CacheInfo ci = g->f16_cache_info();
            if (ci.budget_known)
                log(fmt::format("f16 weight cache after the warm-up: {:.2f} GiB in {} copies (budget {:.2f} GiB, {} evictions)",
                                static_cast<double>(ci.used_bytes) / 1073741824.0, ci.entries,
                                static_cast<double>(ci.budget_bytes) / 1073741824.0, ci.evictions));
        }
        BenchRow row;
        row.model = name;
        row.size_gib = static_cast<double>(w.total_bytes) / 1073741824.0;
        row.params = params;
        row.backend = backend_name;
        row.threads = cpu_backend ? cpu_backend->pool().size() : 0;
        row.test = fmt::format("{}{}", tg ? "tg" : "pp", n);
        (tg ? row.n_gen : row.n_prompt) = n;
        row.depth = depth;
        row.n_seqs = n_seqs;
        if (n_seqs > 1) row.test += fmt::format(" x{}", n_seqs);
        if (depth > 0) row.test += fmt::format(" @ d{}", depth);
        OpProfiler* prof = o.profile && cpu_backend ? &cpu_backend->profiler() : nullptr;
        if (prof) {
            prof->reset();
            prof->set_enabled(true);
        }
        // tg: bytes read per token (weights + KV of the mean context: the depth plus positions
        // 0 .. n-1 read by tokens 1 .. n)
        // (n_seqs together: a step reads the weights once and every sequence's KV, so a token's
        // share is the weights / n_seqs plus its own KV; for MoE, the experts one token chooses,
        // a lower bound when several tokens choose different ones)
        const double token_bytes =
            static_cast<double>(token_weight_bytes) / n_seqs +
            static_cast<double>(kv_bytes_per_position(model, o.kv_codec)) * (depth + (n + 1) / 2.0);
        double wall = 0;
        std::vector<double> fractions;
        const bool gpu = dynamic_cast<GpuBackend*>(backend.get()) != nullptr;
        FeedTiming timing;
        for (int r = 0; r < o.reps; ++r) {
            const double bw = tg ? measure().read_gbs : 0.0;
            if (prof) prof->set_enabled(true);
            const FeedTiming ft = timed_run(tokens, n);
            const double sec = ft.seconds;
            add_timing(timing, ft);
            if (gpu && !tg)  // each pp run on its own: the first may differ (graphs, setup)
                log(gpu_host_line(fmt::format("{} run {}", row.test, r + 1), ft, 1.0, "run"));
            if (prof) prof->set_enabled(false);
            wall += sec;
            const double produced = static_cast<double>(n) * n_seqs;  // tokens of all sequences
            row.runs_tps.push_back(produced / sec);
            if (tg) fractions.push_back(bw > 0 ? token_bytes * produced / sec / 1e9 / bw : 0.0);
            const std::string graphs = gpu && tg ? "; " + graph_work_note(ft.gpu) : std::string();
            log(tg ? fmt::format(
                         "{} run {}/{}: {:.2f} t/s, {:.1f} GB/s of {:.1f} measured just before{}",
                         row.test, r + 1, o.reps, produced / sec, token_bytes * produced / sec / 1e9, bw, graphs)
                   : fmt::format("{} run {}/{}: {:.2f} t/s", row.test, r + 1, o.reps, n / sec));
        }
        if (gpu && tg)
            log(gpu_host_line(row.test, timing, static_cast<double>(n) * o.reps, n_seqs > 1 ? "step" : "token"));
        if (prof) {
            report.profiles +=
                profile_table(row.test, prof->stats(), static_cast<double>(n) * o.reps, wall);
        }
        row.tps = median(row.runs_tps);
        if (tg) {
            row.gbs = token_bytes * row.tps / 1e9;
            row.bw_fraction = median(fractions);
        }
        report.rows.push_back(row);
    };
    for (const int depth : o.depth) {  // (llama-bench's order: the pp tests, then the tg tests, per depth)
        for (const int n : o.n_prompt)
            if (n > 0) run_test(false, n, depth, 1);
        for (const int n : o.n_gen)
            if (n > 0)
                for (const int np : o.parallel) run_test(true, n, depth, np);
    }
    std::vector<double> reads;
    double lo = measured[0].read_gbs, hi = lo;
    for (const Bandwidth& b : measured) {
        reads.push_back(b.read_gbs);
        lo = std::min(lo, b.read_gbs);
        hi = std::max(hi, b.read_gbs);
    }
    Bandwidth summary = measured[0];
    summary.read_gbs = report.bandwidth_gbs = median(reads);
    report.bandwidth_line = summary.describe();
    if (measured.size() > 1)
        report.bandwidth_line += fmt::format(
            "; median of {} measurements ({:.1f} .. {:.1f}), one before each tg run, which is "
            "compared with its own (% of BW: median over runs)",
            measured.size(), lo, hi);
    return report;
}

}  // namespace rf
