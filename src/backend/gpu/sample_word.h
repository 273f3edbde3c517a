// The sampling chain's result (SampleOut) and its greedy form as one 64-bit word, which the chain's
// final kernel writes to pinned host memory for a host that polls it (SampleRing, sampling.cuh): an
// aligned 64-bit store is seen whole, so the kernel needs no system fence. Host-safe (the encoding is
// shared by the kernel and the host, RF_HOST_DEVICE).
#pragma once

#include <cstdint>

#include "core/half.h"

namespace rf::gpu {

struct SampleOut {
    float logprob;
    int32_t token;
    int32_t fallback;   // 1: sample the row on the host
    int32_t no_value;   // 1: no logit compared (all NaN); token is then 0, a valid id for a step it feeds
};

// Low half the logprob's bits, high half the token or kSampleWordNoValue; kSampleWordEmpty until written
// (the host's reset: no word encode() gives, as its high half is a token >= 0 or kSampleWordNoValue).
constexpr uint64_t kSampleWordEmpty = ~uint64_t{0};
constexpr int32_t kSampleWordNoValue = -2;

// (a greedy result: fallback is 0)
RF_HOST_DEVICE inline uint64_t sample_word_encode(const SampleOut& r) {
    const int32_t code = r.no_value ? kSampleWordNoValue : r.token;
    return static_cast<uint64_t>(f32_bits(r.logprob)) | (static_cast<uint64_t>(static_cast<uint32_t>(code)) << 32);
}

inline SampleOut sample_word_decode(uint64_t w) {
    SampleOut out{};
    out.logprob = f32_from_bits(static_cast<uint32_t>(w));
    const auto code = static_cast<int32_t>(static_cast<uint32_t>(w >> 32));
    out.no_value = code == kSampleWordNoValue ? 1 : 0;
    out.token = out.no_value ? 0 : code;
    return out;
}

}  // namespace rf::gpu
