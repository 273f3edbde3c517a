#include "engine/device_sampling.h"

#include <vector>

#include "backend/gpu/gpu_backend.h"
#include "core/error.h"

namespace rf {

bool is_plain_greedy(const SamplingParams& p) {
    return p.temperature <= 0.0f && p.repeat_penalty == 1.0f && p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f &&
           p.logit_bias.empty();
}

bool needs_host_sampling(const SamplingParams& p) { return p.n_logprobs > 0 || !p.logit_bias.empty() || p.json_schema != nullptr; }

SampleResult sample_device_row(GpuBackend& gpu, Sampler& sampler, const float* row, int64_t n,
                               std::span<const int32_t> history) {
    const SamplingParams& p = sampler.params();
    RF_CHECK(!needs_host_sampling(p), "device sampling: logit biases, top-n logprobs and JSON schemas are sampled on the host");
    SampleResult r;
    if (is_plain_greedy(p)) {
        r.token = gpu.argmax(row, n);
        return r;
    }
    GpuSamplingParams gp;
    gp.temperature = p.temperature;
    gp.top_k = p.top_k;
    gp.top_p = p.top_p;
    gp.min_p = p.min_p;
    gp.repeat_penalty = p.repeat_penalty;
    gp.presence_penalty = p.presence_penalty;
    gp.frequency_penalty = p.frequency_penalty;
    std::vector<GpuTokenCount> counts;
    for (const auto& [tok, c] : sampler.penalty_counts(history)) counts.push_back({tok, c});
    const double u = p.temperature > 0.0f ? sampler.draw_uniform() : 0.0;
    const GpuSampleResult g = gpu.sample(row, n, gp, counts, u);
    r.token = g.token;
    r.logprob = g.logprob;
    return r;
}

}  // namespace rf
