// Rotary embedding frequencies, shared by the CPU and GPU backends so that both rotate by the
// same angles: theta of pair i at position p = p * factor[i] (base^(-2i / n_rot) with the
// frequency scale and YaRN's ramp folded in), magnitude mscale (llama.cpp's rope incl. YaRN).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"

namespace rf {

struct RopeFreqs {
    std::vector<double> factor;  // [n_rot / 2]
    double mscale = 1.0;
};

RopeFreqs rope_freqs(const RopeParams& p);

// Every field equal (the same angles at every position).
bool same_rope(const RopeParams& a, const RopeParams& b);

// cos and sin of every pair at `position` (theta in double, rounded to float at the end).
void rope_cos_sin(const RopeFreqs& f, int32_t position, float* cos_out, float* sin_out);

}  // namespace rf
