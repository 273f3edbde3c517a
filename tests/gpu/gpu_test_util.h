// Shared pieces of the GPU op harness: the one backend of the test process, random inputs
// (never zeros), random quantized weights, device buffers that are poisoned before each run,
// and the normalised MSE comparison.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_ops.h"
#include "backend/gpu/gpu_backend.h"
#include "backend/gpu/gpu_dispatch_table.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "formats/tensor_type.h"
#include "kv/kv_layout.h"

namespace rf::gputest {

// The backend shared by every test of the binary (created in main under the GPU lock).
GpuBackend& gpu();
ThreadPool& pool();

// The device's dispatch table with matrix products of up to `matvec_max` tokens on the matvec
// kernels (q8_1 activations, as the one-token kernel), forced for the life of the object: tests
// that compare steps of different token counts keep every product on one numeric path.
struct ScopedMatvecUpTo {
    explicit ScopedMatvecUpTo(int64_t matvec_max) {
        gpu::DispatchTable t = gpu::dispatch_table_for(gpu().device_info().arch);
        t.matvec_max_tokens = matvec_max;
        gpu::set_dispatch_override(&t);
    }
    ~ScopedMatvecUpTo() { gpu::set_dispatch_override(nullptr); }
    ScopedMatvecUpTo(const ScopedMatvecUpTo&) = delete;
    ScopedMatvecUpTo& operator=(const ScopedMatvecUpTo&) = delete;
};

// NMSE bound of a decode attention against the CPU: 1e-8 on the FMA kernels; 2e-5 where the
// chunks may run on the matrix units (f16 KV, head dims 64 / 128, a device table with
// decode_attention_mma; RF_GPU_ATTN_MMA not off, and with =long only at 4096+ positions), which
// round q and the probabilities to f16 as the flash prefill kernel does.
inline double decode_attention_bound(int max_ctx, int hd, KvCodec codec) {
    const char* sw = std::getenv("RF_GPU_ATTN_MMA");
    const std::string mode = sw != nullptr ? sw : "";
    const bool mma = gpu::dispatch_table_for(gpu().device_info().arch).decode_attention_mma && codec == KvCodec::F16 &&
                     (hd == 64 || hd == 128) && mode != "off" && ((max_ctx + 255) / 256 * 256 >= 4096 || mode != "long");
    return mma ? 2e-5 : 1e-8;
}

inline std::vector<float> random_floats(size_t n, uint32_t seed, float scale = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (auto& x : v) {
        x = d(rng);
        if (x == 0.0f) x = scale * 1e-3f;
    }
    return v;
}

// Host bytes of a rows x cols weight of `type` (GGUF layout) with random contents: random quant
// bytes, scales drawn so that the weights have magnitudes around 1/sqrt(cols).
std::vector<uint8_t> random_weight_bytes(TensorType type, int64_t rows, int64_t cols, uint32_t seed);

// sum (a - b)^2 / sum b^2, in double.
inline double nmse(const float* a, const float* b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(a[i]) - b[i];
        num += d * d;
        den += static_cast<double>(b[i]) * b[i];
    }
    return den > 0.0 ? num / den : (num > 0.0 ? INFINITY : 0.0);
}

inline bool all_finite(const std::vector<float>& v) {
    for (float x : v)
        if (!std::isfinite(x)) return false;
    return true;
}

// An environment variable set for a scope (the emitter's switches are read at every emit).
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
    ~ScopedEnv() { ::unsetenv(name_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
};

// A device f32 buffer mirrored on the host.
class DeviceActs {
public:
    DeviceActs(int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {
        ptr_ = static_cast<float*>(gpu().alloc(static_cast<size_t>(rows * cols) * 4));
    }
    DeviceActs(const std::vector<float>& host, int64_t rows, int64_t cols) : DeviceActs(rows, cols) { set(host); }
    ~DeviceActs() { gpu().release(ptr_); }
    DeviceActs(const DeviceActs&) = delete;
    DeviceActs& operator=(const DeviceActs&) = delete;

    Act act() const { return {ptr_, rows_, cols_}; }
    void set(const std::vector<float>& host) {
        EXPECT_EQ(host.size(), static_cast<size_t>(rows_ * cols_));
        gpu().upload(ptr_, host.data(), host.size() * 4);
    }
    // Fills with NaN so that an element the op fails to write shows up.
    void poison() {
        std::vector<float> nan(static_cast<size_t>(rows_ * cols_), std::nanf(""));
        gpu().upload(ptr_, nan.data(), nan.size() * 4);
    }
    std::vector<float> get() const {
        std::vector<float> host(static_cast<size_t>(rows_ * cols_));
        gpu().download(host.data(), ptr_, host.size() * 4);
        return host;
    }

private:
    float* ptr_ = nullptr;
    int64_t rows_, cols_;
};

// Expects finite output and nmse(gpu, cpu) <= bound; prints the value.
#define EXPECT_NMSE_LE(gpu_vec, cpu_vec, bound, what)                                             \
    do {                                                                                          \
        ASSERT_EQ((gpu_vec).size(), (cpu_vec).size());                                            \
        ASSERT_TRUE(::rf::gputest::all_finite(gpu_vec)) << (what) << ": non-finite output";       \
        const double rf_e_ = ::rf::gputest::nmse((gpu_vec).data(), (cpu_vec).data(), (cpu_vec).size()); \
        EXPECT_LE(rf_e_, (bound)) << (what);                                                      \
        ::testing::Test::RecordProperty(std::string(what), std::to_string(rf_e_));                                 \
    } while (0)

// A layer's K and V pools of random values, on the host (what the CPU attends over) and the same
// bytes on the device; host / dev view them.
struct KvPools {
    std::vector<uint8_t> k, v;  // host copies (what the CPU attends over)
    void* dk = nullptr;
    void* dv = nullptr;
    KvLayerView host, dev;
    KvPools(KvCodec codec, int n_blocks, int bs, int n_kv, int hd, uint32_t seed) {
        const size_t rows = static_cast<size_t>(n_blocks) * n_kv * bs;
        const size_t bytes = rows * kv_row_bytes(codec, hd);
        k.resize(bytes);
        v.resize(bytes);
        const auto fk = random_floats(rows * hd, seed), fv = random_floats(rows * hd, seed + 1);
        for (size_t i = 0; i < rows * hd; ++i) {
            if (codec == KvCodec::F32) {
                std::memcpy(k.data() + 4 * i, &fk[i], 4);
                std::memcpy(v.data() + 4 * i, &fv[i], 4);
            } else {
                const uint16_t hk = f32_to_f16(fk[i]), hv = f32_to_f16(fv[i]);
                std::memcpy(k.data() + 2 * i, &hk, 2);
                std::memcpy(v.data() + 2 * i, &hv, 2);
            }
        }
        dk = gpu().alloc(bytes);
        dv = gpu().alloc(bytes);
        gpu().upload(dk, k.data(), bytes);
        gpu().upload(dv, v.data(), bytes);
        host = {k.data(), v.data(), codec, bs, n_kv, hd};
        dev = {dk, dv, codec, bs, n_kv, hd};
    }
    ~KvPools() {
        gpu().release(dk);
        gpu().release(dv);
    }
};

// A simple step plan: one sequence of n_tokens new tokens after n_past cached ones, with a
// shuffled block table of enough blocks.
StepPlan make_plan(int n_tokens, int n_past, int block_size, int n_blocks_total, uint32_t seed,
                   int vocab = 1000);

}  // namespace rf::gputest
