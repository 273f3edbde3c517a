// Small scalar helpers shared by the quantizers of src/formats/quant (internal header).
// Not for *_avx2 / *_avx512 files: an out-of-line copy of an inline function compiled there could
// be the one the linker keeps for every caller.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/half.h"
#include "formats/quant_blocks.h"

namespace rf::quant {

// Groups whose largest |x| is below this are stored as all-zero.
constexpr float kGroupMaxEps = 1e-15f;

// Round to nearest (ties to even) by adding 1.5 * 2^23 and reading the mantissa: exact for
// |v| < 2^22, which every caller guarantees for finite input. Unlike a float -> int cast it is
// defined for every input: NaN gives 0 (for the default quiet NaN) and never traps.
inline int nearest_int(float v) {
    const float biased = v + 12582912.f;
    int32_t bits;
    std::memcpy(&bits, &biased, sizeof bits);
    return (bits & 0x007fffff) - 0x00400000;
}

// Float -> int conversions as the x86 reference computes them: a C cast (truncation toward zero)
// or roundf (ties away from zero) followed by a cast. A value that does not fit (NaN, +-inf,
// |v| >= 2^31) gives INT_MIN, the "integer indefinite" result of cvttss2si, where C would have
// undefined behaviour. Narrowing the result to int8/uint8 keeps the low byte, as on x86.
inline int trunc_to_int(float v) {
    if (!(v > -2147483904.f && v < 2147483648.f)) return INT32_MIN;
    return static_cast<int>(v);
}

inline int round_away_to_int(float v) {
    if (!(v > -2147483904.f && v < 2147483648.f)) return INT32_MIN;
    const int t = static_cast<int>(v);             // truncation
    const float frac = v - static_cast<float>(t);  // exact
    return frac >= 0.5f ? t + 1 : (frac <= -0.5f ? t - 1 : t);
}

inline int clamp_int(int v, int lo, int hi) {
    return v < lo ? lo : (v > hi ? hi : v);
}

inline f16_bits to_f16(float f) {
    return f32_to_f16(f);
}
inline float from_f16(f16_bits h) {
    return f16_to_f32(h);
}

// Q4_K / Q5_K pack 8 pairs (scale, min) of 6-bit values into 12 bytes:
//   j < 4:  bytes[j] = sc_j | (hi2(sc_{j+4}) << 6),  bytes[j+4] = m_j | (hi2(m_{j+4}) << 6)
//   j >= 4: bytes[j+4] = lo4(sc_j) | (lo4(m_j) << 4)
inline void pack_scale_min_k4(const uint8_t sc[8], const uint8_t m[8], uint8_t out[K_SCALE_SIZE]) {
    for (int j = 0; j < 4; ++j) {
        out[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
        out[j + 4] = static_cast<uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
        out[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
    }
}

// (Also used on the GPU, where Q4_K / Q5_K are transcoded at upload: backend/gpu/gpu_weight_layout.h.)
RF_HOST_DEVICE inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Q3_K packs 16 6-bit scales (stored biased by +32) into 12 bytes:
//   low 4 bits of scale j in bytes[j % 8], nibble j / 8; high 2 bits in bytes[8 + j % 4],
//   bit pair j / 4.
inline void pack_scales_q3_k(const uint8_t sc[16], uint8_t out[12]) {
    std::memset(out, 0, 12);
    for (int j = 0; j < 16; ++j) {
        const int l = sc[j];
        if (j < 8)
            out[j] = static_cast<uint8_t>(l & 0xF);
        else
            out[j - 8] = static_cast<uint8_t>(out[j - 8] | ((l & 0xF) << 4));
        out[8 + j % 4] = static_cast<uint8_t>(out[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
    }
}

// Scale j of a Q3_K block as a signed value in [-32, 31].
inline int unpack_scale_q3_k(int j, const uint8_t* q) {
    const int lo = j < 8 ? (q[j] & 0xF) : (q[j - 8] >> 4);
    const int hi = (q[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

}  // namespace rf::quant
