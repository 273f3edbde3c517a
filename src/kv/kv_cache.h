// The KV manager: per-layer paged K/V storage (layout in kv_layout.h), the block pool, and one
// block table per sequence. It hands plain data (block tables, KV slots) to step plans; the
// backend ops read K/V only through those.
//
// Invariants: a sequence of length L owns ceil(L / block_size) blocks (more after reserve());
// a block with ref count > 1 is never written: reserve() copies a shared partially filled last
// block first (copy-on-write).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "kv/kv_block_pool.h"
#include "kv/kv_layout.h"

namespace rf {

class Backend;

// The largest context a sequence is given (2^24 tokens): block counts and positions stay int32.
inline constexpr int32_t kMaxContext = 1 << 24;

struct KvCacheConfig {
    int32_t n_blocks = 0;
    int32_t block_size = 16;
    KvCodec codec = KvCodec::F16;
};

// Shape of one layer's cache; n_kv_head == 0 for layers without KV (e.g. linear attention).
struct KvLayerShape {
    int32_t n_kv_head = 0;
    int32_t head_dim = 0;
};

class KvCache {
public:
    KvCache(Backend& backend, const KvCacheConfig& config, const std::vector<KvLayerShape>& layers);
    ~KvCache();
    KvCache(const KvCache&) = delete;
    KvCache& operator=(const KvCache&) = delete;

    // Bytes one block takes across all layers (K and V).
    static size_t bytes_per_block(const KvCacheConfig& config,
                                  const std::vector<KvLayerShape>& layers);

    const KvLayerView& layer(int il) const { return layers_.at(static_cast<size_t>(il)); }
    int32_t block_size() const { return config_.block_size; }
    const KvCacheConfig& config() const { return config_; }
    int32_t n_free_blocks() const { return pool_.n_free(); }
    const KvBlockPool& pool() const { return pool_; }

    int32_t create_sequence();
    // A new sequence sharing every block of `seq` (ref counts go up; nothing is copied).
    int32_t fork_sequence(int32_t seq);
    void free_sequence(int32_t seq);
    int32_t seq_length(int32_t seq) const;
    const std::vector<int32_t>& block_table(int32_t seq) const;

    // Makes room for n more tokens (allocating blocks, copying a shared last block). Returns
    // false and changes nothing when the pool has too few free blocks.
    bool reserve(int32_t seq, int32_t n);
    // Appends the KV slots of positions [length, length + n) to out (after reserve()).
    void append_slots(int32_t seq, int32_t n, std::vector<int32_t>& out) const;
    // length += n, after a step wrote those tokens' K/V.
    void commit(int32_t seq, int32_t n);
    // Drops tokens past new_length (and the blocks no longer needed). A sequence with recurrent state
    // can only be truncated to 0 (the state is zeroed): a recurrent state cannot drop tokens
    // (Session::truncate feeds the kept tokens again instead).
    void truncate(int32_t seq, int32_t new_length);

    // The recurrent state of layer il of a sequence (a linear-attention layer: its convolution window
    // and its state matrices): n_floats floats of backend memory, zero before the sequence's first
    // token, allocated on first use; the same n_floats at every call for a layer. Freed with the
    // sequence, copied by fork_sequence.
    float* recurrent_state(int32_t seq, int il, size_t n_floats);
    bool has_recurrent_state(int32_t seq) const { return !seq_ref(seq).states.empty(); }

private:
    struct State {
        void* data = nullptr;
        size_t n_floats = 0;
    };
    struct Sequence {
        std::vector<int32_t> blocks;
        int32_t length = 0;
        std::map<int, State> states;  // recurrent state per layer
    };
    Sequence& seq_ref(int32_t seq);
    const Sequence& seq_ref(int32_t seq) const;
    void copy_block(int32_t dst, int32_t src);

    Backend& backend_;
    KvCacheConfig config_;
    KvBlockPool pool_;
    std::vector<KvLayerView> layers_;
    std::vector<std::optional<Sequence>> seqs_;
};

}  // namespace rf
