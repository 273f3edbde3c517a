// Error reporting usable from .cu files. nvcc's front end cannot compile fmt's compile-time
// format checks, so .cu files never include core/error.h (fmt); they report through these
// out-of-line functions, which throw rf::Error like everything else.
#pragma once

#include <string>

#include "backend/gpu/vendor.cuh"

namespace rf::gpu {

[[noreturn]] void fail_message(const std::string& message);
// Throws "gpu: <what> failed: <error name> (<error string>) at file:line" unless err is success.
void check_gpu(cudaError_t err, const char* what, const char* file, int line);

}  // namespace rf::gpu

#define RF_GPU_CALL(call) ::rf::gpu::check_gpu((call), #call, __FILE__, __LINE__)
