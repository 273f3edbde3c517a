// Scalar reference versions of the CPU ops: the textbook formulas in plain loops (double sums
// where they matter), kept to test the vectorised ops against. Same contracts as cpu_ops.h.
#pragma once

#include "backend/cpu/cpu_ops.h"

namespace rf::cpu::ref {

void rms_norm(Act x, const float* w, float eps, Act out);
void swiglu(Act gate, Act up, Act out);
void add(Act a, Act b, Act out);
void rope(Act x, const int32_t* positions, int n_heads, int head_dim, const RopeParams& p);
// Two passes per (token, head): scores and max, then softmax-weighted sum of V rows.
void attention(Act q, const KvLayerView& layer, const StepPlan& plan, const AttentionParams& p,
               Act out);

}  // namespace rf::cpu::ref
