// Vectorised dequantization (and the Q8_0 quantizer) for W = 8 or 16 lanes (see quant_lanes.h).
// Each kernel computes every output with exactly the float operations of the scalar reference
// in quant_legacy.cpp / quant_q*_k.cpp (same products, same order, no fused multiply-add), so
// the results are bit-identical. W divides 16 and every sub-block is 16 or 32 weights long, so a
// vector of W outputs never straddles two scales.
#pragma once

#include <cstdint>
#include <cstring>

#include "formats/quant/quant_lanes.h"
#include "formats/quant_blocks.h"
#include "formats/tensor_type.h"

namespace rf::quant {
namespace {

template <int W>
struct Deq {
    using F = typename Lanes<W>::F;
    using I = typename Lanes<W>::I;

    static I lane_index() {
        I v;
        for (int k = 0; k < W; ++k) v[k] = k;
        return v;
    }

    static void q4_0(const block_q4_0* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i, y += 32) {
            const float d = f16_to_f32_f16c(b[i].d);
            for (int e = 0; e < 32; e += W) {
                const I raw = load_u8<W>(b[i].qs + (e & 15));
                const I q = e < 16 ? (raw & 0xF) : (raw >> 4);
                store_vec(y + e, to_float<W>(q - 8) * d);
            }
        }
    }

    static void q4_1(const block_q4_1* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i, y += 32) {
            const float d = f16_to_f32_f16c(b[i].d);
            const float m = f16_to_f32_f16c(b[i].m);
            for (int e = 0; e < 32; e += W) {
                const I raw = load_u8<W>(b[i].qs + (e & 15));
                const I q = e < 16 ? (raw & 0xF) : (raw >> 4);
                store_vec(y + e, to_float<W>(q) * d + m);
            }
        }
    }

    // Q5 quants: nibble | (bit e + k of qh) << 4.
    template <typename Block>
    static I q5_quant(const Block& b, int e) {
        uint32_t qh;
        std::memcpy(&qh, b.qh, sizeof qh);
        const I raw = load_u8<W>(b.qs + (e & 15));
        const I nib = e < 16 ? (raw & 0xF) : (raw >> 4);
        const I bits = (I{} + static_cast<int32_t>(qh >> e)) >> lane_index();
        return nib | ((bits & 1) << 4);
    }

    static void q5_0(const block_q5_0* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i, y += 32) {
            const float d = f16_to_f32_f16c(b[i].d);
            for (int e = 0; e < 32; e += W)
                store_vec(y + e, to_float<W>(q5_quant(b[i], e) - 16) * d);
        }
    }

    static void q5_1(const block_q5_1* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i, y += 32) {
            const float d = f16_to_f32_f16c(b[i].d);
            const float m = f16_to_f32_f16c(b[i].m);
            for (int e = 0; e < 32; e += W)
                store_vec(y + e, to_float<W>(q5_quant(b[i], e)) * d + m);
        }
    }

    template <typename Block>
    static void q8(const Block* b, float* y, int64_t nb) {  // Q8_0, Q8_1
        for (int64_t i = 0; i < nb; ++i, y += 32) {
            const float d = f16_to_f32_f16c(b[i].d);
            for (int e = 0; e < 32; e += W)
                store_vec(y + e, to_float<W>(load_i8<W>(b[i].qs + e)) * d);
        }
    }

    static void q2_k(const block_q2_K* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i) {
            const float d = f16_to_f32_f16c(b[i].d);
            const float min = f16_to_f32_f16c(b[i].dmin);
            for (int c = 0; c < 2; ++c)
                for (int p = 0; p < 4; ++p)
                    for (int h = 0; h < 2; ++h) {
                        const uint8_t sc = b[i].scales[8 * c + 2 * p + h];
                        const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                        const uint8_t* q = b[i].qs + 32 * c + 16 * h;
                        for (int l = 0; l < 16; l += W, y += W) {
                            const I v = (load_u8<W>(q + l) >> (2 * p)) & 3;
                            store_vec(y, dl * to_float<W>(v) - ml);
                        }
                    }
        }
    }

    static void q3_k(const block_q3_K* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i) {
            const float d_all = f16_to_f32_f16c(b[i].d);
            for (int c = 0; c < 2; ++c)
                for (int p = 0; p < 4; ++p) {
                    const int mask = 1 << (4 * c + p);
                    for (int h = 0; h < 2; ++h) {
                        const int j = 8 * c + 2 * p + h;
                        const int lo = j < 8 ? (b[i].scales[j] & 0xF) : (b[i].scales[j - 8] >> 4);
                        const int hi = (b[i].scales[8 + j % 4] >> (2 * (j / 4))) & 3;
                        const float dl = d_all * static_cast<float>((lo | (hi << 4)) - 32);
                        const uint8_t* q = b[i].qs + 32 * c + 16 * h;
                        const uint8_t* hm = b[i].hmask + 16 * h;
                        for (int l = 0; l < 16; l += W, y += W) {
                            const I low = (load_u8<W>(q + l) >> (2 * p)) & 3;
                            const I sub = (load_u8<W>(hm + l) & mask) == 0 ? 4 : 0;
                            store_vec(y, dl * to_float<W>(low - sub));
                        }
                    }
                }
        }
    }

    static void scale_min_k4(const uint8_t* s, int j, float d, float dmin, float* dl, float* ml) {
        int sc, m;
        if (j < 4) {
            sc = s[j] & 63;
            m = s[j + 4] & 63;
        } else {
            sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
            m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        }
        *dl = d * static_cast<float>(sc);
        *ml = dmin * static_cast<float>(m);
    }

    static void q4_k(const block_q4_K* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i) {
            const float d = f16_to_f32_f16c(b[i].d);
            const float dmin = f16_to_f32_f16c(b[i].dmin);
            for (int c = 0; c < 4; ++c) {
                const uint8_t* q = b[i].qs + 32 * c;
                float d1, m1, d2, m2;
                scale_min_k4(b[i].scales, 2 * c, d, dmin, &d1, &m1);
                scale_min_k4(b[i].scales, 2 * c + 1, d, dmin, &d2, &m2);
                for (int l = 0; l < 32; l += W)
                    store_vec(y + l, d1 * to_float<W>(load_u8<W>(q + l) & 0xF) - m1);
                for (int l = 0; l < 32; l += W)
                    store_vec(y + 32 + l, d2 * to_float<W>(load_u8<W>(q + l) >> 4) - m2);
                y += 64;
            }
        }
    }

    static void q5_k(const block_q5_K* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i) {
            const float d = f16_to_f32_f16c(b[i].d);
            const float dmin = f16_to_f32_f16c(b[i].dmin);
            for (int c = 0; c < 4; ++c) {
                const uint8_t* ql = b[i].qs + 32 * c;
                float d1, m1, d2, m2;
                scale_min_k4(b[i].scales, 2 * c, d, dmin, &d1, &m1);
                scale_min_k4(b[i].scales, 2 * c + 1, d, dmin, &d2, &m2);
                const int u1 = 1 << (2 * c), u2 = 2 << (2 * c);
                for (int l = 0; l < 32; l += W) {
                    const I h = load_u8<W>(b[i].qh + l);
                    const I q = (load_u8<W>(ql + l) & 0xF) + ((h & u1) != 0 ? 16 : 0);
                    store_vec(y + l, d1 * to_float<W>(q) - m1);
                }
                for (int l = 0; l < 32; l += W) {
                    const I h = load_u8<W>(b[i].qh + l);
                    const I q = (load_u8<W>(ql + l) >> 4) + ((h & u2) != 0 ? 16 : 0);
                    store_vec(y + 32 + l, d2 * to_float<W>(q) - m2);
                }
                y += 64;
            }
        }
    }

    static void q6_k(const block_q6_K* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i) {
            const float d = f16_to_f32_f16c(b[i].d);
            for (int c = 0; c < 2; ++c, y += 128) {
                const uint8_t* ql = b[i].ql + 64 * c;
                const uint8_t* qh = b[i].qh + 32 * c;
                const int8_t* sc = b[i].scales + 8 * c;
                for (int l = 0; l < 32; l += W) {
                    const float ds[4] = {d * sc[l / 16], d * sc[l / 16 + 2], d * sc[l / 16 + 4],
                                         d * sc[l / 16 + 6]};
                    const I lo = load_u8<W>(ql + l);
                    const I hi = load_u8<W>(ql + 32 + l);
                    const I h = load_u8<W>(qh + l);
                    const I q1 = ((lo & 0xF) | ((h & 3) << 4)) - 32;
                    const I q2 = ((hi & 0xF) | (((h >> 2) & 3) << 4)) - 32;
                    const I q3 = ((lo >> 4) | (((h >> 4) & 3) << 4)) - 32;
                    const I q4 = ((hi >> 4) | (((h >> 6) & 3) << 4)) - 32;
                    store_vec(y + l, ds[0] * to_float<W>(q1));
                    store_vec(y + 32 + l, ds[1] * to_float<W>(q2));
                    store_vec(y + 64 + l, ds[2] * to_float<W>(q3));
                    store_vec(y + 96 + l, ds[3] * to_float<W>(q4));
                }
            }
        }
    }

    static void q8_k(const block_q8_K* b, float* y, int64_t nb) {
        for (int64_t i = 0; i < nb; ++i, y += QK_K)
            for (int e = 0; e < QK_K; e += W)
                store_vec(y + e, b[i].d * to_float<W>(load_i8<W>(b[i].qs + e)));
    }

    static void f16(const uint16_t* h, float* y, int64_t n) {
        int64_t i = 0;
        for (; i + W <= n; i += W) store_vec(y + i, Lanes<W>::from_f16(h + i));
        for (; i < n; ++i) y[i] = f16_to_f32_f16c(h[i]);
    }

    static void bf16(const uint16_t* h, float* y, int64_t n) {
        int64_t i = 0;
        for (; i + W <= n; i += W) {
            store_vec(y + i, Lanes<W>::widen_u16(h + i) << 16);
        }
        for (; i < n; ++i) {
            const uint32_t bits = static_cast<uint32_t>(h[i]) << 16;
            std::memcpy(y + i, &bits, sizeof bits);
        }
    }
};

template <int W>
bool dequantize_row_lanes(TensorType type, const void* src, float* y, int64_t n) {
    using D = Deq<W>;
    switch (type) {
        case TensorType::F16:
            D::f16(static_cast<const uint16_t*>(src), y, n);
            return true;
        case TensorType::BF16:
            D::bf16(static_cast<const uint16_t*>(src), y, n);
            return true;
        case TensorType::Q4_0:
            D::q4_0(static_cast<const block_q4_0*>(src), y, n / 32);
            return true;
        case TensorType::Q4_1:
            D::q4_1(static_cast<const block_q4_1*>(src), y, n / 32);
            return true;
        case TensorType::Q5_0:
            D::q5_0(static_cast<const block_q5_0*>(src), y, n / 32);
            return true;
        case TensorType::Q5_1:
            D::q5_1(static_cast<const block_q5_1*>(src), y, n / 32);
            return true;
        case TensorType::Q8_0:
            D::q8(static_cast<const block_q8_0*>(src), y, n / 32);
            return true;
        case TensorType::Q8_1:
            D::q8(static_cast<const block_q8_1*>(src), y, n / 32);
            return true;
        case TensorType::Q2_K:
            D::q2_k(static_cast<const block_q2_K*>(src), y, n / QK_K);
            return true;
        case TensorType::Q3_K:
            D::q3_k(static_cast<const block_q3_K*>(src), y, n / QK_K);
            return true;
        case TensorType::Q4_K:
            D::q4_k(static_cast<const block_q4_K*>(src), y, n / QK_K);
            return true;
        case TensorType::Q5_K:
            D::q5_k(static_cast<const block_q5_K*>(src), y, n / QK_K);
            return true;
        case TensorType::Q6_K:
            D::q6_k(static_cast<const block_q6_K*>(src), y, n / QK_K);
            return true;
        case TensorType::Q8_K:
            D::q8_k(static_cast<const block_q8_K*>(src), y, n / QK_K);
            return true;
        default:
            return false;
    }
}

// Q8_0 quantizer: d = amax / 127, q = round(x * (1/d)) with ties away from zero, as
// quantize_q8_0 in quant_legacy.cpp. amax is a max over |x| (order-free) unless the block holds
// a NaN, where the scalar loop's order decides and is replayed.
template <int W>
void quantize_row_q8_0_lanes(const float* x, void* dst, int64_t n) {
    using F = typename Lanes<W>::F;
    using I = typename Lanes<W>::I;
    constexpr int kVecs = 32 / W;
    auto* y = static_cast<block_q8_0*>(dst);
    for (int64_t i = 0; i < n / 32; ++i, x += 32) {
        F v[kVecs];
        F amax_v = F{} + 0.f;
        I nan = I{};
        for (int k = 0; k < kVecs; ++k) {
            v[k] = load_vec<F>(x + k * W);
            const F a = abs_lanes<W>(v[k]);
            amax_v = a > amax_v ? a : amax_v;
            nan |= v[k] != v[k];
        }
        float amax = 0.0f;
        if (Lanes<W>::any(nan)) {
            for (int j = 0; j < 32; ++j) {
                const float a = __builtin_fabsf(x[j]);
                amax = amax > a ? amax : a;
            }
        } else {
            for (int k = 0; k < W; ++k) amax = amax > amax_v[k] ? amax : amax_v[k];
        }
        const float d = amax / 127;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_f16_f16c(d);
        for (int k = 0; k < kVecs; ++k) {
            const F s = v[k] * id;
            const I t = Lanes<W>::trunc(s);  // INT_MIN for NaN, as the scalar path
            const F frac = s - to_float<W>(t);
            // Comparisons give -1 / 0 per lane; NaN lanes (t = INT_MIN) get no adjustment.
            const I r = t - (frac >= 0.5f) + (frac <= -0.5f);
            Lanes<W>::store_low_bytes(y[i].qs + k * W, r);
        }
    }
}

// f32 -> f16 with F16C (round to nearest even, overflow to inf), NaN lanes replaced by the
// canonical quiet NaN sign | 0x7e00 as core/half.h produces (F16C would keep payload bits).
template <int W>
void quantize_row_f16_lanes(const float* x, void* dst, int64_t n) {
    using F = typename Lanes<W>::F;
    using U16 = typename Lanes<W>::U16;
    using S16 = typename Lanes<W>::S16;
    auto* y = static_cast<uint16_t*>(dst);
    int64_t i = 0;
    for (; i + W <= n; i += W) {
        const F v = load_vec<F>(x + i);
        const U16 h = Lanes<W>::to_f16(v);
        const U16 nan_bits = (h & 0x8000) | 0x7e00;
        const S16 is_nan = __builtin_convertvector(v != v, S16);
        store_vec(y + i, is_nan ? nan_bits : h);
    }
    for (; i < n; ++i) {
        const float v = x[i];
        const uint16_t h = f32_to_f16_f16c(v);
        y[i] = v != v ? static_cast<uint16_t>((h & 0x8000) | 0x7e00) : h;
    }
}

}  // namespace
}  // namespace rf::quant
