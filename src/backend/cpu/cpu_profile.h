// Optional per-op timing of the CPU backend (off by default; `rocmforge bench --profile`):
// calls, wall seconds and bytes of weights / KV each op kind read, to find where a step's time
// goes when perf is not available.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace rf {

struct OpStats {
    int64_t calls = 0;
    double seconds = 0;
    double bytes = 0;  // weight / KV bytes read (0 when not meaningful)
};

class OpProfiler {
  public:
    void set_enabled(bool on) { enabled_ = on; }
    bool enabled() const { return enabled_; }
    void reset() { stats_.clear(); }
    const std::map<std::string, OpStats>& stats() const { return stats_; }

    // Times the enclosing scope when enabled.
    class Scope {
      public:
        Scope(OpProfiler* p, std::string key, double bytes)
            : p_(p), key_(std::move(key)), bytes_(bytes) {
            if (p_) t0_ = std::chrono::steady_clock::now();
        }
        ~Scope() {
            if (!p_) return;
            OpStats& s = p_->stats_[key_];
            ++s.calls;
            s.seconds +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
            s.bytes += bytes_;
        }
        Scope(const Scope&) = delete;
        Scope& operator=(const Scope&) = delete;

      private:
        OpProfiler* p_;
        std::string key_;
        double bytes_;
        std::chrono::steady_clock::time_point t0_;
    };

  private:
    bool enabled_ = false;
    std::map<std::string, OpStats> stats_;
};

}  // namespace rf
