// The device the GPU backend runs on: selection, properties, the real-hardware implementation of
// the staged preflight (gpu_host/preflight.h), and memory information.
#pragma once

#include <string>

#include "backend/gpu/gpu_backend.h"
#include "backend/gpu/vendor.cuh"
#include "backend/gpu_host/preflight.h"

namespace rf::gpu {

// Preflight stages with real runtime calls on device `device`.
class RuntimePreflightDevice final : public PreflightDevice {
public:
    explicit RuntimePreflightDevice(int device) : device_(device) {}
    std::string device_present() override;
    std::string runtime_sees_device() override;
    std::string memory_round_trip() override;
    std::string trivial_kernel() override;

private:
    int device_;
};

// Properties and current free/total memory of `device` (the runtime must already use it).
GpuDeviceInfo query_device_info(int device);

// Runs the preflight kernel: out[i] = a * i + b for i < n, and out[n] = the device warp size.
// Defined in gpu_preflight_kernel.cu.
cudaError_t launch_preflight_kernel(int* out, int n, int a, int b);

}  // namespace rf::gpu
