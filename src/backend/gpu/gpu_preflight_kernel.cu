// The preflight's trivial kernel: proves that code for this device is in the binary, that a
// launch runs, and that the device's warp size matches the one the kernels were compiled for.
#include "backend/gpu/gpu_common.cuh"

namespace rf::gpu {

cudaError_t launch_preflight_kernel(int* out, int n, int a, int b);

namespace {

__global__ void preflight_kernel(int* out, int n, int a, int b) {
    RF_PDL_ENTRY();
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = a * i + b;
    if (i == 0) out[n] = RF_WARP_SIZE;
}

}  // namespace

cudaError_t launch_preflight_kernel(int* out, int n, int a, int b) {
    preflight_kernel<<<(n + 255) / 256, 256>>>(out, n, a, b);
    return cudaGetLastError();
}

}  // namespace rf::gpu
