// Rotary position embedding in place (llama.cpp conventions incl. YaRN, NeoX and normal
// pairing, partial rotation), matching src/backend/cpu/cpu_rope.cpp: angles in double.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"

namespace rf::gpu {

// Host-computed constants of one RopeParams (see make_rope_consts).
struct RopeConsts {
    double freq_base;
    double freq_scale;
    double ext_factor;
    double corr_low;
    double corr_high;
    double mscale;   // attn_factor (times the YaRN magnitude correction when ext_factor != 0)
    int32_t n_rot;
    int32_t neox;
};

// x [rows, n_heads * head_dim] rotated in place; positions [rows] in device memory.
void launch_rope(Launcher& l, float* x, int64_t rows, int n_heads, int head_dim, const int32_t* positions,
                 const RopeConsts& c);

}  // namespace rf::gpu
