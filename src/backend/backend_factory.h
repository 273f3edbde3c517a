// Chooses and creates the backend for --device cpu|gpu|auto. auto: the GPU when this build has
// a GPU backend and a usable device (lock, preflight), else the CPU (with a warning saying why).
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"

namespace rf {

struct BackendChoice {
    std::string device = "auto";  // auto | cpu | gpu
    int n_threads = 0;            // CPU threads (0: all cores)
};

std::unique_ptr<Backend> make_backend(const BackendChoice& choice);

}  // namespace rf
