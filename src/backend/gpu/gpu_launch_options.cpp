#include "backend/gpu/gpu_launch.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

namespace rf::gpu {

bool g_launch_skip_active = false;
bool g_launch_carveout_active = false;

namespace {

std::mutex g_mu;
std::vector<std::string> g_substrings;
std::unordered_map<const void*, bool> g_decided;  // kernel -> skipped (names looked up once)
int g_carveout = -1;                                 // cudaSharedmemCarveoutDefault
std::unordered_map<const void*, int> g_applied;      // kernel -> carveout last set on it

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

void set_launch_carveout(int percent) {
    const std::lock_guard<std::mutex> lock(g_mu);
    g_carveout = percent;
    // kernels that were given another value get the new one (or the default back) at their next launch
    g_launch_carveout_active = percent >= 0 || !g_applied.empty();
}

void apply_launch_carveout(const void* kernel) {
    const std::lock_guard<std::mutex> lock(g_mu);
    const auto it = g_applied.find(kernel);
    const int have = it == g_applied.end() ? -1 : it->second;
    if (have == g_carveout) return;
    RF_GPU_CALL(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, g_carveout));
    if (g_carveout < 0) g_applied.erase(kernel);
    else g_applied[kernel] = g_carveout;
}

}  // namespace rf::gpu
