// What the GPU benchmarks that launch kernels themselves share: the backend and a stream on its
// device, the device-to-device copy bandwidth, a kernel's median time per launch, and random weights.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "backend/gpu/gpu_backend.h"
#include "backend/gpu/gpu_check.h"
#include "gpu_bench_common.h"

namespace rf::bench {

inline std::vector<uint8_t> random_weight(TensorType t, int64_t rows, int64_t cols, uint64_t seed) {
    return random_weight(t, rows, cols, seed, -0.01f);
}

inline double copy_bandwidth_gbs(cudaStream_t stream) {
    const size_t bytes = size_t{1} << 30;
    void *a = nullptr, *b = nullptr;
    RF_GPU_CHECK(cudaMalloc(&a, bytes));
    RF_GPU_CHECK(cudaMalloc(&b, bytes));
    RF_GPU_CHECK(cudaMemsetAsync(a, 1, bytes, stream));
    cudaEvent_t e0, e1;
    RF_GPU_CHECK(cudaEventCreate(&e0));
    RF_GPU_CHECK(cudaEventCreate(&e1));
    RF_GPU_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream));
    RF_GPU_CHECK(cudaEventRecord(e0, stream));
    for (int i = 0; i < 10; ++i) RF_GPU_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream));
    RF_GPU_CHECK(cudaEventRecord(e1, stream));
    RF_GPU_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    RF_GPU_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    RF_GPU_CHECK(cudaFree(a));
    RF_GPU_CHECK(cudaFree(b));
    return 2.0 * bytes * 10 / (ms * 1e-3) / 1e9;  // read + write
}

// Microseconds per launch: 5 warm-up launches, then the median of 5 timed rounds of `reps`
// back-to-back launches (launch(i) picks the i-th rotating weight copy).
template <typename Launch>
double median_launch_us(cudaStream_t stream, cudaEvent_t e0, cudaEvent_t e1, int reps, const Launch& launch) {
    for (int i = 0; i < 5; ++i) launch(i);
    std::vector<float> times;
    for (int r = 0; r < 5; ++r) {
        RF_GPU_CHECK(cudaEventRecord(e0, stream));
        for (int i = 0; i < reps; ++i) launch(i);
        RF_GPU_CHECK(cudaEventRecord(e1, stream));
        RF_GPU_CHECK(cudaEventSynchronize(e1));
        float ms = 0;
        RF_GPU_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        times.push_back(ms * 1000.0f / static_cast<float>(reps));
    }
    std::sort(times.begin(), times.end());
    return static_cast<double>(times[times.size() / 2]);
}

// The backend (GPU lock, staged preflight, context) and a non-blocking stream on its device: what
// the benchmarks that launch kernels themselves run on.
struct BenchDevice {
    std::unique_ptr<GpuBackend> be = make_gpu_backend(GpuBackendOptions{});
    GpuDeviceInfo info = be->device_info();
    cudaStream_t stream = nullptr;
    BenchDevice() { RF_GPU_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)); }
    ~BenchDevice() {
        const cudaError_t e = cudaStreamDestroy(stream);
        if (e != cudaSuccess) std::fprintf(stderr, "gpu_bench: cudaStreamDestroy: %s\n", cudaGetErrorString(e));
    }
    BenchDevice(const BenchDevice&) = delete;
    BenchDevice& operator=(const BenchDevice&) = delete;
};

}  // namespace rf::bench
