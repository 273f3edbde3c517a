#include "backend/backend_factory.h"

#include <spdlog/spdlog.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/gpu/gpu_backend.h"
#include "core/error.h"

namespace rf {

std::unique_ptr<Backend> make_backend(const BackendChoice& choice) {
    if (choice.device == "cpu") return std::make_unique<CpuBackend>(choice.n_threads);
    // The GPU backend runs no CPU compute threads: -t is refused there rather than ignored.
    RF_CHECK(choice.device != "gpu" || choice.n_threads <= 0,
             "-t/--threads {} sets CPU compute threads; the GPU backend (--device gpu) has none (use --device cpu)",
             choice.n_threads);
    if (choice.device == "gpu") return make_gpu_backend(GpuBackendOptions{});
    RF_CHECK(choice.device == "auto", "--device '{}' is not one of auto, cpu, gpu", choice.device);
#if defined(ROCMFORGE_WITH_GPU)
    try {
        auto gpu = make_gpu_backend(GpuBackendOptions{});
        if (choice.n_threads > 0)
            spdlog::warn("-t/--threads {} is not used: the GPU was chosen (--device auto) and runs no CPU compute threads; "
                         "pass --device cpu to run on the CPU",
                         choice.n_threads);
        return gpu;
    } catch (const Error& e) {
        spdlog::warn("no usable GPU ({}); running on the CPU", e.what());
    }
#endif
    return std::make_unique<CpuBackend>(choice.n_threads);
}

}  // namespace rf
