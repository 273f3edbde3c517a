// Rotary position embedding in place (llama.cpp conventions incl. YaRN, NeoX and normal
// pairing, partial rotation), matching src/backend/cpu/cpu_rope.cpp: angles in double.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"

namespace rf::gpu {

// Host-computed constants of one RopeParams (see make_rope_consts).
constexpr int kRopeMaxPairs = 128;  // n_rot <= 256
struct RopeConsts {
    // theta of pair i at position p = p * factor[i]: base^(-2i / n_rot) with the frequency scale
    // and YaRN's ramp folded in, computed on the host exactly as the CPU backend does
    // (cpu_rope.cpp), so that a kernel's angle is one multiply and a sincos, not a pow
    double factor[kRopeMaxPairs];
    double mscale;   // attn_factor (times the YaRN magnitude correction when ext_factor != 0)
    int32_t n_rot;
    int32_t neox;
};

// x [rows, n_heads * head_dim] rotated in place; positions [rows] in device memory.
void launch_rope(Launcher& l, float* x, int64_t rows, int n_heads, int head_dim, const int32_t* positions,
                 const RopeConsts& c);

// Fused rope(q) + rope(k) + kv_store(k, v): q [rows, n_head * hd] and k [rows, n_kv * hd]
// rotated in place, then k and v written to their KV slots (kv_* describe the layer).
struct RopeKvArgs {
    float* q;
    float* k;
    const float* v;
    const int32_t* positions;
    const int32_t* slots;
    void* kc;
    void* vc;
    int32_t n_head;
    int32_t n_kv;
    int32_t head_dim;
    int32_t block_size;
    int32_t codec;  // KvCodec
    int32_t pad;
};
void launch_rope_kv_store(Launcher& l, const RopeKvArgs& a, int64_t rows, const RopeConsts& c);

}  // namespace rf::gpu
