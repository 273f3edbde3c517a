// Element-wise CPU ops: SwiGLU and residual add.
#include <cmath>

#include "backend/cpu/cpu_ops.h"
#include "core/error.h"

namespace rf::cpu {

void swiglu(ThreadPool& pool, Act gate, Act up, Act out) {
    RF_CHECK(gate.size() == up.size() && gate.size() == out.size(),
             "swiglu: shapes differ ({} / {} / {} values)", gate.size(), up.size(), out.size());
    pool.parallel_for(gate.size(), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float g = gate.data[i];
            out.data[i] = g / (1.0f + std::exp(-g)) * up.data[i];
        }
    }, 4096);
}

void add(ThreadPool& pool, Act a, Act b, Act out) {
    RF_CHECK(a.size() == b.size() && a.size() == out.size(), "add: shapes differ ({} / {} / {} values)",
             a.size(), b.size(), out.size());
    pool.parallel_for(a.size(), [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) out.data[i] = a.data[i] + b.data[i];
    }, 8192);
}

}  // namespace rf::cpu
