// Public entry points of quantize.h: argument checks, per-type dispatch, row parallelism.
#include "formats/quant/quantize.h"

#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/quant/quant_internal.h"
#include "formats/quant/quant_isa.h"

namespace rf {
namespace {

void check_row(const char* what, TensorType type, int64_t n) {
    const TensorTypeTraits& tr = traits(type);
    RF_CHECK(n >= 0 && n % tr.block_size == 0,
             "{}: a row of {} elements is not a whole number of {} blocks ({} per block)", what, n,
             tr.name, tr.block_size);
}

[[noreturn]] void unsupported(const char* what, TensorType type) {
    fail("{}: tensor type {} is not supported", what, type_name(type));
}

}  // namespace

void dequantize_row(TensorType type, const void* src, float* dst, int64_t n) {
    check_row("dequantize_row", type, n);
    using namespace quant;
    switch (type) {
        case TensorType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case TensorType::F16:
            return dequantize_f16(src, dst, n);
        case TensorType::BF16:
            return dequantize_bf16(src, dst, n);
        case TensorType::Q4_0:
            return dequantize_q4_0(src, dst, n);
        case TensorType::Q4_1:
            return dequantize_q4_1(src, dst, n);
        case TensorType::Q5_0:
            return dequantize_q5_0(src, dst, n);
        case TensorType::Q5_1:
            return dequantize_q5_1(src, dst, n);
        case TensorType::Q8_0:
            return dequantize_q8_0(src, dst, n);
        case TensorType::Q8_1:
            return dequantize_q8_1(src, dst, n);
        case TensorType::Q2_K:
            return dequantize_q2_k(src, dst, n);
        case TensorType::Q3_K:
            return dequantize_q3_k(src, dst, n);
        case TensorType::Q4_K:
            return dequantize_q4_k(src, dst, n);
        case TensorType::Q5_K:
            return dequantize_q5_k(src, dst, n);
        case TensorType::Q6_K:
            return dequantize_q6_k(src, dst, n);
        case TensorType::Q8_K:
            return dequantize_q8_k(src, dst, n);
        default:
            unsupported("dequantize_row", type);
    }
}

void quantize_row(TensorType type, const float* src, void* dst, int64_t n,
                  const float* importance) {
    check_row("quantize_row", type, n);
    using namespace quant;
    switch (type) {
        case TensorType::F32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case TensorType::F16:
            switch (quant_isa()) {
                case QuantIsa::avx512:
                    return avx512::quantize_row_f16(src, dst, n);
                case QuantIsa::avx2:
                    return avx2::quantize_row_f16(src, dst, n);
                case QuantIsa::scalar:
                    return quantize_f16(src, dst, n);
            }
            return;
        case TensorType::BF16:
            return quantize_bf16(src, dst, n);
        case TensorType::Q4_0:
            return quantize_q4_0(src, dst, n, importance);
        case TensorType::Q4_1:
            return quantize_q4_1(src, dst, n, importance);
        case TensorType::Q5_0:
            return quantize_q5_0(src, dst, n, importance);
        case TensorType::Q5_1:
            return quantize_q5_1(src, dst, n, importance);
        case TensorType::Q8_0:
            switch (quant_isa()) {
                case QuantIsa::avx512:
                    return avx512::quantize_row_q8_0(src, dst, n);
                case QuantIsa::avx2:
                    return avx2::quantize_row_q8_0(src, dst, n);
                case QuantIsa::scalar:
                    return quantize_q8_0(src, dst, n);
            }
            return;
        case TensorType::Q8_1:
            return quantize_q8_1(src, dst, n);
        case TensorType::Q2_K:
            return quantize_q2_k(src, dst, n, importance);
        case TensorType::Q3_K:
            return quantize_q3_k(src, dst, n, importance);
        case TensorType::Q4_K:
            return quantize_q4_k(src, dst, n, importance);
        case TensorType::Q5_K:
            return quantize_q5_k(src, dst, n, importance);
        case TensorType::Q6_K:
            return quantize_q6_k(src, dst, n, importance);
        case TensorType::Q8_K:
            return quantize_q8_k(src, dst, n);
        default:
            unsupported("quantize_row", type);
    }
}

size_t quantize_rows(TensorType type, const float* src, void* dst, int64_t n_rows,
                     int64_t n_per_row, const float* importance, ThreadPool* pool) {
    check_row("quantize_rows", type, n_per_row);
    RF_CHECK(n_rows >= 0, "quantize_rows: negative row count {}", n_rows);
    const size_t row_bytes = row_size(type, n_per_row);
    auto run = [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
            quantize_row(type, src + r * n_per_row, static_cast<uint8_t*>(dst) + r * row_bytes,
                         n_per_row, importance);
    };
    if (pool && pool->size() > 1 && n_rows > 1)
        pool->parallel_for(n_rows, run);
    else
        run(0, n_rows);
    return static_cast<size_t>(n_rows) * row_bytes;
}

void dequantize_row_fast(TensorType type, const void* src, float* dst, int64_t n) {
    check_row("dequantize_row_fast", type, n);
    switch (quant::quant_isa()) {
        case quant::QuantIsa::avx512:
            if (quant::avx512::dequantize_row(type, src, dst, n)) return;
            break;
        case quant::QuantIsa::avx2:
            if (quant::avx2::dequantize_row(type, src, dst, n)) return;
            break;
        case quant::QuantIsa::scalar:
            break;
    }
    dequantize_row(type, src, dst, n);
}

}  // namespace rf
