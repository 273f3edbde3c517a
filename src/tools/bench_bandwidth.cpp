#include "tools/bench_bandwidth.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "backend/cpu/cpu_backend.h"
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

BandwidthMeter::BandwidthMeter(Backend& backend, size_t bytes)
    : backend_(backend), bytes_(bytes / 64 * 64) {
    if (auto* cpu = dynamic_cast<CpuBackend*>(&backend)) pool_ = &cpu->pool();
    a_ = backend_.alloc(bytes_);
    b_ = backend_.alloc(bytes_);
    if (pool_ == nullptr) {
        backend_.fill_zero(a_, bytes_);
        backend_.fill_zero(b_, bytes_);
        backend_.synchronize();
        return;
    }
    // First touch from the threads that will read each slice.
    const size_t n = bytes_ / sizeof(float);
    auto* src = static_cast<float*>(a_);
    auto* dst = static_cast<float*>(b_);
    pool_->run([&](int ith, int nt) {
        const size_t b = n * static_cast<size_t>(ith) / static_cast<size_t>(nt);
        const size_t e = n * static_cast<size_t>(ith + 1) / static_cast<size_t>(nt);
        std::fill(src + b, src + e, 1.0f);
        std::fill(dst + b, dst + e, 0.0f);
    });
}

BandwidthMeter::~BandwidthMeter() {
    backend_.release(a_);
    backend_.release(b_);
}

Bandwidth BandwidthMeter::measure(int passes) {
    Bandwidth bw;
    bw.buffer_bytes = bytes_;
    if (pool_ == nullptr) {
        for (int pass = 0; pass < passes; ++pass) {
            const auto t0 = std::chrono::steady_clock::now();
            backend_.copy(b_, a_, bytes_);
            backend_.synchronize();
            bw.copy_gbs =
                std::max(bw.copy_gbs, 2.0 * static_cast<double>(bytes_) / seconds_since(t0) / 1e9);
        }
        bw.read_gbs = bw.copy_gbs;
        return bw;
    }
    ThreadPool& pool = *pool_;
    const size_t n = bytes_ / sizeof(float);
    const auto* src = static_cast<const float*>(a_);
    auto* dst = static_cast<float*>(b_);
    const cpu::VecOps& v = cpu::vec_ops();
    std::vector<float> sink(static_cast<size_t>(pool.size()));
    bw.threads = pool.size();
    auto slice = [n](int ith, int nt) {
        return std::pair<size_t, size_t>{
            n * static_cast<size_t>(ith) / static_cast<size_t>(nt),
            n * static_cast<size_t>(ith + 1) / static_cast<size_t>(nt)};
    };
    for (int pass = 0; pass < passes; ++pass) {
        auto t0 = std::chrono::steady_clock::now();
        pool.run([&](int ith, int nt) {
            const auto [b, e] = slice(ith, nt);
            sink[static_cast<size_t>(ith)] = v.sum_squares(src + b, static_cast<int64_t>(e - b));
        });
        bw.read_gbs = std::max(bw.read_gbs, static_cast<double>(bytes_) / seconds_since(t0) / 1e9);
        t0 = std::chrono::steady_clock::now();
        pool.run([&](int ith, int nt) {
            const auto [b, e] = slice(ith, nt);
            std::memcpy(dst + b, src + b, (e - b) * sizeof(float));
        });
        bw.copy_gbs =
            std::max(bw.copy_gbs, 2.0 * static_cast<double>(bytes_) / seconds_since(t0) / 1e9);
    }
    RF_CHECK(sink[0] > 0.0f, "bandwidth: read pass produced {}", sink[0]);  // keeps the reads alive
    return bw;
}

}  // namespace rf
