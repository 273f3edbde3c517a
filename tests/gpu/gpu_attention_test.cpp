// Attention over the paged KV cache against the CPU: head dims 64/128/256, GQA ratios 1/4/7
// (and 12, more than one q-head group per KV head), contexts that cross KV block boundaries and
// split-K chunk boundaries, decode and multi-token steps, two sequences in one step; at 4096+
// positions the chunks on the matrix units and on the FMA kernel (RF_GPU_ATTN_MMA=off); more than 16
// chunks per head merged by the wide combine and by the one-group one.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "backend/gpu/gpu_dispatch_table.h"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

// The tests of the matrix-unit decode kernel skip where the device table has none (AMD, NVIDIA before sm_80).
#define SKIP_WITHOUT_MMA_DECODE()                                                  \
    if (!gpu::dispatch_table_for(gpu().device_info().arch).decode_attention_mma) \
    GTEST_SKIP() << "no matrix-unit decode kernel on " << gpu().device_info().arch

// The GPU's split-K decode attention over a random KV cache (seed) for random q (seed + 7), the output
// poisoned first. This file tests the split-K decode kernel, on multi-token steps too; steps that the
// device table sends to flash attention have their own tests (gpu_prefill_attention_test.cpp).
std::vector<float> gpu_attention(const StepPlan& plan, const AttentionParams& p, const KvPools& kv,
                                 const std::vector<float>& q) {
    const int T = plan.n_tokens();
    DeviceActs dq(q, T, static_cast<int64_t>(p.n_head) * p.head_dim), dout(T, static_cast<int64_t>(p.n_head) * p.head_dim);
    dout.poison();
    gpu::DispatchTable decode_only = gpu::dispatch_table_for(gpu().device_info().arch);
    decode_only.flash_attention = false;
    gpu::set_dispatch_override(&decode_only);
    gpu().begin_step(plan);
    gpu().attention(dq.act(), kv.dev, p, dout.act());
    std::vector<float> got = dout.get();
    gpu::set_dispatch_override(nullptr);
    return got;
}

AttentionParams attention_params(int n_head, int n_kv, int hd) {
    return {n_head, n_kv, hd, 1.0f / std::sqrt(static_cast<float>(hd))};
}

std::vector<float> random_q(const StepPlan& plan, int n_head, int hd, uint32_t seed) {
    return random_floats(static_cast<size_t>(plan.n_tokens()) * n_head * hd, seed + 7);
}

// got_out (optional): the GPU output, checked against the CPU within decode_attention_bound.
// block_size: positions per KV block (the plan's).
void check_attention(const StepPlan& plan, int n_head, int n_kv, int hd, KvCodec codec, int n_blocks, uint32_t seed,
                     const std::string& what, std::vector<float>* got_out = nullptr, int block_size = 16) {
    const KvPools kv(codec, n_blocks, block_size, n_kv, hd, seed);
    const auto q = random_q(plan, n_head, hd, seed);
    const AttentionParams p = attention_params(n_head, n_kv, hd);
    const std::vector<float> got = gpu_attention(plan, p, kv, q);
    const int T = plan.n_tokens();
    std::vector<float> ref(q.size());
    cpu::attention(pool(), {const_cast<float*>(q.data()), T, static_cast<int64_t>(n_head) * hd}, kv.host, plan, p,
                   {ref.data(), T, static_cast<int64_t>(n_head) * hd});
    if (got_out != nullptr) *got_out = got;
    int max_ctx = 0;
    for (int32_t pos : plan.positions) max_ctx = std::max(max_ctx, pos + 1);
    EXPECT_NMSE_LE(got, ref, decode_attention_bound(max_ctx, hd, codec), what);
}

// One long-context case of the tests below: n_kv = 2 KV heads of `group` q heads each (head dim hd, f16
// KV), a step of n_tok tokens after n_past positions, its plan and KV seed drawn from seed, and its
// description (extra: the switches the case sets, see env_note).
struct LongCase {
    int hd, n_kv, n_head, n_blocks, block_size;
    StepPlan plan;
    uint32_t kv_seed;
    std::string what;

    // check_attention of the case (label: the path it takes)
    void check(const std::string& label, std::vector<float>* got) const {
        check_attention(plan, n_head, n_kv, hd, KvCodec::F16, n_blocks, kv_seed, label + " " + what, got, block_size);
    }
    // the GPU output alone (no CPU reference)
    std::vector<float> gpu_out() const {
        const KvPools kv(KvCodec::F16, n_blocks, block_size, n_kv, hd, kv_seed);
        return gpu_attention(plan, attention_params(n_head, n_kv, hd), kv, random_q(plan, n_head, hd, kv_seed));
    }
};
LongCase long_case(int hd, int group, int n_past, int n_tok, uint32_t& seed, const std::string& extra, int block_size = 16) {
    LongCase c;
    c.hd = hd;
    c.n_kv = 2;
    c.n_head = c.n_kv * group;
    c.block_size = block_size;
    c.n_blocks = (n_past + n_tok + block_size - 1) / block_size + 8;
    c.plan = make_plan(n_tok, n_past, block_size, c.n_blocks, ++seed);
    c.kv_seed = ++seed;
    c.what = "hd " + std::to_string(hd) + " gqa " + std::to_string(group) + " ctx " + std::to_string(n_past + n_tok) +
             " tokens " + std::to_string(n_tok) + (block_size != 16 ? " block size " + std::to_string(block_size) : "") + extra;
    return c;
}

// " name value" where a case sets a switch to value, else nothing (the cases' descriptions)
std::string env_note(const char* name, const char* value) {
    return value != nullptr ? std::string(" ") + name + " " + value : std::string();
}

// Both decode kernels: the matrix units (the default where the device has them) and FMA.
TEST(GpuAttention, DecodeAcrossBlockAndSplitBoundaries) {
    uint32_t seed = 1;
    for (const char* mma : {"default", "off"})
    for (int hd : {64, 128, 256})
        for (int group : {1, 4, 7})
            for (int n_past : {0, 15, 16, 17, 127, 128, 129, 255, 1000, 4097}) {
                if (hd == 256 && n_past > 1000) continue;
                const int n_kv = 2, n_head = n_kv * group;
                const int n_blocks = (n_past + 1 + 15) / 16 + 8;
                StepPlan plan = make_plan(1, n_past, 16, n_blocks, ++seed);
                if (std::string(mma) == "off") ::setenv("RF_GPU_ATTN_MMA", "off", 1);
                check_attention(plan, n_head, n_kv, hd, KvCodec::F16, n_blocks, ++seed,
                                std::string("mma ") + mma + " decode hd " + std::to_string(hd) + " gqa " +
                                    std::to_string(group) + " ctx " + std::to_string(n_past + 1));
                ::unsetenv("RF_GPU_ATTN_MMA");
            }
}

// The two score layouts of the FMA decode kernel (short chunks: several threads per position;
// longer ones: one thread per position) on the same contexts, chosen through the fewest positions
// per split (RF_GPU_ATTN_MIN_CHUNK): every head dim in both, partial and whole tiles, one split (no
// combine kernel) included.
TEST(GpuAttention, DecodeChunkSizesAndScoreLayouts) {
    uint32_t seed = 500;
    ::setenv("RF_GPU_ATTN_MMA", "off", 1);
    for (const char* min_chunk : {"64", "128", "256", "100000"}) {
        ::setenv("RF_GPU_ATTN_MIN_CHUNK", min_chunk, 1);
        for (int hd : {64, 128, 256})
            for (int n_past : {30, 200, 700}) {
                const int n_kv = 2, n_head = 14;
                const int n_blocks = (n_past + 1 + 15) / 16 + 8;
                StepPlan plan = make_plan(1, n_past, 16, n_blocks, ++seed);
                check_attention(plan, n_head, n_kv, hd, KvCodec::F16, n_blocks, ++seed,
                                std::string("min chunk ") + min_chunk + " hd " + std::to_string(hd) + " ctx " +
                                    std::to_string(n_past + 1));
            }
    }
    ::unsetenv("RF_GPU_ATTN_MIN_CHUNK");
    ::unsetenv("RF_GPU_ATTN_MMA");
}

// Long contexts (chunks of whole tiles): the matrix-unit kernel (default where the device has it)
// and the FMA kernel, each against the CPU, and against each other. Partial last tiles and chunks,
// GQA 1/4/7/12 (two q-head groups per KV head), head dims 64 and 128, multi-token steps, two
// blocks per SM and more, rings of 2, 3 and 4 tiles (chunks shorter than the ring included), chunks
// of 5 - 8 tiles and of 72 - 94 (RF_GPU_ATTN_MIN_CHUNK 4096), and KV blocks of 24 and 32 positions
// (a row's block and row in it by division; by shift and mask for the power-of-two sizes).
TEST(GpuAttention, LongContextMatrixUnitsMatchTheFmaKernel) {
    SKIP_WITHOUT_MMA_DECODE();
    uint32_t seed = 1300;
    struct Case {
        int hd, group, n_past, n_tok;
        const char* per_sm;
        const char* stages;
        const char* min_chunk = nullptr;
        int block_size = 16;
    };
    const Case cases[] = {{128, 7, 4095, 1, nullptr, nullptr},  {128, 7, 9000, 1, nullptr, nullptr},
                          {64, 7, 5000, 1, nullptr, nullptr},   {128, 1, 4200, 1, nullptr, nullptr},
                          {128, 12, 6000, 1, nullptr, nullptr}, {64, 1, 4500, 3, nullptr, nullptr},
                          {128, 7, 20000, 1, nullptr, nullptr}, {128, 7, 8191, 1, "8", nullptr},
                          {64, 7, 7000, 1, "64", nullptr},      {128, 7, 9000, 1, nullptr, "3"},
                          {64, 7, 20000, 1, nullptr, "4"},      {128, 12, 4500, 1, "16", "4"},
                          {64, 7, 30000, 3, nullptr, nullptr},  {128, 7, 9000, 1, nullptr, nullptr, "4096"},
                          {64, 1, 12000, 1, nullptr, nullptr, "4096"},
                          {128, 7, 20000, 1, nullptr, nullptr, nullptr, 24},
                          {64, 12, 25000, 1, nullptr, nullptr, nullptr, 32},
                          {128, 4, 9000, 1, nullptr, nullptr, "4096", 24}};
    for (const Case& c : cases) {
        std::vector<std::unique_ptr<ScopedEnv>> env;
        if (c.per_sm != nullptr) env.push_back(std::make_unique<ScopedEnv>("RF_GPU_ATTN_BLOCKS_PER_SM", c.per_sm));
        if (c.stages != nullptr) env.push_back(std::make_unique<ScopedEnv>("RF_GPU_ATTN_MMA_STAGES", c.stages));
        if (c.min_chunk != nullptr) env.push_back(std::make_unique<ScopedEnv>("RF_GPU_ATTN_MIN_CHUNK", c.min_chunk));
        const LongCase lc = long_case(c.hd, c.group, c.n_past, c.n_tok, seed,
                                      env_note("per sm", c.per_sm) + env_note("stages", c.stages) +
                                          env_note("min chunk", c.min_chunk),
                                      c.block_size);
        std::vector<float> mma, fma;
        lc.check("matrix units", &mma);
        {
            ScopedEnv off("RF_GPU_ATTN_MMA", "off");
            lc.check("fma", &fma);
        }
        EXPECT_NMSE_LE(mma, fma, 2e-5, "matrix units vs fma " + lc.what);
    }
}

// Chunks of 2 .. ring-size tiles (4K-9K contexts, RF_GPU_ATTN_CHUNK_SOFTMAX, the default): every tile copied
// before the PDL wait and one softmax per block, against the CPU and against the per-warp softmax
// (P rounded to f16 against another max: within the matrix units' bound, and not the same bits, so
// the other path ran). Head dims 64 (ring of 3: P after the V stages) and 128 (ring of 2: P in q's
// area), GQA 1 / 7 / 12 (two q-head groups per KV head), partial last chunks, a three-token step.
TEST(GpuAttention, ChunkSoftmaxMatchesThePerWarpSoftmax) {
    SKIP_WITHOUT_MMA_DECODE();
    uint32_t seed = 2600;
    struct Case {
        int hd, group, n_past, n_tok;
    };
    const Case cases[] = {{128, 7, 4095, 1}, {128, 7, 8191, 1}, {128, 7, 6000, 1}, {64, 7, 8000, 1},
                          {128, 1, 5000, 3}, {128, 12, 7000, 1}, {64, 7, 4100, 1}};
    for (const Case& c : cases) {
        const LongCase lc = long_case(c.hd, c.group, c.n_past, c.n_tok, seed, "");
        std::vector<float> chunk, warp;
        lc.check("chunk softmax", &chunk);
        {
            ScopedEnv off("RF_GPU_ATTN_CHUNK_SOFTMAX", "off");
            lc.check("per-warp softmax", &warp);
        }
        EXPECT_NMSE_LE(chunk, warp, 2e-5, "chunk vs per-warp softmax " + lc.what);
        EXPECT_NE(chunk, warp) << "the chunk softmax changed nothing: " << lc.what;
    }
}

// More than 16 chunks per head (long contexts, or many blocks per SM): the wide combine (D x G threads
// per head, RF_GPU_ATTN_COMBINE_WIDE, the default) and the one-group combine, each against the CPU
// and against each other (the same merge in another order: rounding only). Chunk counts of 17 to
// several hundred (several rounds per thread, trailing chunks past the context empty), head dims 64 /
// 128 on both decode kernels and 256 on the FMA one, a multi-token step. On CUDA builds the wide
// kernel knocked out by name (RF_GPU_PROFILE_SKIP) leaves the output unwritten with the switch on
// and changes nothing with it off: it is the kernel that ran.
TEST(GpuAttention, ManyChunksWideCombineMatchesTheOneGroupCombine) {
    uint32_t seed = 2100;
    struct Case {
        int hd, group, n_past, n_tok;
        const char* per_sm;
        const char* mma;
    };
    const Case cases[] = {{128, 7, 8191, 1, nullptr, nullptr}, {128, 7, 20000, 1, nullptr, nullptr},
                          {64, 7, 9000, 1, nullptr, nullptr},  {64, 7, 30000, 1, "16", nullptr},
                          {128, 1, 5000, 3, "8", nullptr},     {128, 7, 600, 1, "32", "off"},
                          {256, 4, 3000, 1, "16", "off"},     {64, 7, 4500, 1, "64", nullptr}};
    const bool names = gpu().device_info().arch.rfind("sm_", 0) == 0;
    for (const Case& c : cases) {
        std::unique_ptr<ScopedEnv> per_sm, mma;
        if (c.per_sm != nullptr) per_sm = std::make_unique<ScopedEnv>("RF_GPU_ATTN_BLOCKS_PER_SM", c.per_sm);
        if (c.mma != nullptr) mma = std::make_unique<ScopedEnv>("RF_GPU_ATTN_MMA", c.mma);
        const LongCase lc = long_case(c.hd, c.group, c.n_past, c.n_tok, seed, env_note("per sm", c.per_sm) + env_note("mma", c.mma));
        std::vector<float> wide, narrow;
        lc.check("wide combine", &wide);
        {
            ScopedEnv off("RF_GPU_ATTN_COMBINE_WIDE", "off");
            lc.check("one-group combine", &narrow);
        }
        EXPECT_NMSE_LE(wide, narrow, 1e-10, "wide vs one-group combine " + lc.what);
        if (!names) continue;
        ScopedEnv skip("RF_GPU_PROFILE_SKIP", "attention_combine_wide");
        EXPECT_FALSE(all_finite(lc.gpu_out())) << "the wide combine knocked out, yet the output was written: " << lc.what;
        ScopedEnv off("RF_GPU_ATTN_COMBINE_WIDE", "off");
        EXPECT_TRUE(lc.gpu_out() == narrow) << "the knock-out of the wide combine changed the one-group path: " << lc.what;
    }
}

// Short contexts on the matrix units (the default: chunks of whole 64-position tiles, blocks past
// the context included; blocks of one tile with one softmax, and with one per warp) against the CPU
// and the FMA kernel.
TEST(GpuAttention, ShortContextsOnTheMatrixUnits) {
    SKIP_WITHOUT_MMA_DECODE();
    uint32_t seed = 1500;
    for (int hd : {64, 128})
        for (int group : {1, 7, 12})
            for (int n_past : {0, 40, 700, 3000}) {
                const int n_kv = 2, n_head = n_kv * group;
                const int n_blocks = (n_past + 1 + 15) / 16 + 8;
                StepPlan plan = make_plan(1, n_past, 16, n_blocks, ++seed);
                const uint32_t kv_seed = ++seed;
                const std::string what = "hd " + std::to_string(hd) + " gqa " + std::to_string(group) + " ctx " +
                                         std::to_string(n_past + 1);
                std::vector<float> mma, per_warp, fma;
                check_attention(plan, n_head, n_kv, hd, KvCodec::F16, n_blocks, kv_seed, "matrix units " + what, &mma);
                ::setenv("RF_GPU_ATTN_ONE_TILE", "off", 1);  // one-tile blocks: a softmax per warp, merged
                check_attention(plan, n_head, n_kv, hd, KvCodec::F16, n_blocks, kv_seed, "matrix units, per-warp softmax " + what, &per_warp);
                ::unsetenv("RF_GPU_ATTN_ONE_TILE");
                ::setenv("RF_GPU_ATTN_MMA", "off", 1);
                check_attention(plan, n_head, n_kv, hd, KvCodec::F16, n_blocks, kv_seed, "fma " + what, &fma);
                ::unsetenv("RF_GPU_ATTN_MMA");
                EXPECT_NMSE_LE(mma, fma, 2e-5, "matrix units vs fma " + what);
                EXPECT_NMSE_LE(per_warp, fma, 2e-5, "matrix units (per-warp softmax) vs fma " + what);
            }
}

TEST(GpuAttention, F32CodecWideGroupsAndPrefill) {
    uint32_t seed = 500;
    // 12 q heads per KV head: two q-head groups per block row.
    for (KvCodec codec : {KvCodec::F32, KvCodec::F16}) {
        StepPlan plan = make_plan(1, 300, 16, 40, ++seed);
        check_attention(plan, 24, 2, 128, codec, 40, ++seed, std::string("gqa 12 ") + kv_codec_name(codec));
        StepPlan pre = make_plan(7, 30, 16, 10, ++seed);
        check_attention(pre, 8, 2, 64, codec, 10, ++seed, std::string("prefill 7 after 30 ") + kv_codec_name(codec));
        StepPlan fresh = make_plan(33, 0, 16, 10, ++seed);
        check_attention(fresh, 4, 4, 128, codec, 10, ++seed, std::string("prefill 33 from empty ") + kv_codec_name(codec));
    }
}

TEST(GpuAttention, TwoSequencesInOneStep) {
    // Sequence A: 3 new tokens after 40; sequence B: 1 new token after 700 (decode beside prefill).
    const int bs = 16, n_blocks = 80;
    std::vector<int32_t> ids(n_blocks);
    std::iota(ids.begin(), ids.end(), 0);
    std::mt19937 rng(3);
    std::shuffle(ids.begin(), ids.end(), rng);
    StepPlan plan;
    SeqStep a{0, 3, 40, {}}, b{3, 1, 700, {}};
    a.block_table.assign(ids.begin(), ids.begin() + 3);
    b.block_table.assign(ids.begin() + 3, ids.begin() + 3 + 44);
    plan.seqs = {a, b};
    for (int i = 0; i < 3; ++i) {
        plan.tokens.push_back(1);
        plan.positions.push_back(40 + i);
        plan.kv_slots.push_back(a.block_table[static_cast<size_t>((40 + i) / bs)] * bs + (40 + i) % bs);
        plan.token_seq.push_back(0);
    }
    plan.tokens.push_back(2);
    plan.positions.push_back(700);
    plan.kv_slots.push_back(b.block_table[700 / bs] * bs + 700 % bs);
    plan.token_seq.push_back(1);
    plan.output_rows = {2, 3};
    check_attention(plan, 28, 4, 128, KvCodec::F16, n_blocks, 77, "two sequences");
}

}  // namespace
}  // namespace rf::gputest
