#include "backend/gpu/matvec_layout_probe.cuh"

#include <algorithm>
#include <vector>

#include "backend/gpu/matvec_probe_common.cuh"

namespace rf::gpu {
namespace {

constexpr int kGroup = 4;  // rows interleaved per group: the many-token kernel's rows per block

// Q4_0 with the rows of each kGroup-row group interleaved per block (CHUNK 1) or per run of 32
// blocks (CHUNK 32, a warp's column of units): block b of row r is at index
// (r / G) * bpr * G + (b / CHUNK) * CHUNK * G + (r % G) * CHUNK + b % CHUNK of both planes.
template <int CHUNK>
struct InterleavedQ4_0Policy : QuantPolicy<TensorType::Q4_0> {
    using Base = QuantPolicy<TensorType::Q4_0>;
    static __device__ __forceinline__ typename Base::Row row(const QMatrix& m, int64_t r) {
        typename Base::Row out{m};
        const int64_t first = (r / kGroup) * m.blocks_per_row * kGroup + (r % kGroup) * CHUNK;
        out.m.plane[0] += first * 2;
        out.m.plane[1] += first * 16;
        return out;
    }
    static __device__ __forceinline__ typename Base::W load(const typename Base::Row& r, int u) {
        return Base::D::load_w(r.m, (u / CHUNK) * CHUNK * kGroup + u % CHUNK, 0);
    }
};

}  // namespace

MatvecLayoutTiming time_matvec_layouts(cudaStream_t stream, int64_t rows, int64_t cols, int copies, int reps) {
    // (a partial last run of CHUNK 32 reaches past its group: 32 groups of slack)
    const ProbeQ4_0 p(stream, rows, cols, copies, 32 * kGroup);
    const dim3 grid(static_cast<unsigned>(rows / 4)), block(kMatvecThreads);
    auto time = [&](int interleaved) {
        return probe_median_us(stream, p, reps, [&](int c) {
            const MatvecArgs a = p.args(c);
            Launcher l(Launcher::Mode::Launch, stream, false);
            if (interleaved == 1) l.launch(matvec_kernel<InterleavedQ4_0Policy<1>, 1, 1, false, false, true>, grid, block, 0, a);
            else if (interleaved == 32) l.launch(matvec_kernel<InterleavedQ4_0Policy<32>, 1, 1, false, false, true>, grid, block, 0, a);
            else l.launch(matvec_kernel<QuantPolicy<TensorType::Q4_0>, 1, 1, false, false, true>, grid, block, 0, a);
        });
    };
    MatvecLayoutTiming t;
    t.us_planar = time(0);
    t.us_interleaved = time(1);
    t.us_interleaved32 = time(32);
    t.us_planar = std::min(t.us_planar, time(0));  // again, after the others (drift)
    t.us_interleaved = std::min(t.us_interleaved, time(1));
    t.us_interleaved32 = std::min(t.us_interleaved32, time(32));
    t.bytes = static_cast<double>(p.n_blocks) * 18.0;
    return t;
}

}  // namespace rf::gpu
