// Finished requests' KV sequences kept for their tokens (automatic prefix caching, as vLLM's, at
// token granularity): a new request whose prompt starts with a kept sequence's tokens forks that
// sequence (its KV blocks are shared, reference-counted, copied on write) truncated to the common
// prefix, and only the rest of its prompt is computed. Multi-turn chats and shared system
// prompts skip most of their prefill.
//
// Kept sequences are evictable: the scheduler reserves KV blocks as if nothing were cached and
// evicts the least recently used entries when a step cannot get its blocks. Models with a recurrent
// state (linear-attention layers) take whole entries only (`whole_entries`): a state cannot be cut
// back to a prefix, but a prompt that extends a kept sequence — the next turn of a chat: the last
// prompt, the reply, then the new turn — forks it whole, state included. Used from the scheduler's
// thread only.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kv/kv_cache.h"

namespace rf::server {

struct PrefixCacheStats {
    int32_t entries = 0;
    int64_t lookups = 0;
    int64_t hits = 0;
    int64_t reused_tokens = 0;  // prompt tokens taken from kept sequences instead of computed
    int64_t evictions = 0;
};

class PrefixCache {
public:
    // max_entries: kept sequences at most (0: the cache is off); whole_entries: hits only where a kept
    // sequence's tokens are all a prefix of the prompt (no truncation: models with a recurrent state).
    PrefixCache(KvCache& kv, int32_t max_entries, bool whole_entries = false);
    ~PrefixCache();  // frees every kept sequence
    PrefixCache(const PrefixCache&) = delete;
    PrefixCache& operator=(const PrefixCache&) = delete;

    struct Hit {
        int32_t seq = -1;   // a new sequence holding the first n_tokens of the prompt (-1: no hit)
        int32_t n_tokens = 0;
    };
    // The longest kept prefix of `prompt`, at most prompt.size() - 1 tokens (the last prompt token
    // is always computed: its logits pick the first generated token); with whole_entries the longest
    // kept sequence that is such a prefix whole.
    Hit take(std::span<const int32_t> prompt);
    // Keeps `seq` (its KV holds `tokens`); the cache owns it from now on. A kept sequence whose
    // tokens are a prefix of these is dropped; these are dropped when a kept one extends them.
    void put(int32_t seq, std::vector<int32_t> tokens);
    // Frees the least recently used kept sequence; false when none is kept.
    bool evict_one();
    void clear();
    const PrefixCacheStats& stats() const { return stats_; }
    int32_t max_entries() const { return max_entries_; }

private:
    struct Entry {
        int32_t seq;
        std::vector<int32_t> tokens;
        int64_t last_use;
    };
    KvCache& kv_;
    int32_t max_entries_;
    bool whole_entries_;
    std::vector<Entry> entries_;
    int64_t clock_ = 0;
    PrefixCacheStats stats_;
};

}  // namespace rf::server
