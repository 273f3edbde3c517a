#include "backend/gpu/gpu_device.h"

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "backend/gpu/gpu_check.h"
#include "backend/gpu/gpu_common.cuh"

namespace rf::gpu {
namespace {

std::string error_text(const char* what, cudaError_t err) {
    return fmt::format("{}: {} ({})", what, cudaGetErrorName(err), cudaGetErrorString(err));
}

// Frees a device pointer on scope exit (preflight only; the backend tracks its own memory).
struct DeviceBuffer {
    void* p = nullptr;
    ~DeviceBuffer() {
        if (p) (void)cudaFree(p);
    }
};

}  // namespace

std::string RuntimePreflightDevice::device_present() {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) return error_text("cudaGetDeviceCount", err);
    if (count <= 0) return "the driver reports no GPU";
    if (device_ < 0 || device_ >= count)
        return fmt::format("device {} requested, the driver reports {} device(s)", device_, count);
    return {};
}

std::string RuntimePreflightDevice::runtime_sees_device() {
    cudaError_t err = cudaSetDevice(device_);
    if (err != cudaSuccess) return error_text("cudaSetDevice", err);
    cudaDeviceProp prop{};
    err = cudaGetDeviceProperties(&prop, device_);
    if (err != cudaSuccess) return error_text("cudaGetDeviceProperties", err);
    if (prop.totalGlobalMem == 0) return fmt::format("device {} ('{}') reports no memory", device_, prop.name);
    size_t free_b = 0, total_b = 0;
    err = cudaMemGetInfo(&free_b, &total_b);
    if (err != cudaSuccess) return error_text("cudaMemGetInfo", err);
    return {};
}

std::string RuntimePreflightDevice::memory_round_trip() {
    constexpr size_t kWords = 1 << 18;  // 1 MiB
    std::vector<uint32_t> pattern(kWords), back(kWords, 0);
    for (size_t i = 0; i < kWords; ++i) pattern[i] = static_cast<uint32_t>(i * 2654435761u) ^ 0xA5A5A5A5u;
    DeviceBuffer a, b;
    cudaError_t err = cudaMalloc(&a.p, kWords * 4);
    if (err != cudaSuccess) return error_text("cudaMalloc (1 MiB)", err);
    err = cudaMalloc(&b.p, kWords * 4);
    if (err != cudaSuccess) return error_text("cudaMalloc (1 MiB)", err);
    err = cudaMemcpy(a.p, pattern.data(), kWords * 4, cudaMemcpyHostToDevice);
    if (err != cudaSuccess) return error_text("cudaMemcpy host to device", err);
    err = cudaMemcpy(b.p, a.p, kWords * 4, cudaMemcpyDeviceToDevice);
    if (err != cudaSuccess) return error_text("cudaMemcpy device to device", err);
    err = cudaMemcpy(back.data(), b.p, kWords * 4, cudaMemcpyDeviceToHost);
    if (err != cudaSuccess) return error_text("cudaMemcpy device to host", err);
    for (size_t i = 0; i < kWords; ++i)
        if (back[i] != pattern[i])
            return fmt::format("word {} came back as {:#010x}, {:#010x} was written", i, back[i], pattern[i]);
    return {};
}

std::string RuntimePreflightDevice::trivial_kernel() {
    constexpr int n = 1000, a = 7, b = -3;
    DeviceBuffer out;
    cudaError_t err = cudaMalloc(&out.p, (n + 1) * sizeof(int));
    if (err != cudaSuccess) return error_text("cudaMalloc", err);
    err = cudaMemset(out.p, 0xff, (n + 1) * sizeof(int));
    if (err != cudaSuccess) return error_text("cudaMemset", err);
    err = launch_preflight_kernel(static_cast<int*>(out.p), n, a, b);
    if (err != cudaSuccess)
        return error_text("launching the preflight kernel (is this binary built for this GPU's architecture?)", err);
    err = cudaDeviceSynchronize();
    if (err != cudaSuccess) return error_text("running the preflight kernel", err);
    std::vector<int> host(n + 1);
    err = cudaMemcpy(host.data(), out.p, (n + 1) * sizeof(int), cudaMemcpyDeviceToHost);
    if (err != cudaSuccess) return error_text("cudaMemcpy device to host", err);
    for (int i = 0; i < n; ++i)
        if (host[static_cast<size_t>(i)] != a * i + b)
            return fmt::format("element {} is {}, expected {}", i, host[static_cast<size_t>(i)], a * i + b);
    int warp = 0;
    err = cudaDeviceGetAttribute(&warp, cudaDevAttrWarpSize, device_);
    if (err != cudaSuccess) return error_text("cudaDeviceGetAttribute(warp size)", err);
    if (host[n] != warp)
        return fmt::format("kernels were compiled for a warp of {} lanes, the device runs {}", host[n], warp);
    return {};
}

GpuDeviceInfo query_device_info(int device) {
    cudaDeviceProp prop{};
    RF_GPU_CHECK(cudaGetDeviceProperties(&prop, device));
    GpuDeviceInfo info;
    info.name = prop.name;
#if defined(ROCMFORGE_WITH_HIP)
    info.arch = prop.gcnArchName;
#else
    info.arch = fmt::format("sm_{}{}", prop.major, prop.minor);
#endif
    info.multiprocessors = prop.multiProcessorCount;
    info.warp_size = prop.warpSize;
    int timeout = 0;
    RF_GPU_CHECK(cudaDeviceGetAttribute(&timeout, cudaDevAttrKernelExecTimeout, device));
    info.drives_display = timeout != 0;
    int mem_clock_khz = 0, bus_bits = 0;
    if (cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) == cudaSuccess)
        info.mem_bandwidth_gbs = 2.0 * mem_clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    RF_GPU_CHECK(cudaMemGetInfo(&free_b, &total_b));
    info.free_bytes = free_b;
    info.total_bytes = total_b;
    return info;
}

}  // namespace rf::gpu
