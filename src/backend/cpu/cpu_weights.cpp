// Weight rows to f32, and the embedding gather, on the CPU.
#include <cstring>

#include "backend/cpu/cpu_ops.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/quant/quantize.h"

namespace rf::cpu {

void weight_row_to_f32(const Weight& w, int64_t mat, int64_t row, float* dst) {
    const auto* base = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(mat) * w.mat_bytes() +
                       static_cast<size_t>(row) * w.row_bytes;
    switch (w.type) {
        case TensorType::F32: std::memcpy(dst, base, static_cast<size_t>(w.cols) * 4); break;
        case TensorType::F16: {
            const auto* h = reinterpret_cast<const uint16_t*>(base);
            for (int64_t i = 0; i < w.cols; ++i) dst[i] = f16_to_f32(h[i]);
            break;
        }
        case TensorType::BF16: {
            const auto* h = reinterpret_cast<const uint16_t*>(base);
            for (int64_t i = 0; i < w.cols; ++i) dst[i] = bf16_to_f32(h[i]);
            break;
        }
        default: dequantize_row_fast(w.type, base, dst, w.cols); break;
    }
}

void embed(ThreadPool& pool, const Weight& table, const int32_t* ids, Act out) {
    RF_CHECK(out.cols == table.cols, "embed: output row of {} values, table rows have {}", out.cols,
             table.cols);
    pool.parallel_for(out.rows, [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t) {
            const int32_t id = ids[t];
            RF_CHECK(id >= 0 && id < table.rows, "embed: token id {} out of range [0, {})", id,
                     table.rows);
            weight_row_to_f32(table, 0, id, out.data + t * out.cols);
        }
    }, 16);
}

}  // namespace rf::cpu
