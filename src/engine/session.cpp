#include "engine/session.h"

#include <algorithm>
#include <functional>

#include "core/error.h"

namespace rf {

Session::Session(Model& model, KvCache& kv, int32_t n_ctx)
    : model_(model), kv_(kv), seq_(kv.create_sequence()), n_ctx_(n_ctx) {}

Session::~Session() { kv_.free_sequence(seq_); }

void Session::check_feed(std::span<const int32_t> tokens, int32_t n_batch) {
    RF_CHECK(!unresolved_, "session: a device-held token is still unresolved");
    RF_CHECK(n_batch > 0, "session: batch size must be positive (got {})", n_batch);
    const int64_t total = static_cast<int64_t>(tokens_.size()) + static_cast<int64_t>(tokens.size());
    RF_CHECK(total <= n_ctx_, "the prompt and history need {} tokens, more than the context size {} (--ctx-size)",
             total, n_ctx_);
    const int32_t n_vocab = model_.n_vocab();
    for (int32_t id : tokens)
        RF_CHECK(id >= 0 && id < n_vocab, "session: token id {} out of range [0, {})", id, n_vocab);
    if (tokens.empty()) return;
    RF_CHECK(kv_.reserve(seq_, static_cast<int32_t>(tokens.size())),
             "KV cache full: {} more tokens need {} blocks, {} free", tokens.size(),
             (tokens.size() + static_cast<size_t>(kv_.block_size()) - 1) / static_cast<size_t>(kv_.block_size()),
             kv_.n_free_blocks());
}

void Session::feed_chunks(std::span<const int32_t> tokens, int32_t n_batch, bool hidden,
                          const std::function<float*(size_t begin, size_t n, bool last_chunk)>& outputs) {
    plan_.hidden_output = hidden;
    try {
        for (size_t begin = 0; begin < tokens.size(); begin += static_cast<size_t>(n_batch)) {
            const size_t n = std::min(tokens.size() - begin, static_cast<size_t>(n_batch));
            const int32_t n_past = static_cast<int32_t>(tokens_.size());
            plan_.tokens.assign(tokens.begin() + static_cast<ptrdiff_t>(begin),
                                tokens.begin() + static_cast<ptrdiff_t>(begin + n));
            place_step(n_past, static_cast<int32_t>(n));
            plan_.output_rows.clear();
            float* dst = outputs(begin, n, begin + n == tokens.size());
            model_.forward(plan_, kv_, dst);
            kv_.commit(seq_, static_cast<int32_t>(n));
            tokens_.insert(tokens_.end(), plan_.tokens.begin(), plan_.tokens.end());
        }
    } catch (...) {
        plan_.hidden_output = false;
        throw;
    }
    plan_.hidden_output = false;
}

void Session::feed(std::span<const int32_t> tokens, int32_t n_batch, std::vector<float>* last_logits,
                   std::vector<float>* all_logits) {
    check_feed(tokens, n_batch);
    const int32_t n_vocab = model_.n_vocab();
    if (all_logits) all_logits->resize(tokens.size() * static_cast<size_t>(n_vocab));
    if (tokens.empty()) return;
    std::vector<float> chunk_logits;
    feed_chunks(tokens, n_batch, /*hidden=*/false, [&](size_t begin, size_t n, bool last_chunk) -> float* {
        if (all_logits) {
            for (size_t i = 0; i < n; ++i) plan_.output_rows.push_back(static_cast<int32_t>(i));
        } else if (last_chunk && (last_logits || want_device_logits_)) {
            plan_.output_rows.push_back(static_cast<int32_t>(n - 1));
        }
        // Host logits only where asked for: with want_device_logits alone the row stays in
        // backend memory (a GPU download here would sync the step and copy n_vocab floats to
        // pageable memory every token: ~150 us per decode step on the H100, docs/results.md).
        if (all_logits) return all_logits->data() + begin * static_cast<size_t>(n_vocab);
        if (last_chunk && last_logits) {
            chunk_logits.resize(static_cast<size_t>(n_vocab));
            return chunk_logits.data();
        }
        return nullptr;
    });
    if (want_device_logits_ && !all_logits && !last_logits) device_logits_ = model_.workspace().get(0, 1, n_vocab).data;
    if (last_logits) {
        if (all_logits) {
            last_logits->assign(all_logits->end() - n_vocab, all_logits->end());
        } else {
            *last_logits = std::move(chunk_logits);
        }
    }
}

const float* Session::feed_rows_in_backend(std::span<const int32_t> tokens, int32_t n_batch) {
    RF_CHECK(!tokens.empty() && static_cast<int64_t>(tokens.size()) <= n_batch,
             "session: {} tokens for one step of at most {}", tokens.size(), n_batch);
    check_feed(tokens, n_batch);
    feed_chunks(tokens, n_batch, /*hidden=*/false, [&](size_t, size_t n, bool) -> float* {
        for (size_t i = 0; i < n; ++i) plan_.output_rows.push_back(static_cast<int32_t>(i));
        return nullptr;
    });
    return model_.workspace().get(0, static_cast<int64_t>(tokens.size()), model_.n_vocab()).data;
}

void Session::feed_hidden(std::span<const int32_t> tokens, int32_t n_batch, bool all_rows, std::vector<float>& rows) {
    check_feed(tokens, n_batch);
    const size_t n_embd = static_cast<size_t>(model_.config().n_embd);
    rows.assign(tokens.empty() ? 0 : (all_rows ? tokens.size() : 1) * n_embd, 0.0f);
    if (tokens.empty()) return;
    feed_chunks(tokens, n_batch, /*hidden=*/true, [&](size_t begin, size_t n, bool last_chunk) -> float* {
        if (all_rows) {
            for (size_t i = 0; i < n; ++i) plan_.output_rows.push_back(static_cast<int32_t>(i));
            return rows.data() + begin * n_embd;
        }
        if (!last_chunk) return nullptr;
        plan_.output_rows.push_back(static_cast<int32_t>(n - 1));
        return rows.data();
    });
}

void Session::place_step(int32_t n_past, int32_t n) {
    plan_.positions.resize(static_cast<size_t>(n));
    plan_.token_seq.assign(static_cast<size_t>(n), 0);
    for (int32_t i = 0; i < n; ++i) plan_.positions[static_cast<size_t>(i)] = n_past + i;
    plan_.kv_slots.clear();
    kv_.append_slots(seq_, n, plan_.kv_slots);
    plan_.seqs.assign(1, SeqStep{0, n, n_past, kv_.block_table(seq_), seq_});
}

void Session::feed_device_token() {
    RF_CHECK(!unresolved_, "session: a device-held token is still unresolved");
    RF_CHECK(length() + 1 <= n_ctx_, "the prompt and history need {} tokens, more than the context size {} (--ctx-size)",
             length() + 1, n_ctx_);
    RF_CHECK(kv_.reserve(seq_, 1), "KV cache full: 1 more token needs a block, {} free", kv_.n_free_blocks());
    plan_.tokens.assign(1, 0);  // placeholder: the backend copies the id in on the device
    plan_.first_token_from_device = true;
    place_step(length(), 1);
    plan_.output_rows.assign(1, 0);
    try {
        model_.forward(plan_, kv_, nullptr);
    } catch (...) {
        plan_.first_token_from_device = false;
        throw;
    }
    plan_.first_token_from_device = false;
    device_logits_ = model_.workspace().get(0, 1, model_.n_vocab()).data;
    kv_.commit(seq_, 1);
    tokens_.push_back(-1);
    unresolved_ = true;
}

void Session::resolve_device_token(int32_t id) {
    RF_CHECK(unresolved_, "session: no device-held token to resolve");
    RF_CHECK(id >= 0 && id < model_.n_vocab(), "session: token id {} out of range [0, {})", id, model_.n_vocab());
    tokens_.back() = id;
    unresolved_ = false;
}

void Session::truncate(int32_t n) {
    RF_CHECK(n >= 0 && n <= length(), "session: truncate to {} tokens (length {})", n, length());
    if (unresolved_ && n < length()) unresolved_ = false;
    if (n < length() && n > 0 && kv_.has_recurrent_state(seq_)) {
        // A recurrent state (linear-attention layers) cannot drop tokens: start over and feed the kept ones.
        std::vector<int32_t> kept(tokens_.begin(), tokens_.begin() + n);
        RF_CHECK(std::find(kept.begin(), kept.end(), -1) == kept.end(), "session: truncate keeps an unresolved token");
        kv_.truncate(seq_, 0);
        tokens_.clear();
        feed(kept, 512, nullptr);
        return;
    }
    kv_.truncate(seq_, n);
    tokens_.resize(static_cast<size_t>(n));
}

}  // namespace rf
