#include "backend/gpu/gpu_launch.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace rf::gpu {

bool g_launch_skip_active = false;

namespace {

std::mutex g_mu;
std::vector<std::string> g_substrings;
std::unordered_map<const void*, bool> g_decided;  // kernel -> skipped (names looked up once)

}  // namespace

void set_launch_skip(const std::vector<std::string>& substrings) {
    const std::lock_guard<std::mutex> lock(g_mu);
    if (substrings == g_substrings) return;
#if defined(ROCMFORGE_WITH_HIP)
    if (!substrings.empty()) fail_message("gpu: RF_GPU_PROFILE_SKIP needs kernel names (cudaFuncGetName): CUDA builds only");
#endif
    g_substrings = substrings;
    g_decided.clear();
    g_launch_skip_active = !g_substrings.empty();
}

bool launch_skipped_slow(const void* kernel) {
    const std::lock_guard<std::mutex> lock(g_mu);
    if (g_substrings.empty()) return false;
    if (const auto it = g_decided.find(kernel); it != g_decided.end()) return it->second;
    bool skip = false;
#if !defined(ROCMFORGE_WITH_HIP)
    const char* name = nullptr;
    RF_GPU_CALL(cudaFuncGetName(&name, kernel));
    const std::string n = name ? name : "";
    skip = std::any_of(g_substrings.begin(), g_substrings.end(),
                       [&](const std::string& s) { return n.find(s) != std::string::npos; });
#endif
    g_decided.emplace(kernel, skip);
    return skip;
}

}  // namespace rf::gpu
