// Device pieces of the rotary position embedding shared by the rope kernels (rope.cu) and the
// decode attention kernels that apply rope themselves: the angle of a rotated pair in double (the
// CPU's rope_cos_sin, from the host's per-pair factors) and the rotated values of one element or
// of an 8-element group. All of them rotate with the same explicit fused multiply-adds, so a fused
// and an unfused step give the same bits.
// Only included by .cu files.
#pragma once

#include "backend/gpu/rope.cuh"

namespace rf::gpu {

// cos / sin of rotated pair i at `position` (the CPU's rope_cos_sin: theta in double).
__device__ __forceinline__ void rope_angle(const RopeConsts& c, int position, int i, float& cs, float& sn) {
    const double theta = position * c.factor[i];
    double s, co;
    sincos(theta, &s, &co);
    cs = static_cast<float>(co * c.mscale);
    sn = static_cast<float>(s * c.mscale);
}

// The pair (x0, x1) rotated by (cs, sn): first x0 cs - x1 sn, second x0 sn + x1 cs.
__device__ __forceinline__ float rope_first(float x0, float x1, float cs, float sn) { return fmaf(x0, cs, -(x1 * sn)); }
__device__ __forceinline__ float rope_second(float x0, float x1, float cs, float sn) { return fmaf(x0, sn, x1 * cs); }

// The element whose value rotates element d with it (d itself past n_rot, where nothing rotates).
__device__ __forceinline__ int rope_partner(int d, int n_rot, bool neox) {
    if (d >= n_rot) return d;
    if (neox) return d < n_rot / 2 ? d + n_rot / 2 : d - n_rot / 2;
    return d ^ 1;
}

// Element d of a head after rotation, from its value x = v[d] and its partner's p =
// v[rope_partner(d)] (NeoX pairs (i, i + n_rot / 2), normal pairs (2i, 2i + 1); elements from
// n_rot on are not rotated; cs / sn: the angles of the pairs 0 .. n_rot / 2 - 1). A kernel loads
// every value it rotates first and rotates after, so that its loads make one memory round trip
// instead of one per element (a warp issues in order and waits at the first use of a load).
__device__ __forceinline__ float rope_rotate_loaded(float x, float p, int d, int n_rot, bool neox, const float* cs,
                                                    const float* sn) {
    if (d >= n_rot) return x;
    const int half = n_rot / 2;
    if (neox) {
        if (d < half) return rope_first(x, p, cs[d], sn[d]);
        return rope_second(p, x, cs[d - half], sn[d - half]);
    }
    const int i = d >> 1;
    return (d & 1) ? rope_second(p, x, cs[i], sn[i]) : rope_first(x, p, cs[i], sn[i]);
}

// Whether the 8-element groups [8j, 8j + 8) of a head rotate as wholes: n_rot a multiple of 16, so
// that no group straddles n_rot or (NeoX) the half. Then rope_partner_group8 / rope_rotate8 apply.
__device__ __forceinline__ bool rope_groups8(int n_rot) { return n_rot % 16 == 0; }

// The first element of the group holding the partners of group [c0, c0 + 8) (rope_groups8): NeoX
// c0 +- n_rot / 2; pairs (2i, 2i + 1) and groups past n_rot: c0 itself.
__device__ __forceinline__ int rope_partner_group8(int c0, int n_rot, bool neox) {
    if (c0 >= n_rot || !neox) return c0;
    return c0 < n_rot / 2 ? c0 + n_rot / 2 : c0 - n_rot / 2;
}

// Elements c0 .. c0 + 7 rotated in place (rope_groups8; c0 % 8 == 0): x their values, p the values
// of their partner group (rope_partner_group8). The branches are per group, not per element; the
// arithmetic is rope_rotate_loaded's, element by element (the same bits).
__device__ __forceinline__ void rope_rotate8(float (&x)[8], const float (&p)[8], int c0, int n_rot, bool neox, const float* cs,
                                             const float* sn) {
    if (c0 >= n_rot) return;
    float o[8];
    if (neox) {
        const int half = n_rot / 2;
        if (c0 < half) {
#pragma unroll
            for (int e = 0; e < 8; ++e) o[e] = rope_first(x[e], p[e], cs[c0 + e], sn[c0 + e]);
        } else {
#pragma unroll
            for (int e = 0; e < 8; ++e) o[e] = rope_second(p[e], x[e], cs[c0 - half + e], sn[c0 - half + e]);
        }
    } else {
#pragma unroll
        for (int e = 0; e < 8; e += 2) {
            const int i = (c0 + e) >> 1;
            o[e] = rope_first(x[e], x[e + 1], cs[i], sn[i]);
            o[e + 1] = rope_second(x[e], x[e + 1], cs[i], sn[i]);
        }
    }
#pragma unroll
    for (int e = 0; e < 8; ++e) x[e] = o[e];
}

}  // namespace rf::gpu
