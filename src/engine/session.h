// One sequence of a model in a KV cache: its tokens so far, and feeding more tokens through the
// model (in batches of n_batch, i.e. chunked prefill) with logits for the last or every token.
// The CLI's run/chat/logits/perplexity commands and the benchmarks use it; the server's
// scheduler builds multi-sequence steps from the same pieces.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "kv/kv_cache.h"
#include "model/model.h"

namespace rf {

class Session {
public:
    // n_ctx: the most tokens this sequence may hold (prompt + generated).
    Session(Model& model, KvCache& kv, int32_t n_ctx);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    const std::vector<int32_t>& tokens() const { return tokens_; }
    Model& model() { return model_; }
    int32_t n_ctx() const { return n_ctx_; }
    int32_t length() const { return static_cast<int32_t>(tokens_.size()); }

    // Runs `tokens` through the model, n_batch at a time. last_logits (if not null) receives the
    // logits of the final token [n_vocab]; all_logits (if not null) those of every fed token
    // [n, n_vocab]. Throws rf::Error (and changes nothing) when the tokens do not fit n_ctx or
    // the KV cache.
    void feed(std::span<const int32_t> tokens, int32_t n_batch, std::vector<float>* last_logits,
              std::vector<float>* all_logits = nullptr);
    // Runs `tokens` through the model for their final RMS-normed hidden states (embeddings): rows
    // receives every fed token's [n, n_embd] (all_rows) or the last one's [n_embd]. Same checks as feed().
    void feed_hidden(std::span<const int32_t> tokens, int32_t n_batch, bool all_rows, std::vector<float>& rows);
    // Feeds tokens as one step (at most n_batch of them) and leaves every fed token's logits in backend
    // memory: [n, n_vocab] from the returned pointer, valid until the next feed (a GPU's drafted step:
    // its rows' argmax taken there, not copied to the host). Same checks as feed().
    const float* feed_rows_in_backend(std::span<const int32_t> tokens, int32_t n_batch);
    // Decode pipelining on a GPU backend: feeds one token whose id is still on the device (the
    // backend's last argmax_async), keeping the logits there (as with want_device_logits); its
    // id is recorded by resolve_device_token() once the host has it. At most one unresolved.
    void feed_device_token();
    void resolve_device_token(int32_t id);
    bool has_unresolved_token() const { return unresolved_; }

    // Forgets tokens past n (the KV of the kept prefix stays valid).
    void truncate(int32_t n);

    // The last fed token's logits [n_vocab] in backend memory, after a feed() that asked for no
    // host logits (last_logits == nullptr, all_logits == nullptr, want_device_logits == true).
    const float* device_logits() const { return device_logits_; }
    void set_want_device_logits(bool on) { want_device_logits_ = on; }

private:
    // Throws (changing nothing) when tokens do not fit n_ctx, the vocabulary or the KV cache; reserves
    // their KV blocks.
    void check_feed(std::span<const int32_t> tokens, int32_t n_batch);
    // Runs tokens n_batch at a time; outputs(begin, n, last_chunk) sets the chunk's plan_.output_rows
    // and returns where their rows go on the host (null: nowhere).
    void feed_chunks(std::span<const int32_t> tokens, int32_t n_batch, bool hidden,
                     const std::function<float*(size_t begin, size_t n, bool last_chunk)>& outputs);
    // The plan's positions, sequence indices, KV slots and block table for n tokens after n_past
    // (after kv_.reserve); tokens and output rows are the caller's.
    void place_step(int32_t n_past, int32_t n);

    Model& model_;
    KvCache& kv_;
    int32_t seq_;
    int32_t n_ctx_;
    std::vector<int32_t> tokens_;
    StepPlan plan_;
    bool want_device_logits_ = false;
    bool unresolved_ = false;  // tokens_.back() is a placeholder for a device-held id
    const float* device_logits_ = nullptr;
};

}  // namespace rf
