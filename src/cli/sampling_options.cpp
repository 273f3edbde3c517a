#include "cli/sampling_options.h"

#include <charconv>
#include <limits>
#include <string>

#include "cli/option_checks.h"

namespace rf::cli {
namespace {

// "-1" (llama.cpp's "random seed") or an unsigned 64-bit integer.
uint64_t parse_seed(const std::string& v) {
    if (v == "-1") return kRandomSeed;
    uint64_t seed = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seed);
    if (ec != std::errc() || end != v.data() + v.size())
        throw CLI::ValidationError("--seed", "must be -1 (random) or an integer in [0, 2^64) (got " + v + ")");
    return seed;
}

}  // namespace

void add_sampling_options(CLI::App* cmd, GenerateOptions& g, uint64_t& seed, bool& seed_set) {
    SamplingParams& s = g.sampling;
    cmd->add_option("-n,--n-predict", g.max_tokens, "tokens to generate (-1: until end of generation or a full context)")
        ->check(CLI::Range(-1, std::numeric_limits<int>::max()));
    cmd->add_option("--temp", s.temperature, "temperature (0: greedy)")->check(kNonNegative);
    cmd->add_option("--top-k", s.top_k, "top-k (0: off)")->check(kNonNegative);
    cmd->add_option("--top-p", s.top_p, "top-p (1: off)")->check(CLI::Range(1e-6, 1.0));
    cmd->add_option("--min-p", s.min_p, "min-p (0: off)")->check(CLI::Range(0.0, 0.999999));
    cmd->add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty (1: off)")->check(kPositive);
    cmd->add_option("--repeat-last-n", s.repeat_last_n, "tokens the penalties look back (-1: all)")
        ->check(CLI::Range(-1, std::numeric_limits<int>::max()));
    cmd->add_option("--presence-penalty", s.presence_penalty, "presence penalty")->check(kFinite);
    cmd->add_option("--frequency-penalty", s.frequency_penalty, "frequency penalty")->check(kFinite);
    // (parsed here: CLI11 versions differ on whether "-1" converts to an unsigned integer)
    cmd->add_option_function<std::string>(
        "--seed",
        [&seed, &seed_set](const std::string& v) {
            seed = parse_seed(v);
            seed_set = true;
        },
        "random seed (same seed, same output; -1: a random seed, the default)");
    cmd->add_option("--stop", g.stop, "stop string (repeatable)")->check(kNonEmpty);
    cmd->add_flag("--ignore-eos", g.ignore_eos, "keep generating past end-of-generation tokens");
    cmd->add_option("-b,--batch-size", g.n_batch, "prompt tokens per forward step (chunked prefill)")
        ->check(kPositive);
}

}  // namespace rf::cli
