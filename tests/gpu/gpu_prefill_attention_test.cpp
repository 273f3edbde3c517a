// Flash attention for prefill against the CPU attention: head dims 64/128/256, GQA 1/4/7, f16
// and f32 KV codecs, chunks of 1..512 tokens appended to caches of 0..700 positions (odd
// lengths, tiles that end inside a KV block and inside a query tile), several sequences in one
// step with query tiles straddling their boundaries, and the device table's own choice.
#include <gtest/gtest.h>

#include <numeric>

#include "backend/gpu/gpu_dispatch_table.h"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

bool flash_device() { return gpu::dispatch_table_for(gpu().device_info().arch).flash_attention; }

// Forces the flash kernel for every step (1 token per sequence and up).
struct ForceFlash {
    ForceFlash() {
        gpu::DispatchTable t = gpu::dispatch_table_for(gpu().device_info().arch);
        t.flash_min_tokens_per_seq = 1;
        gpu::set_dispatch_override(&t);
    }
    ~ForceFlash() { gpu::set_dispatch_override(nullptr); }
};

// NMSE bound: q and the probabilities are rounded to f16 on the matrix units (f32 KV to f16 too).
constexpr double kBound = 2e-5;

void check(const StepPlan& plan, int n_head, int n_kv, int hd, KvCodec codec, int n_blocks, uint32_t seed,
           const std::string& what, int block_size = 16) {
    KvPools kv(codec, n_blocks, block_size, n_kv, hd, seed);
    const int T = plan.n_tokens();
    const int64_t width = static_cast<int64_t>(n_head) * hd;
    // queries scaled so that the softmax is neither flat nor one-hot
    const auto q = random_floats(static_cast<size_t>(T) * width, seed + 7, 1.5f);
    DeviceActs dq(q, T, width), dout(T, width);
    dout.poison();
    AttentionParams p;
    p.n_head = n_head;
    p.n_kv_head = n_kv;
    p.head_dim = hd;
    p.scale = 1.0f / std::sqrt(static_cast<float>(hd));
    gpu().begin_step(plan);
    gpu().attention(dq.act(), kv.dev, p, dout.act());
    std::vector<float> ref(q.size());
    cpu::attention(pool(), {const_cast<float*>(q.data()), T, width}, kv.host, plan, p, {ref.data(), T, width});
    EXPECT_NMSE_LE(dout.get(), ref, kBound, what);
}

// Sequences (n_tokens, n_past) in one step, tokens in sequence order, shuffled block ids.
StepPlan multi_plan(const std::vector<std::pair<int, int>>& seqs, int n_blocks_total, uint32_t seed) {
    std::vector<int32_t> ids(static_cast<size_t>(n_blocks_total));
    std::iota(ids.begin(), ids.end(), 0);
    std::mt19937 rng(seed);
    std::shuffle(ids.begin(), ids.end(), rng);
    StepPlan plan;
    size_t next_block = 0;
    for (const auto& [n_tok, n_past] : seqs) {
        SeqStep s;
        s.first_token = plan.n_tokens();
        s.n_tokens = n_tok;
        s.n_past = n_past;
        const int blocks = (n_past + n_tok + 15) / 16;
        s.block_table.assign(ids.begin() + static_cast<ptrdiff_t>(next_block), ids.begin() + static_cast<ptrdiff_t>(next_block + blocks));
        next_block += static_cast<size_t>(blocks);
        for (int i = 0; i < n_tok; ++i) {
            const int pos = n_past + i;
            plan.tokens.push_back(1);
            plan.positions.push_back(pos);
            plan.kv_slots.push_back(s.block_table[static_cast<size_t>(pos / 16)] * 16 + pos % 16);
            plan.token_seq.push_back(static_cast<int32_t>(plan.seqs.size()));
        }
        plan.seqs.push_back(s);
        plan.output_rows.push_back(plan.n_tokens() - 1);
    }
    return plan;
}

TEST(GpuPrefillAttention, ChunksAppendedToCachesEveryHeadDimAndGroup) {
    if (!flash_device()) GTEST_SKIP() << "no flash-attention kernel on this device (decode kernel covers it)";
    ForceFlash force;
    uint32_t seed = 1;
    for (int hd : {64, 128, 256})
        for (int group : {1, 4, 7})
            for (auto [n_tok, n_past] : {std::pair{1, 0}, {2, 13}, {3, 0}, {7, 100}, {16, 16}, {33, 0}, {100, 700}, {512, 0}, {512, 37}}) {
                if (hd == 256 && group == 7 && n_tok == 512) continue;  // keep the run short
                const int n_kv = 2, n_head = n_kv * group;
                const int n_blocks = (n_past + n_tok + 15) / 16 + 4;
                const StepPlan plan = make_plan(n_tok, n_past, 16, n_blocks, ++seed);
                check(plan, n_head, n_kv, hd, KvCodec::F16, n_blocks, ++seed,
                      "flash hd " + std::to_string(hd) + " gqa " + std::to_string(group) + " tokens " + std::to_string(n_tok) +
                          " after " + std::to_string(n_past));
            }
}

TEST(GpuPrefillAttention, F32CodecAndOddLengths) {
    if (!flash_device()) GTEST_SKIP() << "no flash-attention kernel on this device";
    ForceFlash force;
    uint32_t seed = 300;
    for (KvCodec codec : {KvCodec::F32, KvCodec::F16})
        for (auto [n_tok, n_past] : {std::pair{65, 0}, {127, 1}, {129, 63}, {191, 255}}) {
            const int n_blocks = (n_past + n_tok + 15) / 16 + 3;
            const StepPlan plan = make_plan(n_tok, n_past, 16, n_blocks, ++seed);
            check(plan, 12, 4, 128, codec, n_blocks, ++seed,
                  std::string("flash ") + kv_codec_name(codec) + " tokens " + std::to_string(n_tok) + " after " +
                      std::to_string(n_past));
        }
}

// KV blocks of 24 positions (not a power of two: the block-table lookup divides).
TEST(GpuPrefillAttention, BlockSizeNotAPowerOfTwo) {
    if (!flash_device()) GTEST_SKIP() << "no flash-attention kernel on this device";
    ForceFlash force;
    const int n_tok = 150, n_past = 77, bs = 24, n_blocks = (n_past + n_tok + bs - 1) / bs + 2;
    const StepPlan plan = make_plan(n_tok, n_past, bs, n_blocks, 41);
    check(plan, 8, 2, 128, KvCodec::F16, n_blocks, 43, "flash block size 24", bs);
}

TEST(GpuPrefillAttention, SeveralSequencesInOneStep) {
    if (!flash_device()) GTEST_SKIP() << "no flash-attention kernel on this device";
    ForceFlash force;
    // query tiles of 64 rows straddle the boundaries (37 | 100 | 1 | 90 | 3)
    const StepPlan plan = multi_plan({{37, 50}, {100, 0}, {1, 300}, {90, 17}, {3, 600}}, 200, 5);
    check(plan, 8, 2, 128, KvCodec::F16, 200, 9, "five sequences, hd 128");
    check(plan, 14, 2, 64, KvCodec::F32, 200, 11, "five sequences, hd 64 f32");
}

// The device's own table (flash for >= flash_min_tokens_per_seq per sequence, decode kernel
// below) at the harness's token counts.
TEST(GpuPrefillAttention, DefaultDispatch) {
    uint32_t seed = 700;
    for (int n_tok : {1, 2, 3, 7, 16, 33, 512}) {
        const int n_blocks = (40 + n_tok + 15) / 16 + 2;
        const StepPlan plan = make_plan(n_tok, 40, 16, n_blocks, ++seed);
        check(plan, 28, 4, 128, KvCodec::F16, n_blocks, ++seed, "default tokens " + std::to_string(n_tok));
    }
}

}  // namespace
}  // namespace rf::gputest
