// Byte-level BPE ("gpt2" vocabularies): turns one pre-tokenized piece of raw bytes into token
// ids by applying merges in rank order.
//
// Symbols are token ids, not strings: each input byte starts as the token of its byte-level
// character, and a merge (left id, right id) -> (rank, result id) replaces two neighbours by
// one. The loop keeps a doubly linked list of symbols and a min-heap of candidate merges keyed
// by (rank, left position), the rule Hugging Face and llama.cpp use; stale heap entries are
// skipped when popped. Each merge pushes at most two candidates, so a piece of n bytes costs
// O(n log n) — a 1 MB word without spaces is fine.
//
// Results are cached per piece (pieces up to kMaxCachedPieceBytes), since natural text repeats
// its words; the cache is cleared when it reaches kMaxCacheEntries. encode_piece is thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace rf {

class BpeModel {
  public:
    static constexpr size_t kMaxCachedPieceBytes = 256;
    static constexpr size_t kMaxCacheEntries = size_t{1} << 16;

    // Reads the merges; throws rf::Error for a vocab without merges or a malformed merge.
    // Merges whose parts or result are not tokens can never apply and are skipped.
    // `ignore_merges`: a piece whose byte-level text is a token is emitted
    // whole (llama3 tokenizers).
    BpeModel(const Vocab& vocab, const TokenIndex& index, bool ignore_merges);

    // Appends the ids of `piece` (raw bytes) to `out`.
    void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  private:
    struct MergeRule {
        int32_t rank;
        int32_t result;
    };

    // Open-addressing hash map (left id, right id) -> MergeRule; linear probing.
    class MergeTable {
      public:
        void reserve(size_t n);
        // Keeps the first rule for a pair (the higher priority one).
        bool insert(int32_t left, int32_t right, MergeRule rule);
        const MergeRule* find(int32_t left, int32_t right) const;

      private:
        static uint64_t key(int32_t left, int32_t right) {
            return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
        }
        size_t slot(uint64_t k) const { return size_t((k * 0x9E3779B97F4A7C15ull) >> shift_); }
        static constexpr uint64_t kEmpty = ~uint64_t{0};
        std::vector<uint64_t> keys_;
        std::vector<MergeRule> rules_;
        size_t mask_ = 0;
        int shift_ = 64;
    };

    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    int32_t byte_token(uint8_t b) const;
    void merge(std::string_view piece, std::vector<int32_t>& out) const;

    const TokenIndex& index_;
    MergeTable merges_;
    std::array<int32_t, 256>
        byte_tokens_{};  // raw byte -> id of its byte-level character, -1 if none
    int32_t unknown_token_id_ = -1;
    bool ignore_merges_ = false;

    mutable std::mutex cache_mutex_;
    mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>>
        cache_;
};

}  // namespace rf
