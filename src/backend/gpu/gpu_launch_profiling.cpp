// The profiling selections of gpu_launch.h: kernels knocked out (RF_GPU_PROFILE_SKIP) or replaced by a
// stream of their weights (RF_GPU_PROFILE_STREAM), both chosen by kernel-name substrings.
#include "backend/gpu/gpu_launch.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <mutex>
#include <unordered_map>

namespace rf::gpu {

bool g_launch_skip_active = false;
bool g_launch_stream_active = false;

namespace {

// One entry of a selection: a kernel-name substring, and for knock-outs optionally "@N/P": only the
// launches of a step that are, among that step's launches of the same kernel, number N, N + P, ...
// (counted from 0), e.g. the first of the three launches per layer one kernel serves.
struct NameEntry {
    std::string substring;
    int period = 0;  // 0: every launch
    int phase = 0;
};

NameEntry parse_entry(const std::string& text, const char* what) {
    NameEntry e;
    const size_t at = text.rfind('@');
    if (at == std::string::npos) {
        e.substring = text;
        return e;
    }
    e.substring = text.substr(0, at);
    const std::string sel = text.substr(at + 1);  // "N/P"
    const size_t slash = sel.find('/');
    bool ok = slash != std::string::npos && slash > 0 && slash + 1 < sel.size();
    try {
        if (ok) {
            size_t used_n = 0, used_p = 0;
            e.phase = std::stoi(sel.substr(0, slash), &used_n);
            e.period = std::stoi(sel.substr(slash + 1), &used_p);
            ok = used_n == slash && used_p == sel.size() - slash - 1 && e.period > 0 && e.phase >= 0 && e.phase < e.period;
        }
    } catch (const std::exception&) {
        ok = false;
    }
    if (!ok)
        fail_message(std::string("gpu: ") + what + " entry '" + text +
                     "': after '@' expected N/P with 0 <= N < P (the launches N, N + P, ... of that kernel in a step)");
    return e;
}

// Kernels selected by name substrings (looked up once per kernel with cudaFuncGetName).
class KernelNameSet {
  public:
    // by_number: entries may select launches by their number ("@N/P"; the knock-out only)
    explicit KernelNameSet(bool by_number) : by_number_(by_number) {}

    // false if the list is the one already set
    bool set(const std::vector<std::string>& substrings, const char* what) {
        const std::lock_guard<std::mutex> lock(mu_);
        if (substrings == texts_) return false;
#if defined(ROCMFORGE_WITH_HIP)
        if (!substrings.empty())
            fail_message(std::string("gpu: ") + what +
                         " needs kernel names (cudaFuncGetName): CUDA builds only");
#endif
        std::vector<NameEntry> entries;
        for (const auto& t : substrings) {
            if (!by_number_ && t.find('@') != std::string::npos)
                fail_message(std::string("gpu: ") + what + " entry '" + t + "': selects kernels by name only (no '@')");
            entries.push_back(parse_entry(t, what));
        }
        texts_ = substrings;
        entries_ = std::move(entries);
        decided_.clear();
        return true;
    }
    // nth: the launch's number among its step's launches of this kernel (from 0)
    bool contains(const void* kernel, int64_t nth = 0) {
        const std::lock_guard<std::mutex> lock(mu_);
        if (entries_.empty()) return false;
        auto it = decided_.find(kernel);
        if (it == decided_.end()) it = decided_.emplace(kernel, matching(kernel)).first;
        return std::any_of(it->second.begin(), it->second.end(), [&](const NameEntry* e) {
            return e->period == 0 || nth % e->period == e->phase;
        });
    }

  private:
    std::vector<const NameEntry*> matching(const void* kernel) const {
        std::vector<const NameEntry*> hits;
#if !defined(ROCMFORGE_WITH_HIP)
        const char* name = nullptr;
        RF_GPU_CALL(cudaFuncGetName(&name, kernel));
        const std::string n = name ? name : "";
        for (const auto& e : entries_)
            if (n.find(e.substring) != std::string::npos) hits.push_back(&e);
#else
        (void)kernel;
#endif
        return hits;
    }

    const bool by_number_;
    std::mutex mu_;
    std::vector<std::string> texts_;
    std::vector<NameEntry> entries_;
    std::unordered_map<const void*, std::vector<const NameEntry*>> decided_;  // kernel -> entries naming it
};

KernelNameSet g_skip{true}, g_stream{false};
std::mutex g_shape_mu;
StreamLaunch g_stream_launch;

}  // namespace

void set_launch_skip(const std::vector<std::string>& substrings) {
    if (g_skip.set(substrings, "RF_GPU_PROFILE_SKIP")) g_launch_skip_active = !substrings.empty();
}

bool launch_skipped_slow(const void* kernel, int64_t nth) {
    return g_skip.contains(kernel, nth);
}

void set_launch_stream(const std::vector<std::string>& substrings, StreamShape shape, int n_sm) {
    if (g_stream.set(substrings, "RF_GPU_PROFILE_STREAM"))
        g_launch_stream_active = !substrings.empty();
    const std::lock_guard<std::mutex> lock(g_shape_mu);
    g_stream_launch = {shape, std::max(1, n_sm)};
}

StreamLaunch launch_stream_config() {
    const std::lock_guard<std::mutex> lock(g_shape_mu);
    return g_stream_launch;
}

bool launch_streamed_slow(const void* kernel) {
    return g_stream.contains(kernel);
}

}  // namespace rf::gpu
