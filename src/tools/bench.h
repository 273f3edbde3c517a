// `rocmforge bench`: prompt processing (pp) and generation (tg) throughput of a model, like
// llama-bench. pp<N>: one sequence, N random tokens fed in batches of n_batch; tg<N>: N tokens
// fed one at a time after the depth's random tokens (none by default). Each test runs once untimed (warm-up: pages faulted,
// caches and pools sized), then `reps` timed runs; the table shows the median and the slowest and
// fastest run.
//
// For tg the table also shows the bytes read per generated token (every weight the step reads
// once: all matrices incl. the output, not the token embedding table unless tied, plus the KV
// cache rows of the mean context length) times t/s, as GB/s and as a fraction of the memory
// bandwidth measured on the same threads (bench_bandwidth.h) right before each run (the
// median over runs of each run's own fraction).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kv/kv_layout.h"

namespace rf {

struct BenchOptions {
    std::string model_path;  // a GGUF file, or
    std::string synthetic;   // SHAPE:TYPE (tools/synthetic_model.h)
    // As llama-bench's lists: a pp test per positive n_prompt and a tg test per positive n_gen (0:
    // none), each at every depth (tokens already in the context when a test starts, -d).
    std::vector<int> n_prompt = {512};
    std::vector<int> n_gen = {128};
    int n_batch = 512;       // tokens per forward step in pp
    std::vector<int> depth = {0};
    // Sequences decoding together in a tg test (as llama-batched-bench's -npl): 1 is the plain
    // tg test; N > 1 runs N sequences, each after `depth` tokens, one token each per step (the
    // server's continuous-batching decode step), and reports the tokens of all of them per second.
    std::vector<int> parallel = {1};
    int reps = 3;
    int threads = 0;  // CPU threads (0: all cores)
    std::string device = "auto";
    KvCodec kv_codec = KvCodec::F16;
    uint64_t seed = 1;     // synthetic weights and random tokens
    bool profile = false;  // CPU: per-op time table of each test (timers around every op)
    size_t bandwidth_bytes = size_t{1} << 30;  // buffer of the bandwidth measurement
    int priority = 0;  // nice value for the run (like llama-bench --prio; < 0 needs privileges)
};

struct BenchRow {
    std::string model;    // "qwen2.5-0.5b q4_0 (synthetic)" or general.name / file name
    double size_gib = 0;  // weight tensors
    int64_t params = 0;
    std::string backend;  // "cpu avx512_vnni", "gpu ..."
    int threads = 0;
    std::string test;  // "pp512", "tg128", "tg128 @ d512"
    int n_prompt = 0;  // pp tokens (0 for tg)
    int n_gen = 0;     // tg tokens (0 for pp)
    int depth = 0;     // tokens in the context before the test
    int n_seqs = 1;    // tg: sequences decoding together (tps counts all of their tokens)
    double tps = 0;    // median tokens/s
    std::vector<double> runs_tps;
    double gbs = 0;          // tg: GB/s of weights + KV read per token (0 for pp)
    double bw_fraction = 0;  // tg: gbs / measured bandwidth
};

struct BenchReport {
    std::string bandwidth_line;  // printed above the table
    double bandwidth_gbs = 0;    // median of the read bandwidth measurements
    std::vector<BenchRow> rows;
    std::string profiles;          // per-op tables (BenchOptions::profile), markdown
    std::string markdown() const;  // bandwidth line, blank line, table, profiles
    // (bench_output.cpp) for scripts, as llama-bench's -o json / csv: one object / line per test
    // with its numbers (the runs' t/s included), and the measured bandwidth
    std::string json() const;
    std::string csv() const;
};

struct GpuGraphStats;
// The one-off graph work of one timed GPU run (the differences of its counters), for the run's log
// line: "graphs: E eager steps, I instantiations, U updates, B us building". A topology met for the
// first time runs eagerly, the second time it is captured and instantiated; a changed launch only
// updates. After the warm-up every decode graph of a tg run exists, so all are zero there.
std::string graph_work_note(const GpuGraphStats& run);

// The options that need the CPU backend (--profile: its per-op timers) refused with a clear error
// for any other backend, named by backend_name (instead of being accepted and doing nothing).
void check_bench_backend(const BenchOptions& options, bool cpu_backend, const std::string& backend_name);

// Runs the bench; log(line) receives progress lines (may be null).
BenchReport run_bench(const BenchOptions& options,
                      const std::function<void(const std::string&)>& log = nullptr);

}  // namespace rf
