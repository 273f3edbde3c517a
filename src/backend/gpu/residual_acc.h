// The fixed-point accumulator of a deferred residual update: its constants (host and device; the
// device helpers are in residual_acc.cuh, which says what they mean).
#pragma once

namespace rf::gpu {

constexpr int kResAccFracBits = 28;       // resolution 2^-28 (3.7e-9)
constexpr int kResAccPartialBits = 23;    // partials below 8.4e6 in magnitude
constexpr int kResAccPoisonBits = 55;     // a non-finite or too large partial adds 2^55
constexpr int kResAccMaxParts = 255;      // partials per row (the emitter checks it)

}  // namespace rf::gpu
