// rocmforge bench: pp / tg throughput of a model file or a synthetic model (tools/bench.h).
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "tools/bench.h"

namespace rf::cli {

void add_bench_command(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    auto kv_type = std::make_shared<std::string>("f16");
    auto* cmd = app.add_subcommand(
        "bench", "Prompt processing and generation throughput (like llama-bench)");
    auto* m = cmd->add_option("-m,--model", o->model_path, "GGUF model file");
    auto* s = cmd->add_option(
        "--synthetic", o->synthetic,
        "random weights of a real model's shape, built in memory: SHAPE:TYPE, SHAPE in "
        "qwen2.5-0.5b | qwen2.5-7b | qwen3-8b | qwen3-30b-a3b | tiny | tiny-moe, TYPE in f32 | f16 | bf16 | q4_0 | q4_1 | "
        "q5_0 | q5_1 | q8_0 | q2_k | q3_k | q4_k | q5_k | q6_k | q4_k_m | q5_k_m");
    m->excludes(s);
    s->excludes(m);
    cmd->add_option("-p,--n-prompt", o->n_prompt, "prompt tokens of the pp test, or a list: 512,1024 (0: none)")
        ->delimiter(',')
        ->check(kNonNegative);
    cmd->add_option("-n,--n-gen", o->n_gen, "generated tokens of the tg test, or a list (0: none)")
        ->delimiter(',')
        ->check(kNonNegative);
    cmd->add_option("-b,--batch-size", o->n_batch, "tokens per forward step in pp")
        ->check(kPositive);
    cmd->add_option("-d,--depth", o->depth,
                    "tokens already in the context when each test starts (prefilled, not timed), e.g. 8192, or a "
                    "list: 0,8192,32768")
        ->delimiter(',')
        ->check(kNonNegative);
    cmd->add_option("--parallel,--npl", o->parallel,
                    "sequences decoding together in each tg test, or a list: 1,8,32 (as llama-batched-bench -npl; "
                    "N > 1: N sequences, one token each per step, t/s counts all their tokens)")
        ->delimiter(',')
        ->check(kPositive);
    cmd->add_option("-r,--repetitions", o->reps, "timed runs per test (the median is shown)")
        ->check(kPositive);
    cmd->add_option("-t,--threads", o->threads, "CPU threads (0: all cores)")
        ->check(kNonNegative);
    cmd->add_option("--device", o->device, "auto | cpu | gpu")
        ->check(CLI::IsMember({"auto", "cpu", "gpu"}));
    cmd->add_option("--kv-type", *kv_type, "KV cache storage: f16 | f32")
        ->check(CLI::IsMember({"f16", "f32"}));
    cmd->add_option("--seed", o->seed, "seed of the synthetic weights and the random tokens");
    cmd->add_option("--prio", o->priority,
                    "nice value while benchmarking, -20..19 (like llama-bench --prio; negative "
                    "needs privileges)")
        ->check(CLI::Range(-20, 19));
    auto output = std::make_shared<std::string>("md");
    cmd->add_option("-o,--output", *output, "output format: md (a table, the default) | json | csv (as llama-bench -o)")
        ->check(CLI::IsMember({"md", "json", "csv"}));
    cmd->add_flag("--profile", o->profile,
                  "CPU: time every op and print a per-op table for each test (refused on another backend)");
    cmd->callback([o, kv_type, output] {
        o->kv_codec = *kv_type == "f32" ? KvCodec::F32 : KvCodec::F16;
        RF_CHECK(!(o->profile && *output == "csv"), "bench: --profile's per-op tables have no CSV form (use -o md or -o json)");
        const BenchReport r =
            run_bench(*o, [](const std::string& line) { spdlog::info("{}", line); });
        const std::string text = *output == "json" ? r.json() : *output == "csv" ? r.csv() : r.markdown();
        std::printf("%s", text.c_str());
        std::fflush(stdout);
    });
}

}  // namespace rf::cli
