// The embedded default model (tiny-qwen3 q8_0) on the CPU, loaded once per test binary and context
// size, for the engine tests.
#pragma once

#include <map>
#include <memory>

#include "engine/loaded_model.h"

namespace rf::test {

inline LoadedModel& default_cpu_model(int32_t n_ctx) {
    static std::map<int32_t, std::unique_ptr<LoadedModel>> models;
    auto& m = models[n_ctx];
    if (!m) {
        LoadOptions o;
        o.backend.device = "cpu";
        o.backend.n_threads = 2;
        o.n_ctx = n_ctx;
        m = std::make_unique<LoadedModel>(o);
    }
    return *m;
}

}  // namespace rf::test
