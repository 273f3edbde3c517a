#include "cli/sampling_options.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/model_options.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "engine/json_schema.h"

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

// llama.cpp's --logit-bias TOKEN_ID(+|-)BIAS: "15043+1", "15043-0.5", "15043-inf" (bans the token).
std::pair<int32_t, float> parse_logit_bias(const std::string& v) {
    const size_t sign = v.find_first_of("+-");
    const std::string id = v.substr(0, sign);
    RF_CHECK(sign != std::string::npos && sign > 0 && id.find_first_not_of("0123456789") == std::string::npos && id.size() < 10,
             "--logit-bias \"{}\": expected TOKEN_ID+BIAS or TOKEN_ID-BIAS (e.g. 15043+1, 15043-inf)", v);
    const std::string bias = v.substr(sign);
    float b = 0.0f;
    if (bias == "-inf") {
        b = -std::numeric_limits<float>::infinity();
    } else {
        size_t used = 0;
        try {
            b = std::stof(bias, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        RF_CHECK(used == bias.size() && std::isfinite(b), "--logit-bias \"{}\": the bias \"{}\" is not a finite number (or -inf)", v, bias);
    }
    return {static_cast<int32_t>(std::stol(id)), b};
}

// A JSON schema's text (llama.cpp's --json-schema), compiled; `what` names the option (and file).
std::shared_ptr<const JsonSchema> parse_json_schema(const std::string& text, const std::string& what) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw Error(fmt::format("{}: the schema is not JSON ({})", what, e.what()));
    }
    try {
        return std::make_shared<const JsonSchema>(JsonSchema::compile(j));
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", what, e.what()));
    }
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
    cmd->add_option_function<std::vector<std::string>>(
        "-l,--logit-bias",
        [&s](const std::vector<std::string>& vs) {
            for (const std::string& v : vs) s.logit_bias.push_back(parse_logit_bias(v));
        },
        "add BIAS to a token's logit, TOKEN_ID+BIAS or TOKEN_ID-BIAS (repeatable; -inf bans the token)");
    auto* schema = cmd->add_option_function<std::string>(
        "-j,--json-schema", [&s](const std::string& v) { s.json_schema = parse_json_schema(v, "--json-schema"); },
        "structured output: the text is a JSON document of this JSON schema ('{}': any JSON value), then generation "
        "ends (type, properties, required, additionalProperties, items, min/maxItems, enum, const, anyOf, $ref)");
    cmd->add_option_function<std::string>(
           "--json-schema-file",
           [&s](const std::string& path) { s.json_schema = parse_json_schema(read_text_file(path), "--json-schema-file " + path); },
           "as --json-schema, the schema read from a file")
        ->excludes(schema);
    cmd->add_flag("--ignore-eos", g.ignore_eos, "keep generating past end-of-generation tokens");
    cmd->add_option("-b,--batch-size", g.n_batch, "prompt tokens per forward step (chunked prefill)")
        ->check(kPositive);
}

}  // namespace rf::cli
