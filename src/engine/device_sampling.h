// Picking a token from a logits row that lives in GPU memory, with a Sampler's chain run on the
// device (GpuBackend::sample; greedy without penalties: GpuBackend::argmax), so that only the
// token comes back instead of the whole row. The generator and the server's scheduler use it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/sampler.h"

namespace rf {

class GpuBackend;

// Temperature 0, no penalty and no logit bias: the token is the row's argmax.
bool is_plain_greedy(const SamplingParams& p);
// What the device chain does not do: top-n logprobs, logit biases and JSON schemas (such rows are read back and
// sampled on the host).
bool needs_host_sampling(const SamplingParams& p);

// The token for `row` [n] (device memory) under the sampler's parameters; history: the sequence's
// tokens so far (the penalties' window). The draw comes from the sampler's generator, as on the
// host. Top-n logprobs are not computed here (callers that want them sample on the host).
SampleResult sample_device_row(GpuBackend& gpu, Sampler& sampler, const float* row, int64_t n,
                               std::span<const int32_t> history);

// One row of a batched step for sample_device_rows.
struct DeviceRow {
    Sampler* sampler;
    const float* row;  // [n] in device memory
    std::span<const int32_t> history;
};
// sample_device_row of several rows in one host round trip (GpuBackend::sample_rows): the same
// tokens, each sampler drawing its own u in the order of `rows`.
std::vector<SampleResult> sample_device_rows(GpuBackend& gpu, std::span<const DeviceRow> rows, int64_t n);

}  // namespace rf
