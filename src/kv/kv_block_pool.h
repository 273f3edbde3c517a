// Reference-counted pool of KV block ids. A block id stands for block_size token positions in
// every layer. Blocks shared by several sequences (forks, prefix sharing) have ref count > 1
// and must be copied before one of them writes into it (copy-on-write, see KvCache).
// Only the KV manager allocates and frees; ops only read block ids from step plans.
#pragma once

#include <cstdint>
#include <vector>

namespace rf {

class KvBlockPool {
public:
    explicit KvBlockPool(int32_t n_blocks);

    int32_t n_blocks() const { return static_cast<int32_t>(ref_.size()); }
    int32_t n_free() const { return static_cast<int32_t>(free_.size()); }

    // A free block with ref count 1, or -1 when none is left.
    int32_t allocate();
    void incref(int32_t block);
    // Drops one reference; the block returns to the free list at zero.
    void decref(int32_t block);
    int32_t ref_count(int32_t block) const;

private:
    void check(int32_t block) const;

    std::vector<int32_t> ref_;
    std::vector<int32_t> free_;  // stack; low ids are handed out first
};

}  // namespace rf
