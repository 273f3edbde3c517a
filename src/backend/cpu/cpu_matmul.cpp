// Matrix products y = x . W^T (+ bias) on the CPU, on the weights' own blocks.
//
//   x: [T, K] f32, W: [R, K] of any type with a dot kernel (quant_dot.h), y: [T, R] f32.
//
// The activations are converted once per call into the kernel's format (Q8_0 / Q8_1 / Q8_K /
// BF16; F32 used in place). Then:
//   - decode (T <= kDotMaxTokens): the rows of W are split into one contiguous range per thread
//     and streamed once; each weight block is dotted with all T tokens.
//   - prefill / batches: W is cut into row tiles small enough to stay in L2; threads take tiles
//     from a shared counter; within a tile, groups of kDotMaxTokens token rows (kept in L1) are
//     dotted with every row of the tile, so W is read from memory once per call, not per token.
//   - F32 weights with many tokens go to OpenBLAS sgemm (its thread count set to the pool's).
// Types without a dot kernel fall back to dequantizing each weight row to f32.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/quant_dot/quant_dot.h"
#include "core/error.h"

namespace rf::cpu {
namespace {

constexpr int64_t kBlasMinTokens = 16;
constexpr size_t kTileWeightBytes = 256 * 1024;  // weights of one row tile (about half an L2)

const uint8_t* weight_row(const Weight& w, int64_t r) {
    return static_cast<const uint8_t*>(w.data) + static_cast<size_t>(r) * w.row_bytes;
}

// Activations converted to the kernel's format: rows `stride` bytes apart.
struct ActBuffer {
    const void* data = nullptr;
    size_t stride = 0;
};

ActBuffer convert_activations(ThreadPool& pool, ActFormat act, Act x) {
    if (act == ActFormat::f32) return {x.data, static_cast<size_t>(x.cols) * sizeof(float)};
    static thread_local std::vector<uint8_t> buffer;  // per calling thread; grows, never shrinks
    const size_t stride = act_row_bytes(act, x.cols);
    if (buffer.size() < stride * static_cast<size_t>(x.rows))
        buffer.resize(stride * static_cast<size_t>(x.rows));
    uint8_t* dst = buffer.data();
    auto convert = [&](int64_t begin, int64_t end) {
        for (int64_t t = begin; t < end; ++t)
            quantize_activation(act, x.data + t * x.cols, dst + static_cast<size_t>(t) * stride,
                                x.cols);
    };
    if (x.rows <= kDotMaxTokens) {
        convert(0, x.rows);
    } else {
        pool.parallel_for(x.rows, convert, 4);
    }
    return {dst, stride};
}

void matmul_blas(ThreadPool& pool, const Weight& w, Act x, Act y) {
    static std::atomic<int> blas_threads{0};
    if (blas_threads.load(std::memory_order_relaxed) != pool.size()) {
        openblas_set_num_threads(pool.size());
        blas_threads.store(pool.size(), std::memory_order_relaxed);
    }
    // y[T, R] = x[T, K] . W[R, K]^T
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(x.rows),
                static_cast<int>(w.rows), static_cast<int>(w.cols), 1.0f, x.data,
                static_cast<int>(x.cols), static_cast<const float*>(w.data),
                static_cast<int>(w.cols), 0.0f, y.data, static_cast<int>(y.cols));
}

void matmul_dequantized(ThreadPool& pool, const Weight& w, Act x, Act y) {
    pool.parallel_for(
        w.rows,
        [&](int64_t begin, int64_t end) {
            std::vector<float> row(static_cast<size_t>(w.cols));
            const DotKernel f32 = dot_kernel(TensorType::F32);
            for (int64_t r = begin; r < end; ++r) {
                weight_row_to_f32(w, 0, r, row.data());
                for (int64_t t = 0; t < x.rows; t += kDotMaxTokens)
                    f32.dot(w.cols, row.data(), x.data + t * x.cols,
                            static_cast<size_t>(x.cols) * sizeof(float),
                            static_cast<int>(std::min<int64_t>(kDotMaxTokens, x.rows - t)),
                            y.data + t * y.cols + r, static_cast<size_t>(y.cols));
            }
        },
        16);
}

void matmul_decode(ThreadPool& pool, const DotKernel& k, const Weight& w, const ActBuffer& a, Act x,
                   Act y) {
    const int nt = static_cast<int>(x.rows);
    auto rows = [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r)
            k.dot(w.cols, weight_row(w, r), a.data, a.stride, nt, y.data + r, static_cast<size_t>(y.cols));
    };
    // Small matrices: one contiguous range per thread (or none: below 64 KiB the dispatch costs
    // more than the work).
    const size_t bytes = w.mat_bytes();
    if (pool.size() == 1 || bytes < (64u << 10)) return rows(0, w.rows);
    // Otherwise chunks of >= 16 KiB taken from a shared counter, 8 per thread: cores that stream
    // at different rates (other tenants, different memory paths) finish together.
    const int64_t n_chunks = std::min<int64_t>(8 * pool.size(), std::max<int64_t>(1, static_cast<int64_t>(bytes >> 14)));
    const int64_t per = (w.rows + n_chunks - 1) / n_chunks;
    pool.for_each_chunk(n_chunks, [&](int64_t c) { rows(c * per, std::min(w.rows, (c + 1) * per)); });
}

void matmul_tiled(ThreadPool& pool, const DotKernel& k, const Weight& w, const ActBuffer& a, Act x,
                  Act y) {
    const int64_t tile_rows =
        std::clamp<int64_t>(static_cast<int64_t>(kTileWeightBytes / w.row_bytes), 4, 256);
    // Enough tiles to balance the threads: at least 4 per thread when the matrix allows.
    const int64_t per_thread =
        std::max<int64_t>(4, (w.rows + 4 * pool.size() - 1) / (4 * pool.size()));
    const int64_t rows_per_tile = std::min(tile_rows, per_thread);
    const int64_t n_tiles = (w.rows + rows_per_tile - 1) / rows_per_tile;
    const auto* act = static_cast<const uint8_t*>(a.data);
    pool.for_each_chunk(n_tiles, [&](int64_t tile) {
        const int64_t r0 = tile * rows_per_tile, r1 = std::min(w.rows, r0 + rows_per_tile);
        for (int64_t t = 0; t < x.rows; t += kDotMaxTokens) {
            const int nt = static_cast<int>(std::min<int64_t>(kDotMaxTokens, x.rows - t));
            const uint8_t* at = act + static_cast<size_t>(t) * a.stride;
            float* yt = y.data + t * y.cols;
            for (int64_t r = r0; r < r1; ++r)
                k.dot(w.cols, weight_row(w, r), at, a.stride, nt, yt + r, static_cast<size_t>(y.cols));
        }
    });
}

}  // namespace

void matmul(ThreadPool& pool, const Weight& w, Act x, Act y, const float* bias) {
    RF_CHECK(x.cols == w.cols, "matmul: input rows have {} values, weight expects {}", x.cols,
             w.cols);
    RF_CHECK(y.cols == w.rows && y.rows == x.rows, "matmul: output is [{}, {}], expected [{}, {}]",
             y.rows, y.cols, x.rows, w.rows);
    if (x.rows == 0) return;
    const DotKernel k = dot_kernel(w.type);
    if (k.dot == nullptr) {
        matmul_dequantized(pool, w, x, y);
    } else if (w.type == TensorType::F32 && x.rows >= kBlasMinTokens) {
        matmul_blas(pool, w, x, y);
    } else {
        const ActBuffer a = convert_activations(pool, k.act, x);
        if (x.rows <= kDotMaxTokens) {
            matmul_decode(pool, k, w, a, x, y);
        } else {
            matmul_tiled(pool, k, w, a, x, y);
        }
    }
    if (bias != nullptr) {
        for (int64_t t = 0; t < y.rows; ++t)
            for (int64_t r = 0; r < y.cols; ++r) y.data[t * y.cols + r] += bias[r];
    }
}

}  // namespace rf::cpu
