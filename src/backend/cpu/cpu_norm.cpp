// RMS normalisation on the CPU: out = x / sqrt(mean(x^2) + eps) * w, per row (VecOps: f32 sum of
// squares in several partial sums; the scalar tier sums in double).
#include <algorithm>
#include <cmath>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"

namespace rf::cpu {

void rms_norm(ThreadPool& pool, Act x, const float* w, float eps, Act out) {
    const int64_t n = x.cols;
    const VecOps& v = vec_ops();
    pool.parallel_for(
        x.rows,
        [&](int64_t begin, int64_t end) {
            for (int64_t r = begin; r < end; ++r) {
                const float* src = x.data + r * n;
                const double ms =
                    static_cast<double>(v.sum_squares(src, n)) / static_cast<double>(n);
                v.scale_mul(src, static_cast<float>(1.0 / std::sqrt(ms + eps)), w, out.data + r * n,
                            n);
            }
        },
        std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n)));
}

}  // namespace rf::cpu
