// The plain data a forward step runs on, handed from the engine/scheduler to the model and the
// backend. No prefill/decode modes: each sequence contributes some tokens, with n_past tokens of
// it already in the KV cache.
#pragma once

#include <cstdint>
#include <vector>

namespace rf {

struct SeqStep {
    int32_t first_token = 0;  // index of this sequence's first token in the step
    int32_t n_tokens = 0;     // tokens of this sequence in the step (consecutive positions)
    int32_t n_past = 0;       // tokens of this sequence already in the KV cache before the step
    std::vector<int32_t> block_table;  // KV block ids covering positions [0, n_past + n_tokens)
    int32_t kv_seq = -1;      // the sequence's id in the KvCache (its recurrent state, if any)
};

struct StepPlan {
    std::vector<int32_t> tokens;     // [n_tokens] token ids
    std::vector<int32_t> positions;  // [n_tokens] position of each token in its sequence
    std::vector<int32_t> kv_slots;   // [n_tokens] block_id * block_size + offset for its K/V
    std::vector<int32_t> token_seq;  // [n_tokens] index into seqs
    std::vector<SeqStep> seqs;
    std::vector<int32_t> output_rows;  // token indices whose logits are wanted, in order
    // Token 0's id is the result of the backend's last argmax_async (GpuBackend), still on the
    // device: tokens[0] is a placeholder. Only a GPU backend takes such a plan.
    bool first_token_from_device = false;
    // Tokens whose ids are rows of the backend's last argmax_rows_async batch (GpuBackend), still on
    // the device: token t's id is that batch's row device_rows[t] (-1: tokens[t] as given). Empty:
    // none. Only a GPU backend takes such a plan (not together with first_token_from_device).
    std::vector<int32_t> device_rows{};
    // The output rows are the final RMS-normed hidden states [rows, n_embd] (embeddings) instead of
    // the logits.
    bool hidden_output = false;

    int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
    int32_t max_blocks_per_seq() const {
        size_t m = 0;
        for (const auto& s : seqs) m = s.block_table.size() > m ? s.block_table.size() : m;
        return static_cast<int32_t>(m);
    }
};

}  // namespace rf
