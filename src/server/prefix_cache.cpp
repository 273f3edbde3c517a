#include "server/prefix_cache.h"

#include <algorithm>

namespace rf::server {
namespace {

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
    const size_t n = std::min(a.size(), b.size());
    size_t i = 0;
    while (i < n && a[i] == b[i]) ++i;
    return i;
}

}  // namespace

PrefixCache::PrefixCache(KvCache& kv, int32_t max_entries, bool whole_entries)
    : kv_(kv), max_entries_(std::max(max_entries, 0)), whole_entries_(whole_entries) {}

PrefixCache::~PrefixCache() { clear(); }

PrefixCache::Hit PrefixCache::take(std::span<const int32_t> prompt) {
    Hit hit;
    if (entries_.empty() || prompt.size() < 2) return hit;
    ++stats_.lookups;
    Entry* best = nullptr;
    size_t best_n = 0;
    for (Entry& e : entries_) {
        size_t n = std::min(common_prefix(e.tokens, prompt), prompt.size() - 1);
        if (whole_entries_ && n != e.tokens.size()) n = 0;  // (a recurrent state: all of it or nothing)
        if (n > best_n) {
            best_n = n;
            best = &e;
        }
    }
    if (best == nullptr) return hit;
    best->last_use = ++clock_;
    hit.seq = kv_.fork_sequence(best->seq);
    hit.n_tokens = static_cast<int32_t>(best_n);
    if (best_n < best->tokens.size()) kv_.truncate(hit.seq, hit.n_tokens);
    ++stats_.hits;
    stats_.reused_tokens += hit.n_tokens;
    return hit;
}

void PrefixCache::put(int32_t seq, std::vector<int32_t> tokens) {
    if (max_entries_ == 0 || tokens.empty()) {
        kv_.free_sequence(seq);
        return;
    }
    for (Entry& e : entries_) {
        if (common_prefix(e.tokens, tokens) == tokens.size()) {  // a kept one already holds all of these
            e.last_use = ++clock_;
            kv_.free_sequence(seq);
            return;
        }
    }
    std::erase_if(entries_, [&](const Entry& e) {
        const bool subsumed = common_prefix(e.tokens, tokens) == e.tokens.size();
        if (subsumed) kv_.free_sequence(e.seq);
        return subsumed;
    });
    while (static_cast<int32_t>(entries_.size()) >= max_entries_) evict_one();
    entries_.push_back(Entry{seq, std::move(tokens), ++clock_});
    stats_.entries = static_cast<int32_t>(entries_.size());
}

bool PrefixCache::evict_one() {
    if (entries_.empty()) return false;
    auto lru = std::min_element(entries_.begin(), entries_.end(),
                                [](const Entry& a, const Entry& b) { return a.last_use < b.last_use; });
    kv_.free_sequence(lru->seq);
    entries_.erase(lru);
    ++stats_.evictions;
    stats_.entries = static_cast<int32_t>(entries_.size());
    return true;
}

void PrefixCache::clear() {
    for (const Entry& e : entries_) kv_.free_sequence(e.seq);
    entries_.clear();
    stats_.entries = 0;
}

}  // namespace rf::server
