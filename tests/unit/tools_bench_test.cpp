// rocmforge bench without timing anything: the synthetic models have the exact tensor shapes
// of the real configurations (parameter counts as published), their random blocks load through
// the normal Model path from the memfd and give finite logits, and the bench runs a tiny shape
// end to end and reports every row and column.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>

#include "backend/cpu/cpu_backend.h"
#include "backend/gpu/gpu_backend.h"
#include "core/error.h"
#include "engine/session.h"
#include "formats/gguf/gguf_file.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "test_paths.h"
#include "tools/bench.h"
#include "tools/synthetic_model.h"

namespace rf {
namespace {

int64_t count_params(const std::vector<SyntheticTensor>& ts) {
    int64_t n = 0;
    for (const auto& t : ts) {
        int64_t e = 1;
        for (int64_t d : t.ne) e *= d;
        n += e;
    }
    return n;
}

std::map<std::string, SyntheticTensor> by_name(const std::vector<SyntheticTensor>& ts) {
    std::map<std::string, SyntheticTensor> m;
    for (const auto& t : ts) m.emplace(t.name, t);
    return m;
}

TEST(SyntheticModel, ShapesEqualTheRealConfigurations) {
    const QuantFileType q4 = *parse_quant_file_type("q4_0");
    // Parameter counts of Qwen2.5-0.5B, Qwen2.5-7B and Qwen3-8B as published.
    EXPECT_EQ(count_params(synthetic_tensors(find_synthetic_shape("qwen2.5-0.5b"), q4)), 494032768);
    EXPECT_EQ(count_params(synthetic_tensors(find_synthetic_shape("qwen2.5-7b"), q4)), 7615616512);
    EXPECT_EQ(count_params(synthetic_tensors(find_synthetic_shape("qwen3-8b"), q4)), 8190735360);

    auto m = by_name(synthetic_tensors(find_synthetic_shape("qwen2.5-0.5b"), q4));
    EXPECT_EQ(m.count("output.weight"), 0u);  // tied
    EXPECT_EQ(m.at("token_embd.weight").ne, (std::vector<int64_t>{896, 151936}));
    EXPECT_EQ(m.at("token_embd.weight").type,
              TensorType::Q8_0);  // output rule (q6_K) -> 896 cols fall back
    EXPECT_EQ(m.at("blk.0.attn_k.weight").ne, (std::vector<int64_t>{896, 128}));
    EXPECT_EQ(m.at("blk.23.attn_v.bias").ne, (std::vector<int64_t>{128}));
    EXPECT_EQ(m.at("blk.23.ffn_down.weight").ne, (std::vector<int64_t>{4864, 896}));
    EXPECT_EQ(m.at("blk.0.attn_q.weight").type, TensorType::Q4_0);
    EXPECT_EQ(m.at("blk.0.attn_norm.weight").type, TensorType::F32);

    m = by_name(
        synthetic_tensors(find_synthetic_shape("qwen2.5-7b"), *parse_quant_file_type("q4_k_m")));
    EXPECT_EQ(m.at("output.weight").ne, (std::vector<int64_t>{3584, 152064}));
    EXPECT_EQ(m.at("output.weight").type, TensorType::Q6_K);
    EXPECT_EQ(m.at("blk.0.attn_q.weight").ne, (std::vector<int64_t>{3584, 3584}));
    EXPECT_EQ(m.at("blk.0.attn_k.weight").ne, (std::vector<int64_t>{3584, 512}));
    EXPECT_EQ(m.at("blk.0.ffn_up.weight").ne, (std::vector<int64_t>{3584, 18944}));
    EXPECT_EQ(m.at("blk.0.ffn_down.weight").type, TensorType::Q6_K);  // use_more_bits(0, 28)
    EXPECT_EQ(m.at("blk.4.ffn_down.weight").type, TensorType::Q4_K);

    m = by_name(synthetic_tensors(find_synthetic_shape("qwen3-8b"), q4));
    EXPECT_EQ(m.at("blk.35.attn_q_norm.weight").ne, (std::vector<int64_t>{128}));
    EXPECT_EQ(m.at("blk.0.attn_q.weight").ne, (std::vector<int64_t>{4096, 4096}));
    EXPECT_EQ(m.at("blk.0.attn_output.weight").ne, (std::vector<int64_t>{4096, 4096}));
    EXPECT_EQ(m.at("blk.0.attn_v.weight").ne, (std::vector<int64_t>{4096, 1024}));
    EXPECT_EQ(m.count("blk.0.attn_q.bias"), 0u);
    // Qwen/Qwen3-30B-A3B: 128 experts of 768, the router f32, the experts' down projections by
    // use_more_bits as llama-quantize does for ffn_down_exps
    m = by_name(synthetic_tensors(find_synthetic_shape("qwen3-30b-a3b"), *parse_quant_file_type("q4_k_m")));
    EXPECT_EQ(m.at("blk.0.ffn_gate_inp.weight").ne, (std::vector<int64_t>{2048, 128}));
    EXPECT_EQ(m.at("blk.0.ffn_gate_inp.weight").type, TensorType::F32);
    EXPECT_EQ(m.at("blk.47.ffn_gate_exps.weight").ne, (std::vector<int64_t>{2048, 768, 128}));
    EXPECT_EQ(m.at("blk.47.ffn_down_exps.weight").ne, (std::vector<int64_t>{768, 2048, 128}));
    EXPECT_EQ(m.at("blk.0.ffn_up_exps.weight").type, TensorType::Q4_K);
    EXPECT_EQ(m.at("blk.0.ffn_down_exps.weight").type, TensorType::Q6_K);  // use_more_bits(0, 48)
    EXPECT_EQ(m.at("blk.7.ffn_down_exps.weight").type, TensorType::Q4_K);  // 7 >= 48 / 8, (7 - 6) % 3 != 2
    EXPECT_EQ(m.at("blk.0.attn_q.weight").ne, (std::vector<int64_t>{2048, 4096}));
    EXPECT_EQ(m.count("blk.0.ffn_gate.weight"), 0u);
    EXPECT_THROW(find_synthetic_shape("qwen9"), Error);
    EXPECT_THROW(SyntheticModel("tiny:q9_9"), Error);
    EXPECT_THROW(SyntheticModel("tiny"), Error);
}

// The in-memory GGUF holds exactly the planned tensors and runs to finite logits.
TEST(SyntheticModel, LoadsThroughTheModelPathAndRuns) {
    for (const char* spec : {"tiny:q4_0", "tiny:q5_1", "tiny:q4_k_m", "tiny:q3_k", "tiny:f16", "tiny:bf16", "tiny-moe:q8_0",
                             "tiny-moe:q4_k_m"}) {
        SCOPED_TRACE(spec);
        const SyntheticModel sm(spec);
        EXPECT_EQ(sm.path().rfind("/proc/self/fd/", 0), 0u);
        const GgufFile f(sm.path());
        const auto planned = synthetic_tensors(sm.shape(), sm.file_type());
        ASSERT_EQ(f.tensors().size(), planned.size());
        for (size_t i = 0; i < planned.size(); ++i) {
            EXPECT_EQ(f.tensors()[i].name, planned[i].name);
            EXPECT_EQ(f.tensors()[i].type, planned[i].type);
            EXPECT_EQ(f.tensors()[i].ne, planned[i].ne);
        }
        CpuBackend be(2);
        Model model(sm.path(), be);
        EXPECT_EQ(model.config().n_layer, 2);
        KvCache kv(be, {4, 16, KvCodec::F16}, model.kv_layer_shapes());
        Session s(model, kv, 64);
        std::vector<float> logits;
        const std::vector<int32_t> prompt = {1, 7, 300, 511, 42};
        s.feed(prompt, 3, &logits);
        ASSERT_EQ(logits.size(), 512u);
        for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    }
}

TEST(Bench, RunsTinySyntheticEndToEnd) {
    BenchOptions o;
    o.synthetic = "tiny:q4_k_m";
    o.n_prompt = {8};
    o.n_gen = {4};
    o.reps = 2;
    o.threads = 2;
    o.device = "cpu";
    o.profile = true;
    o.bandwidth_bytes = size_t{64} << 20;
    std::vector<std::string> log;
    const BenchReport r = run_bench(o, [&](const std::string& line) { log.push_back(line); });
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.rows[0].test, "pp8");
    EXPECT_EQ(r.rows[1].test, "tg4");
    for (const auto& row : r.rows) {
        EXPECT_EQ(row.model, "tiny q4_k_m (synthetic)");
        EXPECT_EQ(row.threads, 2);
        EXPECT_EQ(row.runs_tps.size(), 2u);
        EXPECT_GT(row.tps, 0.0);
        EXPECT_EQ(row.backend.rfind("cpu ", 0), 0u);
    }
    EXPECT_GT(r.rows[1].gbs, 0.0);  // tg reports bytes per token
    EXPECT_EQ(r.rows[0].gbs, 0.0);
    EXPECT_GT(r.bandwidth_gbs, 0.0);
    const std::string md = r.markdown();
    EXPECT_NE(md.find("| model | size | params | backend | threads | test | t/s | runs (min - max) | GB/s | % of BW |"),
              std::string::npos);
    // each row's spread: the slowest and the fastest of its runs, around the median it reports
    for (const auto& row : r.rows) {
        const auto [lo, hi] = std::minmax_element(row.runs_tps.begin(), row.runs_tps.end());
        EXPECT_LE(*lo, row.tps);
        EXPECT_GE(*hi, row.tps);
        EXPECT_NE(md.find(fmt::format("| {:.2f} | {:.2f} - {:.2f} |", row.tps, *lo, *hi)), std::string::npos) << md;
    }
    EXPECT_NE(md.find("memory bandwidth: read"), std::string::npos);
    EXPECT_NE(md.find("ops of tg4"), std::string::npos);
    EXPECT_NE(md.find("| attention |"), std::string::npos);
    EXPECT_FALSE(log.empty());
    o.model_path = "x.gguf";  // both -m and --synthetic
    EXPECT_THROW(run_bench(o), Error);
}

// --profile needs the CPU backend's per-op timers: refused, naming the backend, on any other (a GPU
// bench with it used to run without a profile and without saying so).
TEST(Bench, ProfileIsRefusedOffTheCpuBackend) {
    BenchOptions o;
    EXPECT_NO_THROW(check_bench_backend(o, false, "gpu cuda"));
    o.profile = true;
    EXPECT_NO_THROW(check_bench_backend(o, true, "cpu avx2"));
    try {
        check_bench_backend(o, false, "gpu cuda (NVIDIA H100)");
        ADD_FAILURE() << "--profile accepted on a GPU backend";
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("--profile"), std::string::npos) << what;
        EXPECT_NE(what.find("gpu cuda (NVIDIA H100)"), std::string::npos) << what;
        EXPECT_NE(what.find("--device cpu"), std::string::npos) << what;
    }
}

// --prio sets the nice value of the benchmarking threads (Linux: per thread, inherited by the
// pool's workers); run on a thread of its own so the rest of the tests keep theirs.
// A GPU tg run's log line names its one-off graph work from the differences of the backend's counters.
TEST(Bench, GraphWorkNoteNamesARunsOneOffGraphWork) {
    GpuGraphStats run;
    EXPECT_EQ(graph_work_note(run), "graphs: 0 eager steps, 0 instantiations, 0 updates, 0 us building");
    run.eager_flushes = 1;
    run.graph_instantiations = 2;
    run.graph_updates = 3;
    run.graph_build_ns = 412'600;
    run.steps = 128;  // (not graph work)
    EXPECT_EQ(graph_work_note(run), "graphs: 1 eager steps, 2 instantiations, 3 updates, 413 us building");
}

// A tiny synthetic model's bench on one CPU thread with the given lists (a 1 MiB bandwidth probe).
BenchOptions tiny_cpu_bench(std::vector<int> n_prompt, std::vector<int> n_gen, std::vector<int> depth, int reps) {
    BenchOptions o;
    o.synthetic = "tiny:q8_0";
    o.n_prompt = std::move(n_prompt);
    o.n_gen = std::move(n_gen);
    o.depth = std::move(depth);
    o.reps = reps;
    o.threads = 1;
    o.device = "cpu";
    o.bandwidth_bytes = size_t{1} << 20;
    return o;
}

// --parallel (llama-batched-bench's -npl): tg tests of N sequences decoding together, each after
// the depth; t/s counts the tokens of all of them.
TEST(Bench, ParallelSequencesDecodeTogether) {
    BenchOptions o = tiny_cpu_bench({0}, {3}, {0, 5}, 2);
    o.parallel = {1, 4};
    const BenchReport r = run_bench(o);
    std::vector<std::string> tests;
    for (const auto& row : r.rows) tests.push_back(row.test);
    EXPECT_EQ(tests, (std::vector<std::string>{"tg3", "tg3 x4", "tg3 @ d5", "tg3 x4 @ d5"}));
    EXPECT_EQ(r.rows[1].n_seqs, 4);
    EXPECT_EQ(nlohmann::json::parse(r.json())["tests"][3]["n_seqs"].get<int>(), 4);
    for (const auto& row : r.rows) EXPECT_GT(row.tps, 0.0) << row.test;
    // the weights are read once per step for all sequences: a token's share of the bytes is smaller
    EXPECT_LT(r.rows[1].gbs / r.rows[1].tps, r.rows[0].gbs / r.rows[0].tps);
    o.parallel = {0};
    EXPECT_THROW(run_bench(o), Error);
    o.parallel = {2};
    o.n_gen = {0};
    o.n_prompt = {4};
    EXPECT_THROW(run_bench(o), Error);  // no tg test to run in parallel
}

TEST(Bench, ListsRunEveryTestAtEveryDepth) {
    // (as llama-bench's -p 4,8 -n 2 -d 0,4: the pp tests, then the tg tests, per depth; 0 runs nothing)
    BenchOptions o = tiny_cpu_bench({4, 0, 8}, {2}, {0, 4}, 1);
    const BenchReport r = run_bench(o);
    std::vector<std::string> tests;
    for (const auto& row : r.rows) tests.push_back(row.test);
    EXPECT_EQ(tests, (std::vector<std::string>{"pp4", "pp8", "tg2", "pp4 @ d4", "pp8 @ d4", "tg2 @ d4"}));
    o.depth = {0, -1};
    EXPECT_THROW(run_bench(o), Error);
    o.depth = {};
    EXPECT_THROW(run_bench(o), Error);
}

TEST(Bench, PriorityIsApplied) {
    int nice_after = 0;
    std::thread t([&] {
        BenchOptions o;
        o.synthetic = "tiny:q8_0";
        o.n_prompt = {2};
        o.n_gen = {1};
        o.reps = 1;
        o.threads = 1;
        o.device = "cpu";
        o.bandwidth_bytes = size_t{1} << 20;
        o.priority = std::min(19, getpriority(PRIO_PROCESS, 0) + 1);
        run_bench(o);
        nice_after = getpriority(PRIO_PROCESS, 0);
        EXPECT_EQ(nice_after, o.priority);
    });
    t.join();
}

TEST(Bench, CliPrintsTheTable) {
    const std::string cmd =
        test::cli_exe().string() +
        " bench --synthetic tiny:q8_0 -p 4 -n 2 -r 1 -t 1 --device cpu 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    while (size_t k = fread(buf, 1, sizeof buf, p)) out.append(buf, k);
    EXPECT_EQ(pclose(p), 0);
    EXPECT_NE(out.find("| tiny q8_0 (synthetic) |"), std::string::npos) << out;
    EXPECT_NE(out.find("| pp4 |"), std::string::npos) << out;
    EXPECT_NE(out.find("| tg2 |"), std::string::npos) << out;
}

// -o json / csv (as llama-bench's): every test's numbers, the runs included, for scripts.
TEST(Bench, JsonAndCsvCarryEveryTestsNumbers) {
    const BenchReport r = run_bench(tiny_cpu_bench({4}, {2}, {0, 8}, 2));
    ASSERT_EQ(r.rows.size(), 4u);
    const auto j = nlohmann::json::parse(r.json());
    EXPECT_DOUBLE_EQ(j["bandwidth_gbs"].get<double>(), r.bandwidth_gbs);
    ASSERT_EQ(j["tests"].size(), 4u);
    for (size_t i = 0; i < r.rows.size(); ++i) {
        const auto& t = j["tests"][i];
        const BenchRow& row = r.rows[i];
        EXPECT_EQ(t["test"], row.test);
        EXPECT_EQ(t["n_prompt"].get<int>(), row.n_gen > 0 ? 0 : 4);
        EXPECT_EQ(t["n_gen"].get<int>(), row.n_gen > 0 ? 2 : 0);
        EXPECT_EQ(t["n_depth"].get<int>(), i < 2 ? 0 : 8);
        EXPECT_DOUBLE_EQ(t["median_ts"].get<double>(), row.tps);
        EXPECT_EQ(t["samples_ts"].get<std::vector<double>>(), row.runs_tps);
        EXPECT_EQ(t.contains("gbs"), row.n_gen > 0);
    }
    const std::string csv = r.csv();
    EXPECT_EQ(csv.rfind("model,size_gib,params,backend,threads,test,n_prompt,n_gen,n_depth,n_seqs,median_ts,", 0), 0u) << csv;
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);  // header + 4 tests
    EXPECT_NE(csv.find("\"tiny q8_0 (synthetic)\""), std::string::npos) << csv;
    EXPECT_NE(csv.find("\"tg2 @ d8\",0,2,8,1,"), std::string::npos) << csv;
}

}  // namespace
}  // namespace rf
