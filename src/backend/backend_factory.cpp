#include "backend/backend_factory.h"

#include <spdlog/spdlog.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/gpu/gpu_backend.h"
#include "core/error.h"

namespace rf {

std::unique_ptr<Backend> make_backend(const BackendChoice& choice) {
    if (choice.device == "cpu") return std::make_unique<CpuBackend>(choice.n_threads);
    if (choice.device == "gpu") return make_gpu_backend(GpuBackendOptions{});
    RF_CHECK(choice.device == "auto", "--device '{}' is not one of auto, cpu, gpu", choice.device);
#if defined(ROCMFORGE_WITH_GPU)
    try {
        return make_gpu_backend(GpuBackendOptions{});
    } catch (const Error& e) {
        spdlog::warn("no usable GPU ({}); running on the CPU", e.what());
    }
#endif
    return std::make_unique<CpuBackend>(choice.n_threads);
}

}  // namespace rf
