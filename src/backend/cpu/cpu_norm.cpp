// RMS normalisation on the CPU: out = x / sqrt(mean(x^2) + eps) * w, accumulated in double.
#include <cmath>

#include "backend/cpu/cpu_ops.h"

namespace rf::cpu {

void rms_norm(ThreadPool& pool, Act x, const float* w, float eps, Act out) {
    const int64_t n = x.cols;
    pool.parallel_for(x.rows, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float* src = x.data + r * n;
            float* dst = out.data + r * n;
            double sum = 0.0;
            for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(src[i]) * src[i];
            const float scale = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
            for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * scale * w[i];
        }
    }, 4);
}

}  // namespace rf::cpu
