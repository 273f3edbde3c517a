// Token sampling from a row of logits: logit biases, repetition / presence / frequency penalties, then
// top-k, top-p, min-p, temperature and a seeded draw (llama.cpp's default chain order);
// temperature <= 0 is greedy. Also reports the top-n log-probabilities of the model's own
// distribution (log-softmax of the raw logits, before penalties and temperature, as the
// OpenAI API and vLLM report them). With a JSON schema (structured output) only tokens that keep
// the text a prefix of a document of the schema are drawn: the chain runs once as it is, and when its
// token does not fit, again over the logits with every token that does not fit masked (llama.cpp's
// order; greedy takes the most likely token that fits).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace rf {

class JsonSchema;
class JsonTokenConstraint;
class Tokenizer;

// The seed value that asks for a random seed (the CLI's --seed -1, as llama.cpp's).
inline constexpr uint64_t kRandomSeed = 0xFFFFFFFFFFFFFFFFull;

struct SamplingParams {
    float temperature = 0.8f;
    int top_k = 40;             // <= 0: off
    float top_p = 0.95f;        // >= 1: off
    float min_p = 0.05f;        // <= 0: off
    float repeat_penalty = 1.0f;    // 1: off (divides positive logits / multiplies negative ones)
    int repeat_last_n = 64;         // window of history the penalties look at (-1: all)
    float presence_penalty = 0.0f;  // subtracted once per token present in the window
    float frequency_penalty = 0.0f; // subtracted per occurrence in the window
    uint64_t seed = kRandomSeed;  // kRandomSeed: seed from std::random_device
    int n_logprobs = 0;         // top-n log-probabilities to report per token
    // (token id, bias) added to the token's logit before the penalties (OpenAI's logit_bias, llama.cpp's
    // --logit-bias; -inf bans the token); ids must be in the vocabulary
    std::vector<std::pair<int32_t, float>> logit_bias;
    // structured output: the generated text is a JSON document of this schema, then generation ends
    // (null: free text)
    std::shared_ptr<const JsonSchema> json_schema;
};

// Throws rf::Error naming the first field out of range (NaN and infinities included); the
// Sampler's constructor calls it.
void check_sampling_params(const SamplingParams& params);

struct TokenLogprob {
    int32_t token;
    float logprob;
};

struct SampleResult {
    int32_t token = -1;
    float logprob = 0.0f;                 // of the chosen token, model distribution
    std::vector<TokenLogprob> top;        // n_logprobs most likely tokens, most likely first
};

class Sampler {
public:
    // tokenizer: the model's (the JSON constraint reads the tokens' texts; needed with a json_schema).
    explicit Sampler(const SamplingParams& params, const Tokenizer* tokenizer = nullptr);
    ~Sampler();
    Sampler(Sampler&&) noexcept;
    Sampler& operator=(Sampler&&) noexcept;

    const SamplingParams& params() const { return params_; }

    // logits: [n_vocab] raw model output (not modified). history: previous tokens of the
    // sequence (prompt and generated), for the penalties.
    SampleResult sample(std::span<const float> logits, std::span<const int32_t> history);

    // A uniform draw in [0, 1) from this sampler's generator (device sampling uses it so that
    // the same seed gives the same tokens there).
    double draw_uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
    // Token counts of the penalty window of `history` (empty when no penalty is set).
    std::vector<std::pair<int32_t, int32_t>> penalty_counts(std::span<const int32_t> history) const;

private:
    int32_t choose();  // the chain over work_

    SamplingParams params_;
    std::unique_ptr<JsonTokenConstraint> constraint_;
    std::mt19937_64 rng_;
    std::vector<float> work_;           // penalised logits
    std::vector<int32_t> candidates_;   // candidate ids
};

// Index of the largest value (lowest index on ties).
int32_t argmax(std::span<const float> values);

}  // namespace rf
