#include "backend/cpu/quant_dot/act_format.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "formats/quant/quantize.h"
#include "formats/quant_blocks.h"

namespace rf::cpu {
namespace {

bool is_x4(ActFormat f) {
    return f >= ActFormat::q8_x4_off8;
}

int x4_offset(ActFormat f) {
    switch (f) {
        case ActFormat::q8_x4_off8:
            return 8;
        case ActFormat::q8_x4_off16:
            return 16;
        case ActFormat::q8_x4_off128:
            return 128;
        default:
            return 0;
    }
}

// Position in block_q8_x4::qs of element i (< 32) of block k (< 4).
inline int x4_pos(int k, int i) {
    return (i < 16 ? 0 : 64) + 16 * k + (i & 15);
}

void quantize_x4(ActFormat f, const float* x, void* dst, int64_t n) {
    const int64_t nb = n / QK8_0;
    static thread_local std::vector<block_q8_0> q8;
    q8.resize(static_cast<size_t>(nb));
    quantize_row(TensorType::Q8_0, x, q8.data(), n);
    auto* groups = static_cast<block_q8_x4*>(dst);
    const int off = x4_offset(f);
    for (int64_t g = 0; g < (nb + 3) / 4; ++g) {
        block_q8_x4& out = groups[g];
        const int nk = static_cast<int>(std::min<int64_t>(4, nb - 4 * g));
        if (nk < 4) std::memset(&out, 0, sizeof out);
        for (int k = 0; k < nk; ++k) {
            const block_q8_0& b = q8[static_cast<size_t>(4 * g + k)];
            std::memcpy(out.qs + 16 * k, b.qs, 16);
            std::memcpy(out.qs + 64 + 16 * k, b.qs + 16, 16);
            int32_t sum = 0;
            for (int i = 0; i < QK8_0; ++i) sum += b.qs[i];
            const float d = f16_to_f32(b.d);
            for (int i = 0; i < 4; ++i) out.d[4 * k + i] = d;
            if (f == ActFormat::q8_x4_sum) {
                const float s = d * static_cast<float>(sum);
                std::memcpy(&out.aux[4 * k], &s, 4);
            } else {
                out.aux[4 * k] = -off * sum;
            }
            out.aux[4 * k + 1] = out.aux[4 * k + 2] = out.aux[4 * k + 3] = 0;
        }
    }
}

}  // namespace

const char* act_format_name(ActFormat f) {
    switch (f) {
        case ActFormat::f32:
            return "f32";
        case ActFormat::bf16:
            return "bf16";
        case ActFormat::q8_0:
            return "q8_0";
        case ActFormat::q8_1:
            return "q8_1";
        case ActFormat::q8_k:
            return "q8_k";
        case ActFormat::q8_x4_off8:
            return "q8_x4_off8";
        case ActFormat::q8_x4_off16:
            return "q8_x4_off16";
        case ActFormat::q8_x4_off128:
            return "q8_x4_off128";
        case ActFormat::q8_x4_sum:
            return "q8_x4_sum";
    }
    return "?";
}

size_t act_row_bytes(ActFormat f, int64_t n) {
    switch (f) {
        case ActFormat::f32:
            return static_cast<size_t>(n) * 4;
        case ActFormat::bf16:
            return static_cast<size_t>(n) * 2;
        case ActFormat::q8_0:
            return row_size(TensorType::Q8_0, n);
        case ActFormat::q8_1:
            return row_size(TensorType::Q8_1, n);
        case ActFormat::q8_k:
            return row_size(TensorType::Q8_K, n);
        default:
            break;
    }
    RF_CHECK(n % QK8_0 == 0, "activations: a row of {} is not a whole number of blocks of 32", n);
    return static_cast<size_t>((n / QK8_0 + 3) / 4) * sizeof(block_q8_x4);
}

void quantize_activation(ActFormat f, const float* x, void* dst, int64_t n) {
    switch (f) {
        case ActFormat::f32:
            std::memcpy(dst, x, static_cast<size_t>(n) * sizeof(float));
            return;
        case ActFormat::bf16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(x[i]);
            return;
        }
        case ActFormat::q8_0:
            quantize_row(TensorType::Q8_0, x, dst, n);
            return;
        case ActFormat::q8_1:
            quantize_row(TensorType::Q8_1, x, dst, n);
            return;
        case ActFormat::q8_k:
            quantize_row(TensorType::Q8_K, x, dst, n);
            return;
        default:
            quantize_x4(f, x, dst, n);
            return;
    }
}

void dequantize_activation(ActFormat f, const void* src, float* dst, int64_t n) {
    switch (f) {
        case ActFormat::f32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case ActFormat::bf16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
            return;
        }
        case ActFormat::q8_0:
            dequantize_row(TensorType::Q8_0, src, dst, n);
            return;
        case ActFormat::q8_1:
            dequantize_row(TensorType::Q8_1, src, dst, n);
            return;
        case ActFormat::q8_k:
            dequantize_row(TensorType::Q8_K, src, dst, n);
            return;
        default:
            break;
    }
    RF_CHECK(is_x4(f), "dequantize_activation: unknown format");
    const auto* groups = static_cast<const block_q8_x4*>(src);
    for (int64_t b = 0; b < n / QK8_0; ++b) {
        const block_q8_x4& g = groups[b / 4];
        const int k = static_cast<int>(b % 4);
        for (int i = 0; i < QK8_0; ++i) dst[b * QK8_0 + i] = g.d[4 * k] * g.qs[x4_pos(k, i)];
    }
}

}  // namespace rf::cpu
