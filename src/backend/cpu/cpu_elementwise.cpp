// Element-wise CPU ops: SwiGLU and residual add (VecOps; swiglu's exp is the polynomial one).
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
#include "core/error.h"

namespace rf::cpu {

void swiglu(ThreadPool& pool, Act gate, Act up, Act out) {
    RF_CHECK(gate.size() == up.size() && gate.size() == out.size(),
             "swiglu: shapes differ ({} / {} / {} values)", gate.size(), up.size(), out.size());
    const VecOps& v = vec_ops();
    pool.parallel_for(
        gate.size(),
        [&](int64_t begin, int64_t end) {
            v.swiglu(gate.data + begin, up.data + begin, out.data + begin, end - begin);
        },
        8192);
}

void add(ThreadPool& pool, Act a, Act b, Act out) {
    RF_CHECK(a.size() == b.size() && a.size() == out.size(),
             "add: shapes differ ({} / {} / {} values)", a.size(), b.size(), out.size());
    const VecOps& v = vec_ops();
    pool.parallel_for(
        a.size(),
        [&](int64_t begin, int64_t end) {
            v.add(a.data + begin, b.data + begin, out.data + begin, end - begin);
        },
        32768);
}

}  // namespace rf::cpu
