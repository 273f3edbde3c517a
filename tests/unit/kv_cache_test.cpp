#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "kv/kv_block_pool.h"
#include "kv/kv_cache.h"

namespace rf {
namespace {

TEST(KvBlockPool, AllocatesAndRecycles) {
    KvBlockPool pool(3);
    EXPECT_EQ(pool.n_free(), 3);
    const int32_t a = pool.allocate(), b = pool.allocate(), c = pool.allocate();
    EXPECT_EQ(pool.allocate(), -1);
    EXPECT_NE(a, b);
    EXPECT_NE(b, c);
    pool.incref(b);
    pool.decref(b);
    EXPECT_EQ(pool.n_free(), 0);
    pool.decref(b);
    EXPECT_EQ(pool.n_free(), 1);
    EXPECT_EQ(pool.allocate(), b);
    EXPECT_THROW(pool.decref(99), Error);
    pool.decref(a);
    EXPECT_THROW(pool.decref(a), Error);  // already free
}

class KvCacheTest : public ::testing::Test {
protected:
    CpuBackend backend{1};
    KvCacheConfig config{8, 4, KvCodec::F32};
    std::vector<KvLayerShape> layers{{2, 8}, {0, 0}, {1, 8}};
};

TEST_F(KvCacheTest, ReservesBlocksAndSlots) {
    KvCache kv(backend, config, layers);
    EXPECT_EQ(kv.layer(1).k, nullptr);  // a layer without KV gets no storage
    const int32_t s = kv.create_sequence();
    ASSERT_TRUE(kv.reserve(s, 6));
    EXPECT_EQ(kv.block_table(s).size(), 2u);
    std::vector<int32_t> slots;
    kv.append_slots(s, 6, slots);
    ASSERT_EQ(slots.size(), 6u);
    const int32_t b0 = kv.block_table(s)[0], b1 = kv.block_table(s)[1];
    EXPECT_EQ(slots[0], b0 * 4);
    EXPECT_EQ(slots[3], b0 * 4 + 3);
    EXPECT_EQ(slots[4], b1 * 4);
    kv.commit(s, 6);
    EXPECT_EQ(kv.seq_length(s), 6);
    EXPECT_EQ(kv.n_free_blocks(), 6);
    // Not enough blocks: nothing changes.
    EXPECT_FALSE(kv.reserve(s, 100));
    EXPECT_EQ(kv.block_table(s).size(), 2u);
    kv.truncate(s, 3);
    EXPECT_EQ(kv.block_table(s).size(), 1u);
    EXPECT_EQ(kv.n_free_blocks(), 7);
    kv.free_sequence(s);
    EXPECT_EQ(kv.n_free_blocks(), 8);
    EXPECT_THROW(kv.seq_length(s), Error);
}

TEST_F(KvCacheTest, ForkSharesBlocksAndCopiesOnWrite) {
    KvCache kv(backend, config, layers);
    const int32_t a = kv.create_sequence();
    ASSERT_TRUE(kv.reserve(a, 6));
    kv.commit(a, 6);
    // Mark the K data of block 1 of sequence a in layer 0.
    const KvLayerView& L = kv.layer(0);
    const int32_t shared_block = kv.block_table(a)[1];
    float* k = static_cast<float*>(L.k);
    k[L.row_index(shared_block, 1, 0) * 8 + 3] = 42.0f;

    const int32_t b = kv.fork_sequence(a);
    EXPECT_EQ(kv.block_table(b), kv.block_table(a));
    EXPECT_EQ(kv.pool().ref_count(shared_block), 2);
    EXPECT_EQ(kv.n_free_blocks(), 6);

    // Appending to b writes into the partially filled shared block: b gets a copy.
    ASSERT_TRUE(kv.reserve(b, 1));
    const int32_t copied = kv.block_table(b)[1];
    EXPECT_NE(copied, shared_block);
    EXPECT_EQ(kv.block_table(b)[0], kv.block_table(a)[0]);  // full block stays shared
    EXPECT_EQ(kv.pool().ref_count(shared_block), 1);
    EXPECT_EQ(k[L.row_index(copied, 1, 0) * 8 + 3], 42.0f);
    std::vector<int32_t> slots;
    kv.append_slots(b, 1, slots);
    EXPECT_EQ(slots[0], copied * 4 + 2);

    kv.free_sequence(a);
    kv.free_sequence(b);
    EXPECT_EQ(kv.n_free_blocks(), 8);
}

TEST_F(KvCacheTest, BytesPerBlock) {
    // 2 heads x 4 slots x 8 dims x 4 bytes x (K + V) + 1 head x ...
    EXPECT_EQ(KvCache::bytes_per_block(config, layers), 2u * (2 * 4 * 32 + 1 * 4 * 32));
}

}  // namespace
}  // namespace rf

namespace rf {
namespace {

TEST(KvCacheRecurrentState, ZeroAtFirstUseOwnedPerSequenceAndNotRolledBack) {
    CpuBackend be(1);
    KvCache kv(be, {8, 16, KvCodec::F32}, {KvLayerShape{}, KvLayerShape{2, 64}});
    const int32_t a = kv.create_sequence();
    EXPECT_FALSE(kv.has_recurrent_state(a));
    float* s = kv.recurrent_state(a, 0, 10);
    EXPECT_TRUE(kv.has_recurrent_state(a));
    for (int i = 0; i < 10; ++i) EXPECT_EQ(s[i], 0.0f);
    EXPECT_EQ(kv.recurrent_state(a, 0, 10), s);      // the same buffer at every step
    EXPECT_THROW(kv.recurrent_state(a, 0, 11), Error);  // a layer's size does not change
    for (int i = 0; i < 10; ++i) s[i] = static_cast<float>(i + 1);
    // a fork gets its own copy
    ASSERT_TRUE(kv.reserve(a, 5));
    kv.commit(a, 5);
    const int32_t b = kv.fork_sequence(a);
    float* sb = kv.recurrent_state(b, 0, 10);
    EXPECT_NE(sb, s);
    EXPECT_EQ(sb[9], 10.0f);
    sb[0] = -1.0f;
    EXPECT_EQ(s[0], 1.0f);
    // tokens cannot be dropped from a recurrent state, only all of them (zeroed)
    EXPECT_THROW(kv.truncate(a, 3), Error);
    EXPECT_EQ(kv.seq_length(a), 5);
    kv.truncate(a, 5);  // (no change)
    kv.truncate(a, 0);
    EXPECT_EQ(kv.seq_length(a), 0);
    for (int i = 0; i < 10; ++i) EXPECT_EQ(s[i], 0.0f);
    kv.free_sequence(a);
    kv.free_sequence(b);
}

}  // namespace
}  // namespace rf
