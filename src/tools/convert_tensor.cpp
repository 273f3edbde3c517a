#include "tools/convert_tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "formats/quant/quantize.h"
#include "formats/safetensors/safetensors_file.h"

namespace rf {
namespace {

// Elements [0, n) of row `row` of a source tensor whose rows hold n elements, as f32.
void read_row(const SafetensorsTensor& t, int64_t row, int64_t n, float* out) {
    const size_t esize = safetensors_dtype_size(t.dtype);
    const uint8_t* p = t.data + static_cast<size_t>(row) * static_cast<size_t>(n) * esize;
    switch (t.dtype) {
        case SafetensorsDType::F32:
            std::memcpy(out, p, static_cast<size_t>(n) * sizeof(float));
            break;
        case SafetensorsDType::F16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = f16_to_f32(h);
            }
            break;
        case SafetensorsDType::BF16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                out[i] = bf16_to_f32(h);
            }
            break;
        default:
            fail("convert: tensor '{}' has dtype {}, only F32, F16 and BF16 are converted", t.name,
                 safetensors_dtype_name(t.dtype));
    }
}

}  // namespace

int64_t ConvertTensor::n_rows() const {
    int64_t rows = 1;
    for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
    return rows;
}

void produce_rows(const ConvertTensor& t, int64_t r0, int64_t n, float* out) {
    const int64_t cols = t.ne[0];
    std::vector<float> scratch(t.col_order.active() ? static_cast<size_t>(cols) : 0);
    size_t slice = 0;
    int64_t slice_first = 0;  // output-independent index of the first row of `slice`
    for (int64_t r = r0; r < r0 + n; ++r) {
        const int64_t src = t.row_order.map(r);
        // Slices are few (one per expert); rows mostly come in order, so walk from the last one.
        if (src < slice_first) {
            slice = 0;
            slice_first = 0;
        }
        while (slice < t.slices.size() && src >= slice_first + t.slices[slice].n_rows) {
            slice_first += t.slices[slice].n_rows;
            ++slice;
        }
        RF_CHECK(slice < t.slices.size(), "convert: tensor '{}': source row {} is out of range",
                 t.name, src);
        const ConvertSlice& s = t.slices[slice];
        float* row = out + (r - r0) * cols;
        if (t.col_order.active()) {
            read_row(*s.tensor, s.row_begin + src - slice_first, cols, scratch.data());
            for (int64_t c = 0; c < cols; ++c) row[c] = scratch[t.col_order.map(c)];
        } else {
            read_row(*s.tensor, s.row_begin + src - slice_first, cols, row);
        }
        switch (t.op) {
            case ConvertOp::none:
                break;
            case ConvertOp::add_one:
                for (int64_t c = 0; c < cols; ++c) row[c] = row[c] + 1.0f;
                break;
            case ConvertOp::neg_exp:
                for (int64_t c = 0; c < cols; ++c) row[c] = -std::exp(row[c]);
                break;
        }
    }
}

void produce_tensor(const ConvertTensor& t, uint8_t* dst, ThreadPool* pool) {
    const int64_t cols = t.ne[0];
    const int64_t rows = t.n_rows();
    const size_t row_bytes = row_size(t.type, cols);
    // Chunks of about 4 M floats (16 MiB) bound the memory; each thread takes rows of a chunk.
    const int64_t chunk_rows = std::max<int64_t>(1, (int64_t{1} << 22) / cols);
    std::vector<float> f32(static_cast<size_t>(std::min(rows, chunk_rows) * cols));
    for (int64_t c0 = 0; c0 < rows; c0 += chunk_rows) {
        const int64_t n = std::min(chunk_rows, rows - c0);
        auto work = [&](int64_t b, int64_t e) {
            float* x = f32.data() + b * cols;
            produce_rows(t, c0 + b, e - b, x);
            quantize_rows(t.type, x, dst + static_cast<size_t>(c0 + b) * row_bytes, e - b, cols);
        };
        if (pool != nullptr) {
            pool->parallel_for(n, work, std::max<int64_t>(1, 8192 / cols));
        } else {
            work(0, n);
        }
    }
}

}  // namespace rf
