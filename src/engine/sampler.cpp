#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "core/error.h"
#include "engine/json_constraint.h"

namespace rf {

int32_t argmax(std::span<const float> values) {
    RF_CHECK(!values.empty(), "argmax of an empty row");
    return static_cast<int32_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

void check_sampling_params(const SamplingParams& p) {
    // The header's "off" ranges stay valid (top_k <= 0, top_p >= 1, min_p <= 0); NaN fails every
    // comparison below, so each check also refuses it.
    RF_CHECK(p.temperature >= 0.0f && std::isfinite(p.temperature), "sampling: temperature must be finite and >= 0 (got {})",
             p.temperature);
    RF_CHECK(p.top_p > 0.0f, "sampling: top_p must be > 0 (got {})", p.top_p);
    RF_CHECK(p.min_p < 1.0f, "sampling: min_p must be < 1 (got {})", p.min_p);
    RF_CHECK(p.repeat_penalty > 0.0f && std::isfinite(p.repeat_penalty),
             "sampling: repeat_penalty must be finite and > 0 (1: off; got {})", p.repeat_penalty);
    RF_CHECK(p.repeat_last_n >= -1, "sampling: repeat_last_n must be >= -1 (-1: all; got {})", p.repeat_last_n);
    RF_CHECK(std::isfinite(p.presence_penalty), "sampling: presence_penalty must be finite (got {})", p.presence_penalty);
    RF_CHECK(std::isfinite(p.frequency_penalty), "sampling: frequency_penalty must be finite (got {})", p.frequency_penalty);
    for (const auto& [tok, bias] : p.logit_bias)
        RF_CHECK(tok >= 0 && !std::isnan(bias) && bias != std::numeric_limits<float>::infinity(),
                 "sampling: logit_bias {}: {} (a token id >= 0 and a finite bias, or -inf to ban it)", tok, bias);
    RF_CHECK(p.n_logprobs >= 0 && p.n_logprobs <= 100, "sampling: n_logprobs {} out of range [0, 100]", p.n_logprobs);
}

Sampler::Sampler(const SamplingParams& params, const Tokenizer* tokenizer) : params_(params) {
    check_sampling_params(params);
    const uint64_t seed = params.seed == kRandomSeed ? std::random_device{}() : params.seed;
    rng_.seed(seed);
    if (params.json_schema) {
        RF_CHECK(tokenizer != nullptr, "sampling: a JSON schema needs the model's tokenizer");
        constraint_ = std::make_unique<JsonTokenConstraint>(params.json_schema, *tokenizer);
    }
}

Sampler::~Sampler() = default;
Sampler::Sampler(Sampler&&) noexcept = default;
Sampler& Sampler::operator=(Sampler&&) noexcept = default;

namespace {

// log-softmax of one value given the row's max and log-sum-exp.
struct LogSoftmax {
    float max;
    double log_sum;
    float operator()(float x) const { return static_cast<float>(x - max - log_sum); }
};

LogSoftmax log_softmax_of(std::span<const float> logits) {
    const float mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0.0;
    for (float x : logits) sum += std::exp(static_cast<double>(x - mx));
    return {mx, std::log(sum)};
}

}  // namespace

std::vector<std::pair<int32_t, int32_t>> Sampler::penalty_counts(std::span<const int32_t> history) const {
    const bool penalise = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                          params_.frequency_penalty != 0.0f;
    std::vector<std::pair<int32_t, int32_t>> out;
    if (!penalise || history.empty() || params_.repeat_last_n == 0) return out;
    const size_t window = params_.repeat_last_n < 0 ? history.size()
                                                    : std::min(history.size(), static_cast<size_t>(params_.repeat_last_n));
    std::unordered_map<int32_t, int32_t> counts;
    for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
    out.assign(counts.begin(), counts.end());
    std::sort(out.begin(), out.end());
    return out;
}

SampleResult Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
    const int32_t n_vocab = static_cast<int32_t>(logits.size());
    RF_CHECK(n_vocab > 0, "sampling: empty logits row");
    work_.assign(logits.begin(), logits.end());
    for (const auto& [tok, bias] : params_.logit_bias) {
        RF_CHECK(tok >= 0 && tok < n_vocab, "sampling: logit_bias token {} out of range [0, {})", tok, n_vocab);
        work_[static_cast<size_t>(tok)] += bias;
    }

    // Penalties over the last repeat_last_n tokens of the history.
    for (const auto& [tok, count] : penalty_counts(history)) {
        if (tok < 0 || tok >= n_vocab) continue;
        float& l = work_[static_cast<size_t>(tok)];
        l = l > 0.0f ? l / params_.repeat_penalty : l * params_.repeat_penalty;
        l -= static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    }

    int32_t chosen = choose();
    if (constraint_) {
        if (!constraint_->allows(chosen)) {
            constraint_->mask(work_);
            chosen = choose();
        }
        constraint_->accept(chosen);
    }

    SampleResult result;
    result.token = chosen;
    const LogSoftmax ls = log_softmax_of(logits);
    result.logprob = ls(logits[static_cast<size_t>(chosen)]);
    if (params_.n_logprobs > 0) {
        std::vector<int32_t> ids(static_cast<size_t>(n_vocab));
        std::iota(ids.begin(), ids.end(), 0);
        const size_t k = std::min(static_cast<size_t>(params_.n_logprobs), ids.size());
        std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(), [&](int32_t a, int32_t b) {
            return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
                   (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
        });
        for (size_t i = 0; i < k; ++i) result.top.push_back({ids[i], ls(logits[static_cast<size_t>(ids[i])])});
    }
    return result;
}

int32_t Sampler::choose() {
    const int32_t n_vocab = static_cast<int32_t>(work_.size());
    if (params_.temperature <= 0.0f) {
        return argmax(work_);
    } else {
        // Candidates sorted by logit, truncated by top-k, top-p, min-p.
        candidates_.resize(static_cast<size_t>(n_vocab));
        std::iota(candidates_.begin(), candidates_.end(), 0);
        auto by_logit = [&](int32_t a, int32_t b) {
            const float la = work_[static_cast<size_t>(a)], lb = work_[static_cast<size_t>(b)];
            return la > lb || (la == lb && a < b);
        };
        size_t n = candidates_.size();
        if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
            n = static_cast<size_t>(params_.top_k);
            std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<ptrdiff_t>(n), candidates_.end(),
                              by_logit);
        } else {
            std::sort(candidates_.begin(), candidates_.end(), by_logit);
        }
        // banned and masked tokens (-inf) are never drawn
        while (n > 1 && work_[static_cast<size_t>(candidates_[n - 1])] == -std::numeric_limits<float>::infinity()) --n;
        const float top = work_[static_cast<size_t>(candidates_[0])];
        std::vector<double> probs(n);
        double sum = 0.0;
        for (size_t i = 0; i < n; ++i) {
            probs[i] = std::exp(static_cast<double>(work_[static_cast<size_t>(candidates_[i])] - top));
            sum += probs[i];
        }
        if (params_.top_p < 1.0f) {
            double cum = 0.0;
            size_t keep = n;
            for (size_t i = 0; i < n; ++i) {
                cum += probs[i] / sum;
                if (cum >= params_.top_p) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }
        if (params_.min_p > 0.0f) {
            // probs[0] is the largest; keep p >= min_p * p_max.
            size_t keep = 1;
            while (keep < n && probs[keep] >= params_.min_p * probs[0]) ++keep;
            n = keep;
        }
        // Temperature, then draw.
        double total = 0.0;
        std::vector<double> weights(n);
        for (size_t i = 0; i < n; ++i) {
            weights[i] = std::exp((static_cast<double>(work_[static_cast<size_t>(candidates_[i])]) - top) /
                                  params_.temperature);
            total += weights[i];
        }
        std::uniform_real_distribution<double> uniform(0.0, total);
        double r = uniform(rng_);
        size_t pick = n - 1;
        for (size_t i = 0; i < n; ++i) {
            if (r < weights[i]) {
                pick = i;
                break;
            }
            r -= weights[i];
        }
        return candidates_[pick];
    }

}

}  // namespace rf
