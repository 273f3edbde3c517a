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

namespace {

// The device chain's parameters and draw for a sampler's row (greedy: temperature 0, no draw).
GpuRowSample device_row(Sampler& sampler, const float* row, int64_t n, std::span<const int32_t> history) {
    const SamplingParams& p = sampler.params();
    RF_CHECK(!needs_host_sampling(p), "device sampling: logit biases, top-n logprobs and JSON schemas are sampled on the host");
    GpuRowSample r;
    r.row = row;
    r.n = n;
    if (is_plain_greedy(p)) {
        r.params.temperature = 0.0f;
        return r;
    }
    r.params.temperature = p.temperature;
    r.params.top_k = p.top_k;
    r.params.top_p = p.top_p;
    r.params.min_p = p.min_p;
    r.params.repeat_penalty = p.repeat_penalty;
    r.params.presence_penalty = p.presence_penalty;
    r.params.frequency_penalty = p.frequency_penalty;
    for (const auto& [tok, c] : sampler.penalty_counts(history)) r.penalties.push_back({tok, c});
    r.u = p.temperature > 0.0f ? sampler.draw_uniform() : 0.0;
    return r;
}

}  // namespace

SampleResult sample_device_row(GpuBackend& gpu, Sampler& sampler, const float* row, int64_t n,
                               std::span<const int32_t> history) {
    const GpuRowSample d = device_row(sampler, row, n, history);
    SampleResult r;
    if (is_plain_greedy(sampler.params())) {
        r.token = gpu.argmax(row, n);
        return r;
    }
    const GpuSampleResult g = gpu.sample(row, n, d.params, d.penalties, d.u);
    r.token = g.token;
    r.logprob = g.logprob;
    return r;
}

std::vector<SampleResult> sample_device_rows(GpuBackend& gpu, std::span<const DeviceRow> rows, int64_t n) {
    std::vector<GpuRowSample> batch;
    batch.reserve(rows.size());
    for (const DeviceRow& r : rows) batch.push_back(device_row(*r.sampler, r.row, n, r.history));
    const std::vector<GpuSampleResult> got = gpu.sample_rows(batch);
    std::vector<SampleResult> out(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
        out[i].token = got[i].token;
        // (greedy rows report no logprob, as sample_device_row's argmax)
        if (!is_plain_greedy(rows[i].sampler->params())) out[i].logprob = got[i].logprob;
    }
    return out;
}

}  // namespace rf
