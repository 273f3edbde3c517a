// Building a multi-sequence step: each sequence's tokens appended to a StepPlan with their
// positions (after what the KV cache holds of the sequence), KV slots and block table. The
// server's scheduler and the batched bench build their steps with it.
#pragma once

#include <cstdint>
#include <span>

#include "backend/step_plan.h"
#include "kv/kv_cache.h"

namespace rf {

// Appends `tokens` of KV sequence `seq` (positions from kv.seq_length(seq) on) to `plan`; with
// `output` the last of them becomes an output row. The caller has reserved their room
// (KvCache::reserve) and commits them after the step (KvCache::commit).
void append_to_step(StepPlan& plan, const KvCache& kv, int32_t seq, std::span<const int32_t> tokens, bool output);

}  // namespace rf
