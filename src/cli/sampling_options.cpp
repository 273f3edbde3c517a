#include "cli/sampling_options.h"

namespace rf::cli {

void add_sampling_options(CLI::App* cmd, GenerateOptions& g, uint64_t& seed, bool& seed_set) {
    SamplingParams& s = g.sampling;
    cmd->add_option("-n,--n-predict", g.max_tokens, "tokens to generate")->check(CLI::NonNegativeNumber);
    cmd->add_option("--temp", s.temperature, "temperature (0: greedy)")->check(CLI::NonNegativeNumber);
    cmd->add_option("--top-k", s.top_k, "top-k (0: off)");
    cmd->add_option("--top-p", s.top_p, "top-p (1: off)")->check(CLI::Range(1e-6, 1.0));
    cmd->add_option("--min-p", s.min_p, "min-p (0: off)")->check(CLI::Range(0.0, 0.999999));
    cmd->add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty (1: off)")->check(CLI::PositiveNumber);
    cmd->add_option("--repeat-last-n", s.repeat_last_n, "tokens the penalties look back (-1: all)");
    cmd->add_option("--presence-penalty", s.presence_penalty, "presence penalty");
    cmd->add_option("--frequency-penalty", s.frequency_penalty, "frequency penalty");
    cmd->add_option("--seed", seed, "random seed (same seed, same output)")->each([&](const std::string&) { seed_set = true; });
    cmd->add_option("--stop", g.stop, "stop string (repeatable)");
    cmd->add_flag("--ignore-eos", g.ignore_eos, "keep generating past end-of-generation tokens");
    cmd->add_option("-b,--batch-size", g.n_batch, "prompt tokens per forward step (chunked prefill)")
        ->check(CLI::PositiveNumber);
}

}  // namespace rf::cli
