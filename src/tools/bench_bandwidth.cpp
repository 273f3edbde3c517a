#include "tools/bench_bandwidth.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "backend/cpu/cpu_vec.h"
#include "core/error.h"
#include "core/thread_pool.h"

namespace rf {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string Bandwidth::describe() const {
    return fmt::format(
        "memory bandwidth: read {:.1f} GB/s, copy {:.1f} GB/s ({} threads, {:.2f} GiB buffer, best "
        "pass)",
        read_gbs, copy_gbs, threads, static_cast<double>(buffer_bytes) / 1073741824.0);
}

Bandwidth measure_cpu_bandwidth(ThreadPool& pool, size_t bytes, int passes) {
    const size_t n = bytes / sizeof(float);
    std::unique_ptr<float[]> src(new float[n]), dst(new float[n]);
    const int nth = pool.size();
    // First touch from the threads that will read each slice.
    pool.run([&](int ith, int nt) {
        const size_t b = n * static_cast<size_t>(ith) / static_cast<size_t>(nt);
        const size_t e = n * static_cast<size_t>(ith + 1) / static_cast<size_t>(nt);
        std::fill(src.get() + b, src.get() + e, 1.0f);
        std::fill(dst.get() + b, dst.get() + e, 0.0f);
    });
    const cpu::VecOps& v = cpu::vec_ops();
    std::vector<float> sink(static_cast<size_t>(nth));
    Bandwidth bw;
    bw.buffer_bytes = n * sizeof(float);
    bw.threads = nth;
    for (int pass = 0; pass < passes; ++pass) {
        auto t0 = std::chrono::steady_clock::now();
        pool.run([&](int ith, int nt) {
            const size_t b = n * static_cast<size_t>(ith) / static_cast<size_t>(nt);
            const size_t e = n * static_cast<size_t>(ith + 1) / static_cast<size_t>(nt);
            sink[static_cast<size_t>(ith)] =
                v.sum_squares(src.get() + b, static_cast<int64_t>(e - b));
        });
        bw.read_gbs =
            std::max(bw.read_gbs, static_cast<double>(bw.buffer_bytes) / seconds_since(t0) / 1e9);
        t0 = std::chrono::steady_clock::now();
        pool.run([&](int ith, int nt) {
            const size_t b = n * static_cast<size_t>(ith) / static_cast<size_t>(nt);
            const size_t e = n * static_cast<size_t>(ith + 1) / static_cast<size_t>(nt);
            std::memcpy(dst.get() + b, src.get() + b, (e - b) * sizeof(float));
        });
        bw.copy_gbs = std::max(
            bw.copy_gbs, 2.0 * static_cast<double>(bw.buffer_bytes) / seconds_since(t0) / 1e9);
    }
    RF_CHECK(sink[0] > 0.0f, "bandwidth: read pass produced {}", sink[0]);  // keeps the reads alive
    return bw;
}

Bandwidth measure_backend_bandwidth(Backend& backend, size_t bytes, int passes) {
    void* a = backend.alloc(bytes);
    void* b = backend.alloc(bytes);
    backend.fill_zero(a, bytes);
    backend.fill_zero(b, bytes);
    backend.synchronize();
    Bandwidth bw;
    bw.buffer_bytes = bytes;
    for (int pass = 0; pass < passes; ++pass) {
        const auto t0 = std::chrono::steady_clock::now();
        backend.copy(b, a, bytes);
        backend.synchronize();
        bw.copy_gbs =
            std::max(bw.copy_gbs, 2.0 * static_cast<double>(bytes) / seconds_since(t0) / 1e9);
    }
    bw.read_gbs = bw.copy_gbs;  // a device streams reads about as fast as it moves copy traffic
    backend.release(a);
    backend.release(b);
    return bw;
}

}  // namespace rf
