// Rotary embedding frequencies, shared by the CPU and GPU backends so that both rotate by the
// same angles: theta of pair i at position p = p * factor[i] (base^(-2i / n_rot) with the
// frequency scale and YaRN's ramp folded in), magnitude mscale (llama.cpp's rope incl. YaRN).
#pragma once

#include <vector>

#include "backend/backend.h"

namespace rf {

struct RopeFreqs {
    std::vector<double> factor;  // [n_rot / 2]
    double mscale = 1.0;
};

RopeFreqs rope_freqs(const RopeParams& p);

}  // namespace rf
