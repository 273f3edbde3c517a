#include "kv/step_builder.h"

namespace rf {

void append_to_step(StepPlan& plan, const KvCache& kv, int32_t seq, std::span<const int32_t> tokens, bool output) {
    const int32_t n = static_cast<int32_t>(tokens.size());
    if (n == 0) return;
    const int32_t n_past = kv.seq_length(seq);
    const int32_t first = plan.n_tokens();
    const int32_t index = static_cast<int32_t>(plan.seqs.size());
    for (int32_t i = 0; i < n; ++i) {
        plan.tokens.push_back(tokens[static_cast<size_t>(i)]);
        plan.positions.push_back(n_past + i);
        plan.token_seq.push_back(index);
    }
    kv.append_slots(seq, n, plan.kv_slots);
    plan.seqs.push_back(SeqStep{first, n, n_past, kv.block_table(seq), seq});
    if (output) plan.output_rows.push_back(first + n - 1);
}

}  // namespace rf
