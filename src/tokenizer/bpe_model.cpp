#include "tokenizer/bpe_model.h"

#include <algorithm>
#include <functional>

#include "core/error.h"
#include "tokenizer/byte_level.h"

namespace rf {

void BpeModel::MergeTable::reserve(size_t n) {
    size_t capacity = 16;
    int bits = 4;
    while (capacity < 2 * n) {
        capacity *= 2;
        ++bits;
    }
    keys_.assign(capacity, kEmpty);
    rules_.assign(capacity, MergeRule{0, 0});
    mask_ = capacity - 1;
    shift_ = 64 - bits;
}

bool BpeModel::MergeTable::insert(int32_t left, int32_t right, MergeRule rule) {
    const uint64_t k = key(left, right);
    for (size_t s = slot(k);; s = (s + 1) & mask_) {
        if (keys_[s] == k) return false;
        if (keys_[s] == kEmpty) {
            keys_[s] = k;
            rules_[s] = rule;
            return true;
        }
    }
}

const BpeModel::MergeRule* BpeModel::MergeTable::find(int32_t left, int32_t right) const {
    const uint64_t k = key(left, right);
    for (size_t s = slot(k);; s = (s + 1) & mask_) {
        if (keys_[s] == k) return &rules_[s];
        if (keys_[s] == kEmpty) return nullptr;
    }
}

BpeModel::BpeModel(const Vocab& vocab, const TokenIndex& index, bool ignore_merges)
    : index_(index), unknown_token_id_(vocab.unknown_token_id), ignore_merges_(ignore_merges) {
    RF_CHECK(!vocab.merges.empty(), "tokenizer: vocab has no merges (tokenizer.ggml.merges)");
    merges_.reserve(vocab.merges.size());
    std::string joined;
    for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
        const std::string& merge = vocab.merges[rank];
        // As llama.cpp: the separator is the first space after the first byte.
        const size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
        RF_CHECK(space != std::string::npos && space + 1 < merge.size(),
                 "tokenizer: merge {} '{}' is not of the form 'left right' (tokenizer.ggml.merges)",
                 rank, printable_bytes(merge));
        const std::string_view left(merge.data(), space);
        const std::string_view right(merge.data() + space + 1, merge.size() - space - 1);
        joined.assign(left);
        joined.append(right);
        const auto l = index.find(left);
        const auto r = index.find(right);
        const auto j = index.find(joined);
        if (l == index.end() || r == index.end() || j == index.end()) continue;
        merges_.insert(l->second, r->second, MergeRule{static_cast<int32_t>(rank), j->second});
    }
    for (int b = 0; b < 256; ++b) {
        const auto it = index.find(byte_level::byte_to_utf8(static_cast<uint8_t>(b)));
        byte_tokens_[b] = it != index.end() ? it->second : -1;
    }
}

int32_t BpeModel::byte_token(uint8_t b) const {
    const int32_t id = byte_tokens_[b];
    if (id >= 0) return id;
    if (unknown_token_id_ >= 0) return unknown_token_id_;
    fail("tokenizer: byte 0x{:02X} has no byte-level token and the vocab has no unknown token", b);
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
    if (piece.empty()) return;
    if (piece.size() == 1) {
        out.push_back(byte_token(static_cast<uint8_t>(piece[0])));
        return;
    }
    const bool cacheable = piece.size() <= kMaxCachedPieceBytes;
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mutex_);
        const auto it = cache_.find(piece);
        if (it != cache_.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const size_t first = out.size();
    if (ignore_merges_) {
        const auto it = index_.find(byte_level::encode(piece));
        if (it != index_.end()) out.push_back(it->second);
    }
    if (out.size() == first) merge(piece, out);
    if (cacheable) {
        std::lock_guard<std::mutex> lock(cache_mutex_);
        if (cache_.size() >= kMaxCacheEntries) cache_.clear();
        cache_.emplace(
            std::string(piece),
            std::vector<int32_t>(out.begin() + static_cast<ptrdiff_t>(first), out.end()));
    }
}

void BpeModel::merge(std::string_view piece, std::vector<int32_t>& out) const {
    struct Symbol {
        int32_t id;    // token id; -1 once merged into its left neighbour
        int32_t prev;  // index of the previous live symbol, -1 at the start
        int32_t next;  // index of the next live symbol, -1 at the end
    };
    // A candidate merge is (rank << 32 | left symbol index): the smallest value is the
    // highest-priority merge, leftmost among equal ranks. Ranks are unique per (left, right)
    // pair, so a popped candidate is still valid exactly when the pair now at `left` has the
    // same rank; otherwise it is stale and skipped.
    thread_local std::vector<Symbol> symbols;
    thread_local std::vector<uint64_t> heap;
    symbols.clear();
    heap.clear();
    const auto later = std::greater<uint64_t>();  // std heap functions build max-heaps

    const auto n = static_cast<int32_t>(piece.size());
    for (int32_t i = 0; i < n; ++i) {
        symbols.push_back(
            {byte_token(static_cast<uint8_t>(piece[i])), i - 1, i + 1 < n ? i + 1 : -1});
    }
    // The rule merging symbol `left` with its right neighbour, if any.
    auto rule_at = [&](int32_t left) -> const MergeRule* {
        if (left < 0 || symbols[left].id < 0) return nullptr;
        const int32_t right = symbols[left].next;
        return right < 0 ? nullptr : merges_.find(symbols[left].id, symbols[right].id);
    };
    auto candidate = [](const MergeRule* rule, int32_t left) {
        return (uint64_t(uint32_t(rule->rank)) << 32) | uint32_t(left);
    };
    for (int32_t i = 0; i + 1 < n; ++i) {
        if (const MergeRule* rule = rule_at(i)) heap.push_back(candidate(rule, i));
    }
    std::make_heap(heap.begin(), heap.end(), later);
    auto push = [&](int32_t left) {
        if (const MergeRule* rule = rule_at(left)) {
            heap.push_back(candidate(rule, left));
            std::push_heap(heap.begin(), heap.end(), later);
        }
    };

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const uint64_t c = heap.back();
        heap.pop_back();
        const auto left_index = static_cast<int32_t>(uint32_t(c));
        const MergeRule* rule = rule_at(left_index);
        if (rule == nullptr || uint32_t(rule->rank) != uint32_t(c >> 32)) continue;  // stale
        Symbol& left = symbols[left_index];
        Symbol& right = symbols[left.next];
        left.id = rule->result;
        right.id = -1;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = left_index;
        push(left.prev);
        push(left_index);
    }
    for (int32_t i = 0; i >= 0 && i < n; i = symbols[i].next) out.push_back(symbols[i].id);
    // Keep the per-thread scratch small after a huge piece.
    constexpr size_t kKeepEntries = size_t{1} << 16;
    if (symbols.capacity() > kKeepEntries) std::vector<Symbol>().swap(symbols);
    if (heap.capacity() > kKeepEntries) std::vector<uint64_t>().swap(heap);
}

}  // namespace rf
