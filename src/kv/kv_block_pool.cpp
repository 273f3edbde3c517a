#include "kv/kv_block_pool.h"

#include "core/error.h"

namespace rf {

KvBlockPool::KvBlockPool(int32_t n_blocks) {
    RF_CHECK(n_blocks > 0, "kv: block pool needs at least one block (got {})", n_blocks);
    ref_.assign(static_cast<size_t>(n_blocks), 0);
    free_.reserve(static_cast<size_t>(n_blocks));
    for (int32_t b = n_blocks - 1; b >= 0; --b) free_.push_back(b);
}

void KvBlockPool::check(int32_t block) const {
    RF_CHECK(block >= 0 && block < n_blocks(), "kv: block id {} out of range [0, {})", block,
             n_blocks());
}

int32_t KvBlockPool::allocate() {
    if (free_.empty()) return -1;
    const int32_t b = free_.back();
    free_.pop_back();
    ref_[static_cast<size_t>(b)] = 1;
    return b;
}

void KvBlockPool::incref(int32_t block) {
    check(block);
    RF_CHECK(ref_[static_cast<size_t>(block)] > 0, "kv: incref of free block {}", block);
    ++ref_[static_cast<size_t>(block)];
}

void KvBlockPool::decref(int32_t block) {
    check(block);
    auto& r = ref_[static_cast<size_t>(block)];
    RF_CHECK(r > 0, "kv: decref of free block {}", block);
    if (--r == 0) free_.push_back(block);
}

int32_t KvBlockPool::ref_count(int32_t block) const {
    check(block);
    return ref_[static_cast<size_t>(block)];
}

}  // namespace rf
