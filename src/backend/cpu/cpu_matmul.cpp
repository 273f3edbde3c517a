// Matrix products y = x . W^T on the CPU for any weight type (generic path: each weight row is
// converted to f32 once and used for every token of the batch).
#include <algorithm>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "core/error.h"

namespace rf::cpu {
namespace {

inline float dot_f32(const float* a, const float* b, int64_t n) {
    float acc[16] = {};
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; ++j) acc[j] += a[i + j] * b[i + j];
    float s = 0.0f;
    for (int j = 0; j < 16; ++j) s += acc[j];
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

}  // namespace

void matmul(ThreadPool& pool, const Weight& w, Act x, Act y, const float* bias) {
    RF_CHECK(x.cols == w.cols, "matmul: input rows have {} values, weight expects {}", x.cols, w.cols);
    RF_CHECK(y.cols == w.rows && y.rows == x.rows, "matmul: output is [{}, {}], expected [{}, {}]",
             y.rows, y.cols, x.rows, w.rows);
    pool.parallel_for(w.rows, [&](int64_t begin, int64_t end) {
        std::vector<float> row(static_cast<size_t>(w.cols));
        for (int64_t r = begin; r < end; ++r) {
            weight_row_to_f32(w, 0, r, row.data());
            const float b = bias ? bias[r] : 0.0f;
            for (int64_t t = 0; t < x.rows; ++t)
                y.data[t * y.cols + r] = dot_f32(row.data(), x.data + t * x.cols, w.cols) + b;
        }
    }, 16);
}

}  // namespace rf::cpu
