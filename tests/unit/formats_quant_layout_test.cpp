// Block layouts: for every type, blocks written by hand from the format definition (bits packed
// here, independently of the library) must dequantize to the values the definition gives, and
// quantizing those values (exactly representable in the type) must give back the same bytes.
//
// The hand-made blocks use power-of-two scales and small integers, so every decoded value is
// exact in f32, and they contain the quants that make the quantizers' own scale choice land on
// the same scale: the extreme levels (Q4_0 picks d = max / -8, so every block holds q = 0) and,
// for the searched types, levels 0, 1 and nmax of each sub-block (otherwise e.g. quants {0, 2}
// at scale s fit exactly as quants {0, 1} at scale 2s, and the search may pick either).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "formats/quant/quantize.h"
#include "formats/quant_blocks.h"
#include "formats_quant_test_util.h"

namespace rf {
namespace {

struct HandBlock {
    std::vector<uint8_t> bytes;
    std::vector<float> values;
};

class Rng {
  public:
    explicit Rng(uint32_t seed) : gen_(seed) {}
    int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen_); }
    // n quants in [lo, hi] that contain every value of `must` (at random distinct places).
    std::vector<int> quants(int n, int lo, int hi, std::initializer_list<int> must) {
        std::vector<int> q(n);
        for (int& v : q) v = uniform(lo, hi);
        std::vector<int> places(n);
        for (int i = 0; i < n; ++i) places[i] = i;
        std::shuffle(places.begin(), places.end(), gen_);
        int k = 0;
        for (int v : must) q[places[k++]] = v;
        return q;
    }

  private:
    std::mt19937 gen_;
};

void put_u16(std::vector<uint8_t>& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v & 0xFF);
    b[at + 1] = static_cast<uint8_t>(v >> 8);
}

// Sets bit `bit` of a byte array (bit k of byte k / 8).
void set_bit(std::vector<uint8_t>& b, size_t byte0, int bit) {
    b[byte0 + bit / 8] = static_cast<uint8_t>(b[byte0 + bit / 8] | (1 << (bit % 8)));
}

// ---- 32-weight blocks: d (f16) [m (f16)] [qh u32] qs[16]; weight j < 16 in the low nibble of
// qs[j], weight j >= 16 in the high nibble of qs[j - 16]; fifth bit of weight j = bit j of qh.

HandBlock hand_q4_0(Rng& r) {
    const float d = 0.0625f;
    const auto q = r.quants(32, 0, 15, {0});  // q = 0 is the largest magnitude, -8d
    HandBlock h{std::vector<uint8_t>(18), {}};
    put_u16(h.bytes, 0, f32_to_f16(d));
    for (int j = 0; j < 32; ++j) {
        h.bytes[2 + j % 16] =
            static_cast<uint8_t>(h.bytes[2 + j % 16] | (q[j] << (j < 16 ? 0 : 4)));
        h.values.push_back(static_cast<float>(q[j] - 8) * d);
    }
    return h;
}

HandBlock hand_q4_1(Rng& r) {
    const float d = 0.125f, m = -1.0f;
    const auto q = r.quants(32, 0, 15, {0, 15});  // the range spans all 16 levels
    HandBlock h{std::vector<uint8_t>(20), {}};
    put_u16(h.bytes, 0, f32_to_f16(d));
    put_u16(h.bytes, 2, f32_to_f16(m));
    for (int j = 0; j < 32; ++j) {
        h.bytes[4 + j % 16] =
            static_cast<uint8_t>(h.bytes[4 + j % 16] | (q[j] << (j < 16 ? 0 : 4)));
        h.values.push_back(static_cast<float>(q[j]) * d + m);
    }
    return h;
}

HandBlock hand_q5_0(Rng& r) {
    const float d = 0.0625f;
    const auto q = r.quants(32, 0, 31, {0});
    HandBlock h{std::vector<uint8_t>(22), {}};
    put_u16(h.bytes, 0, f32_to_f16(d));
    for (int j = 0; j < 32; ++j) {
        if (q[j] & 16) set_bit(h.bytes, 2, j);
        h.bytes[6 + j % 16] =
            static_cast<uint8_t>(h.bytes[6 + j % 16] | ((q[j] & 15) << (j < 16 ? 0 : 4)));
        h.values.push_back(static_cast<float>(q[j] - 16) * d);
    }
    return h;
}

HandBlock hand_q5_1(Rng& r) {
    const float d = 0.0625f, m = -0.5f;
    const auto q = r.quants(32, 0, 31, {0, 31});
    HandBlock h{std::vector<uint8_t>(24), {}};
    put_u16(h.bytes, 0, f32_to_f16(d));
    put_u16(h.bytes, 2, f32_to_f16(m));
    for (int j = 0; j < 32; ++j) {
        if (q[j] & 16) set_bit(h.bytes, 4, j);
        h.bytes[8 + j % 16] =
            static_cast<uint8_t>(h.bytes[8 + j % 16] | ((q[j] & 15) << (j < 16 ? 0 : 4)));
        h.values.push_back(static_cast<float>(q[j]) * d + m);
    }
    return h;
}

// Q8_0: d (f16) qs[32] int8; Q8_1 adds s = d * sum(qs) (f16) after d.
HandBlock hand_q8(Rng& r, bool with_sum) {
    const float d = 0.25f;
    const auto q = r.quants(32, -127, 127, {r.uniform(0, 1) ? 127 : -127});
    const size_t qs = with_sum ? 4 : 2;
    HandBlock h{std::vector<uint8_t>(qs + 32), {}};
    put_u16(h.bytes, 0, f32_to_f16(d));
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
        h.bytes[qs + j] = static_cast<uint8_t>(static_cast<int8_t>(q[j]));
        h.values.push_back(static_cast<float>(q[j]) * d);
        sum += q[j];
    }
    if (with_sum) put_u16(h.bytes, 2, f32_to_f16(d * static_cast<float>(sum)));
    return h;
}

// ---- 256-weight super-blocks.

// Q2_K: scales[16] (sc | m << 4) qs[64] d dmin. Weight 128c + 32p + l (l < 32) has its 2 bits at
// bit 2p of qs[32c + l]; sub-block j = weights 16j .. 16j + 15.
HandBlock hand_q2_k(Rng& r) {
    const float d = 0.03125f, dmin = 0.015625f;
    HandBlock h{std::vector<uint8_t>(84), std::vector<float>(256)};
    for (int j = 0; j < 16; ++j) {
        const int sc = j == 0 ? 15 : r.uniform(1, 15);
        // Odd mins: no weight decodes to exactly 0 (the plain Q2_K search weights errors by |x|,
        // so a zero weight would not constrain the fit).
        const int m = j == 1 ? 15 : 2 * r.uniform(0, 7) + 1;
        h.bytes[j] = static_cast<uint8_t>(sc | (m << 4));
        const auto q = r.quants(16, 0, 3, {0, 1, 3});
        for (int i = 0; i < 16; ++i) {
            const int k = 16 * j + i, c = k / 128, p = (k % 128) / 32, l = k % 32;
            h.bytes[16 + 32 * c + l] =
                static_cast<uint8_t>(h.bytes[16 + 32 * c + l] | (q[i] << (2 * p)));
            h.values[k] = d * static_cast<float>(sc) * static_cast<float>(q[i]) -
                          dmin * static_cast<float>(m);
        }
    }
    put_u16(h.bytes, 80, f32_to_f16(d));
    put_u16(h.bytes, 82, f32_to_f16(dmin));
    return h;
}

// Q3_K: hmask[32] qs[64] scales[12] d. Low 2 bits as Q2_K; third bit of weight k = bit k / 32 of
// hmask[k % 32]; decoded quant = (low | high << 2) - 4. Scale j (6 bits, stored + 32): low 4 bits
// in nibble j / 8 of byte j % 8, high 2 bits at bit 2 (j / 4) of byte 8 + j % 4.
HandBlock hand_q3_k(Rng& r) {
    const float d = 0.015625f;
    HandBlock h{std::vector<uint8_t>(110), std::vector<float>(256)};
    for (int j = 0; j < 16; ++j) {
        int sc = j == 0 ? -32 : r.uniform(-31, 31);
        if (sc == 0) sc = 1;
        const int stored = sc + 32;
        h.bytes[96 + j % 8] =
            static_cast<uint8_t>(h.bytes[96 + j % 8] | ((stored & 15) << (4 * (j / 8))));
        h.bytes[104 + j % 4] =
            static_cast<uint8_t>(h.bytes[104 + j % 4] | ((stored >> 4) << (2 * (j / 4))));
        const auto q = r.quants(16, 0, 7, {0, 5});  // q - 4 = -4 is the largest magnitude
        for (int i = 0; i < 16; ++i) {
            const int k = 16 * j + i, c = k / 128, p = (k % 128) / 32, l = k % 32;
            h.bytes[32 + 32 * c + l] =
                static_cast<uint8_t>(h.bytes[32 + 32 * c + l] | ((q[i] & 3) << (2 * p)));
            if (q[i] & 4) set_bit(h.bytes, 0, (k / 32) + 8 * (k % 32));
            h.values[k] = d * static_cast<float>(sc) * static_cast<float>(q[i] - 4);
        }
    }
    put_u16(h.bytes, 108, f32_to_f16(d));
    return h;
}

// Q4_K / Q5_K: d dmin scales[12] [qh[32]] qs[128]. Sub-block j = weights 32j .. 32j + 31; its 6-bit
// scale and min: for j < 4 bits 0-5 of bytes j and j + 4; for j >= 4 the low nibbles in byte
// j + 4 (scale low, min high) and the top 2 bits in bits 6-7 of bytes j - 4 (scale) and j (min).
// Low 4 bits of weight 64c + 32h + l are nibble h of qs[32c + l]; Q5_K's fifth bit is bit 2c + h
// of qh[l].
HandBlock hand_q45_k(Rng& r, bool five_bits) {
    const float d = 0.015625f, dmin = 0.0078125f;
    const int nmax = five_bits ? 31 : 15;
    const size_t qs = five_bits ? 48 : 16;
    HandBlock h{std::vector<uint8_t>(five_bits ? 176 : 144), std::vector<float>(256)};
    put_u16(h.bytes, 0, f32_to_f16(d));
    put_u16(h.bytes, 2, f32_to_f16(dmin));
    for (int j = 0; j < 8; ++j) {
        const int sc = j == 0 ? 63 : r.uniform(1, 63);
        const int m = j == 1 ? 63 : r.uniform(0, 63);
        uint8_t* s = h.bytes.data() + 4;
        if (j < 4) {
            s[j] = static_cast<uint8_t>(s[j] | sc);
            s[j + 4] = static_cast<uint8_t>(s[j + 4] | m);
        } else {
            s[j + 4] = static_cast<uint8_t>((sc & 15) | ((m & 15) << 4));
            s[j - 4] = static_cast<uint8_t>(s[j - 4] | ((sc >> 4) << 6));
            s[j] = static_cast<uint8_t>(s[j] | ((m >> 4) << 6));
        }
        const auto q = r.quants(32, 0, nmax, {0, 1, nmax});
        for (int i = 0; i < 32; ++i) {
            const int k = 32 * j + i, c = k / 64, half = (k % 64) / 32, l = k % 32;
            h.bytes[qs + 32 * c + l] =
                static_cast<uint8_t>(h.bytes[qs + 32 * c + l] | ((q[i] & 15) << (4 * half)));
            if (q[i] & 16) set_bit(h.bytes, 16, 8 * l + 2 * c + half);
            h.values[k] = d * static_cast<float>(sc) * static_cast<float>(q[i]) -
                          dmin * static_cast<float>(m);
        }
    }
    return h;
}

// Q6_K: ql[128] qh[64] scales[16] (int8) d. Weight 128c + 32g + l (g < 4, l < 32): low 4 bits in
// nibble g / 2 of ql[64c + 32(g % 2) + l], high 2 bits at bit 2g of qh[32c + l]; decoded quant
// = q - 32; sub-block j = weights 16j .. 16j + 15.
HandBlock hand_q6_k(Rng& r) {
    const float d = 0.0078125f;
    HandBlock h{std::vector<uint8_t>(210), std::vector<float>(256)};
    for (int j = 0; j < 16; ++j) {
        int sc = j == 0 ? -128 : r.uniform(-127, 127);
        if (sc == 0) sc = 5;
        h.bytes[192 + j] = static_cast<uint8_t>(static_cast<int8_t>(sc));
        const auto q = r.quants(16, 0, 63, {0, 33});  // q - 32 = -32 is the largest magnitude
        for (int i = 0; i < 16; ++i) {
            const int k = 16 * j + i, c = k / 128, g = (k % 128) / 32, l = k % 32;
            const size_t lo = 64 * c + 32 * (g % 2) + l;
            h.bytes[lo] = static_cast<uint8_t>(h.bytes[lo] | ((q[i] & 15) << (4 * (g / 2))));
            h.bytes[128 + 32 * c + l] =
                static_cast<uint8_t>(h.bytes[128 + 32 * c + l] | ((q[i] >> 4) << (2 * g)));
            h.values[k] = d * static_cast<float>(sc) * static_cast<float>(q[i] - 32);
        }
    }
    put_u16(h.bytes, 208, f32_to_f16(d));
    return h;
}

// Q8_K: d (f32) qs[256] (int8) bsums[16] (int16, sums of 16 quants).
HandBlock hand_q8_k(Rng& r) {
    const float d = 0.125f;
    HandBlock h{std::vector<uint8_t>(292), std::vector<float>(256)};
    std::memcpy(h.bytes.data(), &d, 4);
    auto q = r.quants(256, -127, 126, {1});
    q[0] = -127;  // the first element of largest magnitude fixes the sign of d
    for (int k = 0; k < 256; ++k) {
        h.bytes[4 + k] = static_cast<uint8_t>(static_cast<int8_t>(q[k]));
        h.values[k] = d * static_cast<float>(q[k]);
    }
    for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int k = 0; k < 16; ++k) sum += q[16 * g + k];
        put_u16(h.bytes, 260 + 2 * g, static_cast<uint16_t>(static_cast<int16_t>(sum)));
    }
    return h;
}

// Plain types: exactly representable values and their bits.
HandBlock hand_plain(Rng& r, TensorType t) {
    HandBlock h;
    for (int k = 0; k < 64; ++k) {
        const float v = static_cast<float>(r.uniform(-255, 255)) / 64.0f;  // 8 bits: exact in bf16
        h.values.push_back(v);
        if (t == TensorType::F32) {
            uint8_t b[4];
            std::memcpy(b, &v, 4);
            h.bytes.insert(h.bytes.end(), b, b + 4);
        } else {
            h.bytes.resize(h.bytes.size() + 2);
            put_u16(h.bytes, h.bytes.size() - 2,
                    t == TensorType::F16 ? f32_to_f16(v) : f32_to_bf16(v));
        }
    }
    return h;
}

HandBlock hand_block(TensorType t, Rng& r) {
    switch (t) {
        case TensorType::Q4_0:
            return hand_q4_0(r);
        case TensorType::Q4_1:
            return hand_q4_1(r);
        case TensorType::Q5_0:
            return hand_q5_0(r);
        case TensorType::Q5_1:
            return hand_q5_1(r);
        case TensorType::Q8_0:
            return hand_q8(r, false);
        case TensorType::Q8_1:
            return hand_q8(r, true);
        case TensorType::Q2_K:
            return hand_q2_k(r);
        case TensorType::Q3_K:
            return hand_q3_k(r);
        case TensorType::Q4_K:
            return hand_q45_k(r, false);
        case TensorType::Q5_K:
            return hand_q45_k(r, true);
        case TensorType::Q6_K:
            return hand_q6_k(r);
        case TensorType::Q8_K:
            return hand_q8_k(r);
        default:
            return hand_plain(r, t);
    }
}

TEST(FormatsQuantLayout, HandWrittenBlocksDecodeAndEncodeExactly) {
    for (TensorType t : test::all_quant_types()) {
        SCOPED_TRACE(type_name(t));
        Rng rng(static_cast<uint32_t>(t) * 7919u + 1);
        for (int trial = 0; trial < 20; ++trial) {
            // Three blocks in a row, to also check the block stride.
            HandBlock row;
            for (int b = 0; b < 3; ++b) {
                const HandBlock h = hand_block(t, rng);
                row.bytes.insert(row.bytes.end(), h.bytes.begin(), h.bytes.end());
                row.values.insert(row.values.end(), h.values.begin(), h.values.end());
            }
            const auto n = static_cast<int64_t>(row.values.size());
            ASSERT_EQ(row.bytes.size(), row_size(t, n));

            std::vector<float> y(row.values.size()), y_fast(row.values.size());
            dequantize_row(t, row.bytes.data(), y.data(), n);
            dequantize_row_fast(t, row.bytes.data(), y_fast.data(), n);
            for (size_t k = 0; k < y.size(); ++k) {
                ASSERT_EQ(y[k], row.values[k]) << "trial " << trial << " weight " << k;
                ASSERT_EQ(y_fast[k], row.values[k]) << "trial " << trial << " weight " << k;
            }

            std::vector<uint8_t> encoded(row.bytes.size());
            quantize_row(t, row.values.data(), encoded.data(), n);
            for (size_t k = 0; k < encoded.size(); ++k)
                ASSERT_EQ(static_cast<int>(encoded[k]), static_cast<int>(row.bytes[k]))
                    << "trial " << trial << " byte " << k;
        }
    }
}

TEST(FormatsQuantLayout, RowLengthMustBeWholeBlocks) {
    std::vector<float> x(300);
    std::vector<uint8_t> q(2048);
    EXPECT_THROW(quantize_row(TensorType::Q4_K, x.data(), q.data(), 300), Error);
    EXPECT_THROW(quantize_row(TensorType::Q8_0, x.data(), q.data(), 33), Error);
    EXPECT_THROW(dequantize_row(TensorType::Q6_K, q.data(), x.data(), 128), Error);
    EXPECT_THROW(dequantize_row_fast(TensorType::Q4_0, q.data(), x.data(), 31), Error);
    EXPECT_THROW(quantize_rows(TensorType::Q2_K, x.data(), q.data(), 1, 100), Error);
    EXPECT_THROW(dequantize_row(TensorType::I32, q.data(), x.data(), 4), Error);
}

}  // namespace
}  // namespace rf
