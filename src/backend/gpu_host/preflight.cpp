#include "backend/gpu_host/preflight.h"

#include <exception>
#include <functional>
#include <utility>

#include "core/error.h"

namespace rf {

PreflightReport run_preflight(PreflightDevice& device) {
    const std::pair<const char*, std::function<std::string()>> stages[] = {
        {"device present", [&] { return device.device_present(); }},
        {"runtime sees device", [&] { return device.runtime_sees_device(); }},
        {"memory round trip", [&] { return device.memory_round_trip(); }},
        {"trivial kernel", [&] { return device.trivial_kernel(); }},
    };
    PreflightReport report;
    for (const auto& [name, stage] : stages) {
        std::string problem;
        try {
            problem = stage();
        } catch (const std::exception& e) {
            problem = e.what();
        }
        if (!problem.empty()) fail("gpu preflight failed at stage '{}': {}", name, problem);
        report.passed.emplace_back(name);
    }
    return report;
}

}  // namespace rf
