#include "backend/gpu/gpu_errors.h"

#include "core/error.h"

namespace rf::gpu {

void fail_message(const std::string& message) { throw Error(message); }

void check_gpu(cudaError_t err, const char* what, const char* file, int line) {
    if (err == cudaSuccess) return;
    fail("gpu: {} failed: {} ({}) at {}:{}", what, cudaGetErrorName(err), cudaGetErrorString(err), file, line);
}

}  // namespace rf::gpu
