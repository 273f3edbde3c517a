// The decode-only fusions and launch overlaps of the GPU emitter against their unfused forms and
// the CPU:
//   - rope(q) + rope(k) + kv_store + attention in the attention kernel: the attention output, the
//     rotated q and k written back, and the KV cache, against the separate kernels (switch
//     RF_GPU_ROPE_ATTN=off) and the CPU ops; NeoX and normal pairs, partial rotation, YaRN, head
//     dims 64/128/256, both KV codecs, one split (the head group's only block writes q back) and
//     many (the combine kernel does), short contexts and one of 4096+ (the matrix-unit kernel);
//   - the early weight loads of the many-token matvec, programmatic dependent launch (on by
//     default) and the fast replay of identical steps change no bit of a decode step, and the fast replay does replay; the rms_norm sliced over
//     several blocks changes only rounding;
//   - the persistent grid of the one-token matvec (blocks looping over row groups, plain and
//     SwiGLU + q8_1 epilogues), its x read from global memory instead of shared memory, and the
//     L2 prefetch of the FMA decode attention, the matrix-unit attention's first tiles copied after
//     the PDL wait instead of before it change no bit;
//     the decode attention on the matrix units instead of FMA changes only rounding;
//   - the profiling knock-out leaves the named kernels out, the profiling substitute streams the named
//     matvecs' weights instead of running them; the one-token launches fitted to short
//     rows are the ones a step takes where selected (and change no bit: SwitchesChangeNoBit).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <tuple>

#include "backend/gpu/gpu_dispatch_table.h"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

// Sets an emitter switch for the scope (gpu_emit.cpp reads them at every emit).
struct RopeAttnCase {
    int n_head, n_kv, hd, n_rot;
    bool neox;
    float ext_factor;
    KvCodec codec;
};

std::string describe(const RopeAttnCase& c) {
    return "heads " + std::to_string(c.n_head) + "/" + std::to_string(c.n_kv) + " hd " + std::to_string(c.hd) + " rot " +
           std::to_string(c.n_rot) + (c.neox ? " neox" : " normal") + (c.ext_factor != 0.0f ? " yarn " : " ") +
           kv_codec_name(c.codec);
}

std::vector<uint8_t> random_pool(KvCodec codec, size_t rows, int hd, uint32_t seed) {
    const auto f = random_floats(rows * hd, seed);
    std::vector<uint8_t> b(rows * kv_row_bytes(codec, hd));
    for (size_t i = 0; i < f.size(); ++i) {
        if (codec == KvCodec::F32) {
            std::memcpy(b.data() + 4 * i, &f[i], 4);
        } else {
            const uint16_t h = f32_to_f16(f[i]);
            std::memcpy(b.data() + 2 * i, &h, 2);
        }
    }
    return b;
}

// Decode steps at several positions through rope(q), rope(k), kv_store, attention on the GPU with
// the fusion on and off (each on its own copy of the same KV cache) and on the CPU.
void check_rope_attention(const RopeAttnCase& c, uint32_t seed) {
    const int bs = 16, n_blocks = c.n_kv > 8 ? 80 : 300;  // (the wide one-split case: short contexts only)
    const size_t rows = static_cast<size_t>(n_blocks) * c.n_kv * bs;
    const size_t pool_bytes = rows * kv_row_bytes(c.codec, c.hd);
    std::vector<uint8_t> host_k = random_pool(c.codec, rows, c.hd, seed), host_v = random_pool(c.codec, rows, c.hd, seed + 1);
    void* dk[2];
    void* dv[2];
    for (int f = 0; f < 2; ++f) {
        dk[f] = gpu().alloc(pool_bytes);
        dv[f] = gpu().alloc(pool_bytes);
        gpu().upload(dk[f], host_k.data(), pool_bytes);
        gpu().upload(dv[f], host_v.data(), pool_bytes);
    }
    const KvLayerView cpu_kv{host_k.data(), host_v.data(), c.codec, bs, c.n_kv, c.hd};
    const int64_t qd = int64_t{c.n_head} * c.hd, kvd = int64_t{c.n_kv} * c.hd;
    RopeParams rp;
    rp.n_rot = c.n_rot;
    rp.neox = c.neox;
    rp.freq_base = 1e6f;
    if (c.ext_factor != 0.0f) {
        rp.ext_factor = c.ext_factor;
        rp.freq_scale = 0.25f;
        rp.n_ctx_orig = 4096;
    }
    const AttentionParams ap{c.n_head, c.n_kv, c.hd, 1.0f / std::sqrt(static_cast<float>(c.hd))};
    DeviceActs dq(1, qd), dkn(1, kvd), dvn(1, kvd), dout(1, qd);
    for (int pos : {0, 1, 17, 300, 1000, 1234, 4500}) {
        if (pos + 1 > (n_blocks - 8) * bs) continue;
        const StepPlan plan = make_plan(1, pos, bs, n_blocks, seed + static_cast<uint32_t>(pos));
        const auto q = random_floats(static_cast<size_t>(qd), seed + 11 + static_cast<uint32_t>(pos));
        const auto k = random_floats(static_cast<size_t>(kvd), seed + 12 + static_cast<uint32_t>(pos));
        const auto v = random_floats(static_cast<size_t>(kvd), seed + 13 + static_cast<uint32_t>(pos));
        std::vector<float> got_o[2], got_q[2], got_k[2];
        for (int f = 0; f < 2; ++f) {
            std::unique_ptr<ScopedEnv> off;
            if (f == 1) off = std::make_unique<ScopedEnv>("RF_GPU_ROPE_ATTN", "off");
            dq.set(q);
            dkn.set(k);
            dvn.set(v);
            dout.poison();
            const KvLayerView kv{dk[f], dv[f], c.codec, bs, c.n_kv, c.hd};
            gpu().begin_step(plan);
            gpu().rope(dq.act(), c.n_head, c.hd, rp);
            gpu().rope(dkn.act(), c.n_kv, c.hd, rp);
            gpu().kv_store(kv, dkn.act(), dvn.act());
            gpu().attention(dq.act(), kv, ap, dout.act());
            got_o[f] = dout.get();
            got_q[f] = dq.get();
            got_k[f] = dkn.get();
        }
        // CPU: the same ops on the host cache
        std::vector<float> cq = q, ck = k, cv = v, co(static_cast<size_t>(qd));
        cpu::rope(pool(), {cq.data(), 1, qd}, plan.positions.data(), c.n_head, c.hd, rp);
        cpu::rope(pool(), {ck.data(), 1, kvd}, plan.positions.data(), c.n_kv, c.hd, rp);
        cpu::kv_store(pool(), cpu_kv, plan.kv_slots.data(), {ck.data(), 1, kvd}, {cv.data(), 1, kvd});
        cpu::attention(pool(), {cq.data(), 1, qd}, cpu_kv, plan, ap, {co.data(), 1, qd});
        const std::string what = describe(c) + " pos " + std::to_string(pos);
        EXPECT_NMSE_LE(got_o[0], got_o[1], 1e-12, "fused vs unfused out " + what);
        EXPECT_NMSE_LE(got_q[0], got_q[1], 1e-12, "fused vs unfused rotated q " + what);
        EXPECT_NMSE_LE(got_k[0], got_k[1], 1e-12, "fused vs unfused rotated k " + what);
        EXPECT_NMSE_LE(got_o[0], co, decode_attention_bound(pos + 1, c.hd, c.codec), "fused out vs cpu " + what);
        EXPECT_NMSE_LE(got_q[0], cq, 1e-10, "fused q vs cpu " + what);
        EXPECT_NMSE_LE(got_k[0], ck, 1e-10, "fused k vs cpu " + what);
    }
    // the caches (every slot written by the steps, the rest untouched) agree
    std::vector<uint8_t> pk[2], pv[2];
    for (int f = 0; f < 2; ++f) {
        pk[f].resize(pool_bytes);
        pv[f].resize(pool_bytes);
        gpu().download(pk[f].data(), dk[f], pool_bytes);
        gpu().download(pv[f].data(), dv[f], pool_bytes);
        gpu().release(dk[f]);
        gpu().release(dv[f]);
    }
    EXPECT_TRUE(pv[0] == pv[1]) << "V cache fused vs unfused " << describe(c);
    size_t k_diff = 0;
    for (size_t i = 0; i < pool_bytes; ++i) k_diff += pk[0][i] != pk[1][i];
    EXPECT_EQ(k_diff, 0u) << "K cache bytes differing fused vs unfused " << describe(c);
    EXPECT_TRUE(pv[0] == host_v) << "V cache vs cpu " << describe(c);
}

TEST(GpuDecodeFusion, RopeInAttentionMatchesTheSeparateKernelsAndTheCpu) {
    uint32_t seed = 100;
    const RopeAttnCase cases[] = {
        {14, 2, 64, 64, true, 0.0f, KvCodec::F16},       // 0.5b-like
        {28, 4, 128, 128, true, 0.0f, KvCodec::F16},     // 7b-like
        {8, 2, 128, 64, false, 0.0f, KvCodec::F32},      // normal pairs, partial rotation
        {4, 2, 256, 256, true, 0.5f, KvCodec::F16},      // yarn, head_dim 256
        {6, 6, 64, 32, false, 0.0f, KvCodec::F32},       // no GQA
        // f16 (the matrix-unit kernel where the build has it): partial NeoX rotation in whole
        // 8-element groups (n_rot % 16 == 0), and rotations the groups straddle (element by element)
        {8, 2, 128, 64, true, 0.0f, KvCodec::F16},
        {8, 2, 64, 24, false, 0.0f, KvCodec::F16},
        {8, 2, 128, 40, true, 0.0f, KvCodec::F16},
    };
    // decode attention on the matrix units (with the chunk softmax, the default, which the 4500-position
    // steps take, and without it) / FMA
    for (const char* mma : {"default", "per-warp-softmax", "off"}) {
        std::unique_ptr<ScopedEnv> env;
        if (std::string(mma) == "off") env = std::make_unique<ScopedEnv>("RF_GPU_ATTN_MMA", "off");
        if (std::string(mma) == "per-warp-softmax") env = std::make_unique<ScopedEnv>("RF_GPU_ATTN_CHUNK_SOFTMAX", "off");
        for (const RopeAttnCase& c : cases) check_rope_attention(c, seed += 1000);
    }
    // As many KV heads as two per SM: one split, the head group's only block writes q back.
    const int n_kv = 2 * gpu().device_info().multiprocessors;
    check_rope_attention({n_kv, n_kv, 64, 64, true, 0.0f, KvCodec::F16}, seed += 1000);
}

// A small Qwen2-shaped layer (q/k/v with bias, SwiGLU) run as decode steps with each switch of
// the overlap machinery off: identical bits (the sliced rms_norm: rounding only). Once on the
// emitter's choice of matvec kernels (one-token kernel with the norm in its prologue for these
// shapes) and once on the many-token kernel everywhere (separate rms_norm launches, sliced for
// rows of 1024, and quantize launches; early weight loads).
TEST(GpuDecodeFusion, SwitchesChangeNoBit) {
    const int64_t E = 1024, F = 2048, Q = 1024, KV = 128;
    const int hd = 64, n_head = 16, n_kv = 2, bs = 16, n_blocks = 24;
    struct W {
        std::vector<uint8_t> bytes;
        Weight w;
    };
    uint32_t seed = 7000;
    auto weight = [&](TensorType t, int64_t rows, int64_t cols) {
        W w;
        w.bytes = random_weight_bytes(t, rows, cols, ++seed);
        w.w = gpu().load_weight(t, cols, rows, 1, w.bytes.data());
        return w;
    };
    for (TensorType t : {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K})
    for (const char* matvec1 : {"default", "0"}) {
        std::unique_ptr<ScopedEnv> mv;
        if (std::string(matvec1) == "0") mv = std::make_unique<ScopedEnv>("RF_GPU_MATVEC1", "0");
        W wq = weight(t, Q, E), wk = weight(t, KV, E), wv = weight(t, KV, E), wo = weight(t, E, Q);
        W wg = weight(t, F, E), wu = weight(t, F, E), wd = weight(t, E, F);
        const auto nw = random_floats(static_cast<size_t>(E), ++seed, 0.1f);
        std::vector<float> ones(static_cast<size_t>(E), 1.0f);
        for (size_t i = 0; i < ones.size(); ++i) ones[i] += nw[i];
        const Weight norm = gpu().load_weight(TensorType::F32, E, 1, 1, ones.data());
        const auto bias = random_floats(static_cast<size_t>(Q), ++seed, 0.1f);
        const Weight bq = gpu().load_weight(TensorType::F32, Q, 1, 1, bias.data());
        // switch settings of each variant (variant 0: the defaults; the last one: programmatic
        // dependent launch off, where the device has it)
        const std::vector<std::vector<std::pair<const char*, const char*>>> variants = {
            {},
            {{"RF_GPU_EARLY_LOADS", "off"}},
            {{"RF_GPU_FAST_REPLAY", "off"}},
            {{"RF_GPU_NORM_SLICES", "off"}},
            {{"RF_GPU_MATVEC1_PERSIST", "off"}, {"RF_GPU_ATTN_PREFETCH", "off"}, {"RF_GPU_MATVEC1_XDIRECT", "off"}},
            // the FMA decode attention, with and without its L2 prefetch
            {{"RF_GPU_ATTN_MMA", "off"}},
            {{"RF_GPU_ATTN_MMA", "off"}, {"RF_GPU_ATTN_PREFETCH", "off"}},
            // the matrix-unit attention's first tiles after the PDL wait
            {{"RF_GPU_ATTN_EARLY_KV", "off"}},
            // the many-token kernel's one-token rows loaded whole before the PDL wait (default: two units
            // at a time); the one-token kernel with twice its units in flight where that holds a row
            // (default: only the Q6_K tall matrices' three), everywhere, and nowhere
            {{"RF_GPU_MATVEC_WHOLE_ROW", "on"}},
            {{"RF_GPU_MATVEC1_WIDE", "shape"}},
            {{"RF_GPU_MATVEC1_WIDE", "all"}},
            {{"RF_GPU_MATVEC1_WIDE", "off"}},
            // the one-token launches of short rows not fitted to them (the type's units in flight,
            // four float4s held by the norm), and only the plain ones fitted
            {{"RF_GPU_MATVEC1_FIT", "0"}},
            {{"RF_GPU_MATVEC1_FIT", "2"}},
            // x loaded unit by unit (many-token whole rows, one-token x from global memory)
            {{"RF_GPU_MATVEC_XHOIST", "off"}},
            // the many-token kernel's whole first batch before the PDL wait (default: one unit of it), the
            // one-token kernel's first unit only and its whole first batch (default: by type)
            {{"RF_GPU_EARLY_LOADS", "on"}},
            {{"RF_GPU_MATVEC1_EARLY", "one"}},
            {{"RF_GPU_MATVEC1_EARLY", "on"}},
            // the quantize launches let their matvec launch only after they waited (default: before;
            // many-token pass: before the down projection)
            {{"RF_GPU_QUANT_TRIGGER_FIRST", "off"}},
            // the matrix-unit attention's one-tile blocks with a softmax per warp and the warps merged at
            // the end (default: one softmax per block; P rounded to f16 against another max)
            {{"RF_GPU_ATTN_ONE_TILE", "off"}},
            // the output projection as its own launch (default: deferred into the attention combine,
            // a fixed-point sum over the heads, for the 32-weight block types on the one-token kernel)
            {{"RF_GPU_ATTN_PROJ", "off"}},
            // the norm prologue's x scaled before it is quantized (default: quantized unscaled where the
            // normalised x is not read again, the results multiplied by the factor)
            {{"RF_GPU_NORM_LATE_SCALE", "off"}},
            // the many-token kernel's three-unit loop on every one-token Q4_0 row (default: the long ones)
            {{"RF_GPU_MATVEC_TRIPLE", "on"}},
            {},
        };
        // The variants compared otherwise than bit for bit, found by their settings (a variant inserted
        // anywhere in the list shifts none of them); PDL off is the last, empty, set.
        auto index_of = [&](const std::vector<std::pair<std::string, std::string>>& set) {
            for (size_t i = 0; i < variants.size(); ++i) {
                const auto& v = variants[i];
                if (v.size() == set.size() &&
                    std::equal(v.begin(), v.end(), set.begin(), [](const auto& a, const auto& b) {
                        return a.first == b.first && a.second == b.second;
                    }))
                    return i;
            }
            ADD_FAILURE() << "no switch set " << set.front().first << "=" << set.front().second;
            return size_t{0};
        };
        const size_t fast_replay_off = index_of({{"RF_GPU_FAST_REPLAY", "off"}});
        const size_t norm_slices_off = index_of({{"RF_GPU_NORM_SLICES", "off"}});
        const size_t fma = index_of({{"RF_GPU_ATTN_MMA", "off"}});
        const size_t fma_no_prefetch = index_of({{"RF_GPU_ATTN_MMA", "off"}, {"RF_GPU_ATTN_PREFETCH", "off"}});
        const size_t one_tile_off = index_of({{"RF_GPU_ATTN_ONE_TILE", "off"}});
        const size_t proj_off = index_of({{"RF_GPU_ATTN_PROJ", "off"}});
        const size_t late_scale_off = index_of({{"RF_GPU_NORM_LATE_SCALE", "off"}});
        const size_t triple_all = index_of({{"RF_GPU_MATVEC_TRIPLE", "on"}});
        const size_t pdl_off = variants.size() - 1;
        ASSERT_TRUE(variants[pdl_off].empty());
        std::vector<std::vector<float>> outs(variants.size());
        for (size_t variant = 0; variant < variants.size(); ++variant) {
            std::vector<std::unique_ptr<ScopedEnv>> env;
            for (const auto& [k, v] : variants[variant]) env.push_back(std::make_unique<ScopedEnv>(k, v));
            struct PdlOff {  // the harness backend runs with the default (on)
                bool on;
                explicit PdlOff(bool off) : on(off) {
                    if (on) gpu().set_use_pdl(false);
                }
                ~PdlOff() {
                    if (on) gpu().set_use_pdl(true);
                }
            } pdl(variant == pdl_off);
            const int64_t replays0 = gpu().graph_stats().fast_replays;
            const size_t pool_bytes = static_cast<size_t>(n_blocks) * n_kv * bs * kv_row_bytes(KvCodec::F16, hd);
            void* kc = gpu().alloc(pool_bytes);
            void* vc = gpu().alloc(pool_bytes);
            gpu().fill_zero(kc, pool_bytes);
            gpu().fill_zero(vc, pool_bytes);
            const KvLayerView kv{kc, vc, KvCodec::F16, bs, n_kv, hd};
            DeviceActs x(1, E), h(1, E), q(1, Q), k(1, KV), v(1, KV), o(1, Q), g(1, F), u(1, F);
            RopeParams rp;
            rp.n_rot = hd;
            rp.freq_base = 1e6f;
            const AttentionParams ap{n_head, n_kv, hd, 0.125f};
            for (int pos = 0; pos < 40; ++pos) {
                x.set(random_floats(static_cast<size_t>(E), 9000 + static_cast<uint32_t>(pos)));
                gpu().begin_step(make_plan(1, pos, bs, n_blocks, 5));
                gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
                gpu().matmul(wq.w, h.act(), q.act(), &bq);
                gpu().matmul(wk.w, h.act(), k.act(), nullptr);
                gpu().matmul(wv.w, h.act(), v.act(), nullptr);
                gpu().rope(q.act(), n_head, hd, rp);
                gpu().rope(k.act(), n_kv, hd, rp);
                gpu().kv_store(kv, k.act(), v.act());
                gpu().attention(q.act(), kv, ap, o.act());
                gpu().matmul(wo.w, o.act(), h.act(), nullptr);
                gpu().add(x.act(), h.act(), x.act());
                gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
                gpu().matmul(wg.w, h.act(), g.act(), nullptr);
                gpu().matmul(wu.w, h.act(), u.act(), nullptr);
                gpu().swiglu(g.act(), u.act(), g.act());
                gpu().matmul(wd.w, g.act(), h.act(), nullptr);
                gpu().add(x.act(), h.act(), x.act());
                const auto out = x.get();
                ASSERT_TRUE(all_finite(out)) << type_name(t) << " pos " << pos;
                outs[variant].insert(outs[variant].end(), out.begin(), out.end());
            }
            const int64_t replays = gpu().graph_stats().fast_replays - replays0;
            if (variant == 0) {
                EXPECT_GE(replays, 30) << type_name(t) << ": identical decode steps were not replayed";
            } else if (variant == fast_replay_off) {
                EXPECT_EQ(replays, 0) << type_name(t) << ": fast replay off still replayed";
            }
            gpu().release(kc);
            gpu().release(vc);
        }
        // every variant but the norm slices, the FMA attention (with and without its prefetch), the
        // per-warp softmax of one-tile attention blocks and the projection's own launch: the same bits
        for (size_t variant = 1; variant < variants.size(); ++variant) {
            if (variant == norm_slices_off || variant == fma || variant == fma_no_prefetch || variant == one_tile_off ||
                variant == proj_off || variant == late_scale_off || variant == triple_all)
                continue;
            EXPECT_EQ(outs[0], outs[variant]) << type_name(t) << " matvec1 " << matvec1 << ": switch set " << variant
                                              << " changed the results";
        }
        EXPECT_NMSE_LE(outs[0], outs[norm_slices_off], 1e-5, std::string("norm slices on vs off ") + type_name(t) + " matvec1 " + matvec1);
        EXPECT_EQ(outs[fma], outs[fma_no_prefetch]) << type_name(t) << " matvec1 " << matvec1 << ": the FMA attention's prefetch changed the results";
        // (q and the probabilities in f16 on the matrix units: NMSE ~1e-5 per attention, through the
        // q8_1 of its output and 40 steps of the residual stream measured at up to 6e-5 on H100)
        EXPECT_NMSE_LE(outs[0], outs[fma], 2e-4, std::string("attention on the matrix units vs FMA ") + type_name(t) + " matvec1 " + matvec1);
        EXPECT_NMSE_LE(outs[0], outs[one_tile_off], 2e-4, std::string("one-tile attention blocks: one softmax vs one per warp ") + type_name(t) + " matvec1 " + matvec1);
        // (a NaN-free, nonzero difference: the one-tile path was taken where the attention runs on the matrix units)
        // the deferred projection: taken for the 32-weight block types on the one-token kernel (a
        // fixed-point sum over the heads: other bits), nowhere else (the same bits)
        const bool deferred = std::string(matvec1) == "default" && (t == TensorType::Q4_0 || t == TensorType::Q8_0);
        // (the sums differ in their last bits, and where that moves a q8_1 rounding of a later
        // activation the difference grows: 2.7e-8 over the 40 steps on H100)
        EXPECT_NMSE_LE(outs[0], outs[proj_off], 1e-6, std::string("output projection deferred into the combine vs its own launch ") + type_name(t) + " matvec1 " + matvec1);
        if (deferred) {
            EXPECT_NE(outs[0], outs[proj_off]) << type_name(t) << " matvec1 " << matvec1 << ": the projection was not deferred";
        } else {
            EXPECT_EQ(outs[0], outs[proj_off]) << type_name(t) << " matvec1 " << matvec1 << ": a projection was deferred";
        }
        if (gpu::dispatch_table_for(gpu().device_info().arch).decode_attention_mma) {
            EXPECT_NE(outs[0], outs[one_tile_off]) << type_name(t) << " matvec1 " << matvec1 << ": one-tile attention switch changed nothing";
        }
        // the late norm factor: taken by the one-token kernels' norm prologues (other roundings of x's
        // q8_1, which 40 steps of the residual stream carry on: NMSE up to 2.5e-5 on H100), absent where
        // every matvec is on the many-token kernel (the norm its own launch: the same bits)
        EXPECT_NMSE_LE(outs[0], outs[late_scale_off], 2e-4, std::string("late vs early norm factor ") + type_name(t) + " matvec1 " + matvec1);
        if (std::string(matvec1) == "default") {
            EXPECT_NE(outs[0], outs[late_scale_off]) << type_name(t) << ": the late norm factor was not taken";
        } else {
            EXPECT_EQ(outs[0], outs[late_scale_off]) << type_name(t) << ": the late norm factor changed a many-token step";
        }
        // the three-unit loop on short rows: Q4_0 rows on the many-token kernel summed in another order
        // (these 32- and 64-unit rows are short: the default takes the two-unit loop)
        EXPECT_NMSE_LE(outs[0], outs[triple_all], 2e-4, std::string("three-unit loop on every row ") + type_name(t) + " matvec1 " + matvec1);
        if (t != TensorType::Q4_0 || std::string(matvec1) == "default") {
            EXPECT_EQ(outs[0], outs[triple_all]) << type_name(t) << " matvec1 " << matvec1 << ": the three-unit loop changed a step without many-token Q4_0 rows";
        }
        for (W* w : {&wq, &wk, &wv, &wo, &wg, &wu, &wd}) gpu().release(const_cast<void*>(w->w.data));
        gpu().release(const_cast<void*>(norm.data));
        gpu().release(const_cast<void*>(bq.data));
    }
}

// The norm prologue's late factor (RF_GPU_NORM_LATE_SCALE, default on): x * w quantized before 1 / rms
// is known, the matvec's results multiplied by it; only where nothing reads the normalised x after
// the launch, as block 0 then does not write it. rms_norm(x -> h) + a one-token matmul of h, then (a)
// h overwritten unread: the late path (results within rounding of the early one, not the same bits);
// (b) an add reading h: the early path (the same bits on and off, h written and right).
TEST(GpuDecodeFusion, LateNormFactorOnlyWhereTheNormalisedXIsNotReadAgain) {
    const int64_t E = 1024, R = 256;
    for (TensorType t : {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K}) {
        const auto bw = random_weight_bytes(t, R, E, 8300);
        const Weight w = gpu().load_weight(t, E, R, 1, bw.data());
        auto nw = random_floats(static_cast<size_t>(E), 8301, 0.2f);
        for (float& v : nw) v += 1.0f;
        const Weight norm = gpu().load_weight(TensorType::F32, E, 1, 1, nw.data());
        const auto xv = random_floats(static_cast<size_t>(E), 8302, 2.0f);
        std::vector<float> h_ref(static_cast<size_t>(E));
        double ss = 0;
        for (float v : xv) ss += static_cast<double>(v) * v;
        const double inv = 1.0 / std::sqrt(ss / static_cast<double>(E) + 1e-6);
        for (size_t i = 0; i < h_ref.size(); ++i) h_ref[i] = static_cast<float>(xv[i] * inv * nw[i]);
        DeviceActs x(1, E), h(1, E), y(1, R), z(1, E);
        x.set(xv);
        for (const bool h_read : {false, true}) {
            std::vector<float> ys[2], zs[2];
            for (const bool late : {true, false}) {
                ScopedEnv env("RF_GPU_NORM_LATE_SCALE", late ? "on" : "off");
                h.poison();
                gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
                gpu().matmul(w, h.act(), y.act(), nullptr);
                // (h read, or overwritten unread: a step's last value of an activation counts as read)
                if (h_read) gpu().add(h.act(), h.act(), z.act());
                else gpu().add(x.act(), x.act(), h.act());
                ys[late] = y.get();
                if (h_read) zs[late] = z.get();
            }
            const std::string what = std::string(type_name(t)) + (h_read ? ", h read after" : ", h not read after");
            ASSERT_TRUE(all_finite(ys[1])) << what;
            EXPECT_NMSE_LE(ys[1], ys[0], 1e-6, "late vs early factor, " + what);
            if (h_read) {
                EXPECT_EQ(ys[1], ys[0]) << what << ": the late factor was taken though h is read again";
                EXPECT_EQ(zs[1], zs[0]) << what;
                std::vector<float> z_ref(h_ref.size());
                for (size_t i = 0; i < z_ref.size(); ++i) z_ref[i] = 2.0f * h_ref[i];
                EXPECT_NMSE_LE(zs[1], z_ref, 1e-10, "h + h against the CPU's norm, " + what);
            } else {
                EXPECT_NE(ys[1], ys[0]) << what << ": the late factor was not taken";
            }
        }
        gpu().release(const_cast<void*>(w.data));
        gpu().release(const_cast<void*>(norm.data));
    }
}

// The model's last rows for one token (gather_output_rows + rms_norm in place + the output matmul):
// one rms_norm of x into the rows instead of a gather and a norm, in the output matvec's prologue
// where that launch is persistent on rows of up to 1024 columns (E = 896: neither the gather nor the
// norm kernel runs, both knocked out by name and the rows and logits still right) and as its own
// kernel on wider rows (E = 2048: the gather knocked out, the norm needed); RF_GPU_GATHER_NORM=off
// launches the gather again (knocked out, the rows stay poisoned). Rows and logits as with the two
// launches: the same bits from the norm kernel, within the norm's rounding from the prologue.
TEST(GpuDecodeFusion, LastRowNormWithoutTheGather) {
    if (gpu().device_info().arch.rfind("sm_", 0) != 0) GTEST_SKIP() << "kernel names: CUDA builds only";
    const int64_t V = 5000;
    for (const int64_t E : {int64_t{896}, int64_t{2048}}) {
        const bool in_prologue = E <= 1024;
        const auto bw = random_weight_bytes(TensorType::Q8_0, V, E, 8200 + static_cast<uint32_t>(E));
        const Weight w = gpu().load_weight(TensorType::Q8_0, E, V, 1, bw.data());
        auto nw = random_floats(static_cast<size_t>(E), 8201, 0.2f);
        for (float& v : nw) v += 1.0f;
        const Weight norm = gpu().load_weight(TensorType::F32, E, 1, 1, nw.data());
        DeviceActs x(1, E), rows(1, E), logits(1, V);
        x.set(random_floats(static_cast<size_t>(E), 8202, 2.0f));
        auto run = [&](const char* gather_norm, const char* skip) {
            std::unique_ptr<ScopedEnv> g, k;
            if (gather_norm) g = std::make_unique<ScopedEnv>("RF_GPU_GATHER_NORM", gather_norm);
            if (skip) k = std::make_unique<ScopedEnv>("RF_GPU_PROFILE_SKIP", skip);
            rows.poison();
            logits.poison();
            gpu().begin_step(make_plan(1, 3, 16, 4, 8203));
            gpu().gather_output_rows(x.act(), rows.act());
            gpu().rms_norm(rows.act(), norm, 1e-6f, rows.act());
            gpu().matmul(w, rows.act(), logits.act(), nullptr);
            return std::make_pair(rows.get(), logits.get());
        };
        const std::string what = "E = " + std::to_string(E);
        const auto ref = run("off", nullptr);
        ASSERT_TRUE(all_finite(ref.first) && all_finite(ref.second)) << what;
        const auto fused = run(nullptr, nullptr);
        if (in_prologue) {
            EXPECT_NMSE_LE(ref.first, fused.first, 1e-12, what + ": rows");
            EXPECT_NMSE_LE(ref.second, fused.second, 1e-6, what + ": logits");
        } else {
            EXPECT_EQ(ref.first, fused.first) << what << ": rows";
            EXPECT_EQ(ref.second, fused.second) << what << ": logits";
        }
        const auto skipped = run(nullptr, in_prologue ? "gather_rows,rms_norm" : "gather_rows");
        EXPECT_EQ(fused.first, skipped.first) << what << ": a knocked-out kernel was launched";
        EXPECT_EQ(fused.second, skipped.second) << what << ": a knocked-out kernel was launched";
        if (!in_prologue) {
            EXPECT_FALSE(all_finite(run(nullptr, "gather_rows,rms_norm").first)) << what << ": no norm kernel on wide rows";
        }
        EXPECT_FALSE(all_finite(run("off", "gather_rows").first)) << what << ": RF_GPU_GATHER_NORM=off did not gather";
        gpu().release(const_cast<void*>(w.data));
        gpu().release(const_cast<void*>(norm.data));
    }
}

// RF_GPU_QUANT_TRIGGER_FIRST (default on) launches the trigger-first instance of the quantize kernel
// before a matvec, and off the other one: knocking that instance out by its (mangled) name leaves the
// matvec reading the q8_1 an earlier step left, so y changes with the switch and not without it.
// (Its bits: SwitchesChangeNoBit.)
TEST(GpuDecodeFusion, QuantizeTriggerFirstIsTaken) {
    if (gpu().device_info().arch.rfind("sm_", 0) != 0) GTEST_SKIP() << "kernel names: CUDA builds only";
    const int64_t E = 1024;
    const auto bw = random_weight_bytes(TensorType::Q4_0, E, E, 8300);
    const Weight w = gpu().load_weight(TensorType::Q4_0, E, E, 1, bw.data());
    const auto xa = random_floats(static_cast<size_t>(E), 8301), xb = random_floats(static_cast<size_t>(E), 8302);
    DeviceActs x(1, E), y(1, E);
    ScopedEnv many("RF_GPU_MATVEC1", "0");  // x quantized by its own launch before the matvec
    auto step = [&](const std::vector<float>& in) {
        x.set(in);
        y.poison();
        gpu().begin_step(make_plan(1, 0, 16, 4, 8303));
        gpu().matmul(w, x.act(), y.act(), nullptr);
        return y.get();
    };
    const auto want = step(xb);
    ASSERT_TRUE(all_finite(want));
    for (const bool on : {false, true}) {
        ScopedEnv sw("RF_GPU_QUANT_TRIGGER_FIRST", on ? "on" : "off");
        step(xa);  // leaves the q8_1 of xa behind
        std::vector<float> got;
        {
            ScopedEnv skip("RF_GPU_PROFILE_SKIP", "quantize_q8_1_kernelILb1E");  // the trigger-first instance
            got = step(xb);
        }
        if (on) EXPECT_NE(got, want) << "on: the trigger-first instance was not launched";
        else EXPECT_EQ(got, want) << "off: the trigger-first instance was launched";
        EXPECT_EQ(step(xb), want) << (on ? "on" : "off") << ": not the same bits";
    }
    gpu().release(const_cast<void*>(w.data));
}

// The many-token kernel's three-units-per-iteration loop (RF_GPU_MATVEC_TRIPLE) takes, by default
// ("long"), only one-token Q4_0 rows of more than 4 units per lane (the 7b down projection), so that the
// short rows (q/k/v, wo: 112 units) keep the 48-register two-unit instance; "on" takes every row, "off"
// none. Which instance ran: the three-unit one knocked out by name leaves its output poisoned.
TEST(GpuDecodeFusion, TripleLoopOnlyOnLongRowsByDefault) {
    if (gpu().device_info().arch.rfind("sm_", 0) != 0) GTEST_SKIP() << "kernel names: CUDA builds only";
    ScopedEnv many("RF_GPU_MATVEC1", "0");  // every matmul on the many-token kernel
    const int64_t rows = 2304;  // enough rows for one warp per row (choose_matvec_config)
    struct Case {
        int64_t cols;
        Weight w;
    };
    std::vector<Case> cases;
    for (int64_t cols : {int64_t{3584}, int64_t{8192}}) {  // 112 and 256 units per row
        const auto bw = random_weight_bytes(TensorType::Q4_0, rows, cols, 8400 + static_cast<uint32_t>(cols));
        cases.push_back({cols, gpu().load_weight(TensorType::Q4_0, cols, rows, 1, bw.data())});
    }
    for (const auto& [mode, short_triple, long_triple] :
         {std::tuple<const char*, bool, bool>{nullptr, false, true}, {"long", false, true}, {"on", true, true}, {"off", false, false}}) {
        std::unique_ptr<ScopedEnv> sw;
        if (mode) sw = std::make_unique<ScopedEnv>("RF_GPU_MATVEC_TRIPLE", mode);
        ScopedEnv skip("RF_GPU_PROFILE_SKIP", "matvec_kernelINS0_11QuantPolicyILNS_10TensorTypeE2EEELi1ELi1ELb0ELb0ELb1E");
        for (const Case& c : cases) {
            DeviceActs x(1, c.cols), y(1, rows);
            x.set(random_floats(static_cast<size_t>(c.cols), 8410));
            y.poison();
            gpu().begin_step(make_plan(1, 0, 16, 4, 8411));
            gpu().matmul(c.w, x.act(), y.act(), nullptr);
            const bool triple = c.cols == 3584 ? short_triple : long_triple;
            EXPECT_EQ(!all_finite(y.get()), triple) << (mode ? mode : "default") << ", " << c.cols << " columns";
        }
    }
    for (const Case& c : cases) gpu().release(const_cast<void*>(c.w.data));
}

// The profiling knock-out (RF_GPU_PROFILE_SKIP, benchmarks only): a named kernel is not launched,
// so its output keeps the poison; without the switch the same op writes it; "NAME@N/P" selects by
// the launch's number.
TEST(GpuDecodeFusion, ProfileSkipLeavesTheNamedKernelsOut) {
    if (gpu().device_info().arch.rfind("sm_", 0) != 0) GTEST_SKIP() << "kernel names: CUDA builds only";
    const int64_t E = 1024;
    const auto ones = std::vector<float>(static_cast<size_t>(E), 1.0f);
    const Weight norm = gpu().load_weight(TensorType::F32, E, 1, 1, ones.data());
    DeviceActs x(1, E), h(1, E);
    x.set(random_floats(static_cast<size_t>(E), 77));
    for (const bool skip : {true, false}) {
        std::unique_ptr<ScopedEnv> env;
        if (skip) env = std::make_unique<ScopedEnv>("RF_GPU_PROFILE_SKIP", "rms_norm");
        h.poison();
        gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
        const auto out = h.get();
        if (skip) EXPECT_FALSE(all_finite(out)) << "the skipped rms_norm wrote its output";
        else EXPECT_TRUE(all_finite(out)) << "rms_norm without the knock-out";
    }
    // "NAME@N/P": only the launches N, N + P, ... of the kernel in one Launcher (an eager op is one
    // launch, number 0); a selection that is not N/P with 0 <= N < P is an error naming the entry
    for (const auto& [entry, skipped] : {std::pair<const char*, bool>{"rms_norm@0/2", true}, {"rms_norm@1/2", false},
                                         {"rms_norm@0/1", true}, {"no_such_kernel@0/1", false}}) {
        ScopedEnv env("RF_GPU_PROFILE_SKIP", entry);
        h.poison();
        gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
        EXPECT_EQ(!all_finite(h.get()), skipped) << entry;
    }
    // two norms flushed as one step: launches 0 and 1 of the kernel in that step's Launcher
    DeviceActs h2(1, E);
    for (const auto& [entry, first, second] : {std::tuple<const char*, bool, bool>{"rms_norm@0/2", true, false},
                                               {"rms_norm@1/2", false, true}}) {
        ScopedEnv env("RF_GPU_PROFILE_SKIP", entry);
        h.poison();
        h2.poison();
        gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
        gpu().rms_norm(x.act(), norm, 1e-6f, h2.act());
        EXPECT_EQ(!all_finite(h.get()), first) << entry << ": the step's first norm";
        EXPECT_EQ(!all_finite(h2.get()), second) << entry << ": the step's second norm";
    }
    for (const char* bad : {"rms_norm@2", "rms_norm@2/2", "rms_norm@0/0", "rms_norm@x/1", "rms_norm@1/2x"}) {
        ScopedEnv env("RF_GPU_PROFILE_SKIP", bad);
        try {
            gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
            (void)h.get();  // (the op runs, and its switches are read, when the step is flushed)
            ADD_FAILURE() << bad << " was accepted";
        } catch (const std::exception& e) {
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        }
    }
    gpu().release(const_cast<void*>(norm.data));
}

// The profiling substitute (RF_GPU_PROFILE_STREAM, weight_stream.cuh; benchmarks only): a named matvec
// kernel is replaced by a stream of its weight bytes, on the one-token kernel and on the many-token one
// (RF_GPU_MATVEC1=0), in six stream shapes (blocks per SM, loads before the PDL wait, grid-stride or
// chunks from a counter or dealt, registers held for nothing). Every Q4_0 block of the matrix is the
// same, with quants whose four 32-bit words XOR to the stream's magic word and scales that cancel in
// fours, so a thread that read an odd number of quant words writes the magic into y[0]: y[0] shows that
// the stream read the weights, y[1..] that the matvec did not run. Without the switch the matvec writes
// every row.
TEST(GpuDecodeFusion, ProfileStreamReplacesTheNamedMatvec) {
    if (gpu().device_info().arch.rfind("sm_", 0) != 0) GTEST_SKIP() << "kernel names: CUDA builds only";
    // 256 blocks: 256 quant int4s, read by threads 0..255 of the grid-stride stream or of the dynamic
    // stream's first chunk (whose other three int4s per thread are the scales, XOR 0, or past the end)
    const int64_t rows = 128, cols = 64;
    std::vector<uint8_t> bytes(static_cast<size_t>(rows * cols / 32) * 18, 0);
    for (size_t b = 0; b < bytes.size(); b += 18) {
        bytes[b + 0] = 0x00;  // d = 1.0 (f16 0x3c00)
        bytes[b + 1] = 0x3c;
        bytes[b + 2] = 0x01;  // quant word 0 = 0x7fc00001, words 1..3 = 0
        bytes[b + 4] = 0xc0;
        bytes[b + 5] = 0x7f;
    }
    const Weight w = gpu().load_weight(TensorType::Q4_0, cols, rows, 1, bytes.data());
    DeviceActs x(1, cols), y(1, rows);
    x.set(random_floats(static_cast<size_t>(cols), 8061));
    struct Shape {
        const char* blocks;
        const char* early;
        const char* split;
        const char* pad;
    };
    for (const char* one_token : {"1", "0"}) {
        ScopedEnv kernel_choice("RF_GPU_MATVEC1", one_token);
        for (const Shape sh : {Shape{"4", "4", "stride", "0"}, Shape{"4", "1", "stride", "32"}, Shape{"2", "0", "stride", "0"},
                               Shape{"2", "1", "dynamic", "72"}, Shape{"4", "4", "dynamic", "0"}, Shape{"2", "1", "chunks", "72"}}) {
            ScopedEnv blocks("RF_GPU_PROFILE_STREAM_BLOCKS", sh.blocks), early("RF_GPU_PROFILE_STREAM_EARLY", sh.early),
                split("RF_GPU_PROFILE_STREAM_SPLIT", sh.split), pad("RF_GPU_PROFILE_STREAM_PAD", sh.pad);
            const std::string what = std::string("RF_GPU_MATVEC1=") + one_token + ", stream blocks " + sh.blocks + " early " +
                                     sh.early + " split " + sh.split + " pad " + sh.pad;
            for (const bool streamed : {true, false}) {
                std::unique_ptr<ScopedEnv> env;
                if (streamed) env = std::make_unique<ScopedEnv>("RF_GPU_PROFILE_STREAM", "matvec");
                y.poison();
                gpu().begin_step(make_plan(1, 0, 16, 4, 8062));
                gpu().matmul(w, x.act(), y.act(), nullptr);
                const auto out = y.get();
                if (streamed) {
                    EXPECT_EQ(out[0], static_cast<float>(0x7fc00001)) << what << ": the stream did not read the weights";
                    EXPECT_TRUE(std::none_of(out.begin() + 1, out.end(), [](float v) { return std::isfinite(v); }))
                        << what << ": the substituted matvec wrote its output";
                } else {
                    EXPECT_TRUE(all_finite(out)) << what << ": the matvec without the switch";
                }
            }
        }
    }
    gpu().release(const_cast<void*>(w.data));
}

// The one-token launches fitted to short rows (matvec1_kernel.cuh) are the ones a step takes where
// RF_GPU_MATVEC1_FIT selects them and not otherwise: knocking out a kernel by name leaves its output
// unwritten only where it was chosen. q (norm prologue) and p (plain): <Q4_0, no SwiGLU, norm or not,
// 1 unit, ...>; gate/up: <Q4_0, SwiGLU, norm, 2 units, 1 float4, 2 blocks per SM>.
TEST(GpuDecodeFusion, FittedLaunchesAreChosenForShortRows) {
    if (gpu().device_info().arch.rfind("sm_", 0) != 0) GTEST_SKIP() << "kernel names: CUDA builds only";
    const int64_t E = 1024, F = 2048;  // 32 units per row over 32 lanes; 256 float4s of x
    const auto bq = random_weight_bytes(TensorType::Q4_0, E, E, 8050), bg = random_weight_bytes(TensorType::Q4_0, F, E, 8051),
               bu = random_weight_bytes(TensorType::Q4_0, F, E, 8052), bd = random_weight_bytes(TensorType::Q4_0, E, F, 8053);
    const Weight wq = gpu().load_weight(TensorType::Q4_0, E, E, 1, bq.data()), wg = gpu().load_weight(TensorType::Q4_0, E, F, 1, bg.data()),
                 wu = gpu().load_weight(TensorType::Q4_0, E, F, 1, bu.data()), wd = gpu().load_weight(TensorType::Q4_0, F, E, 1, bd.data());
    const auto ones = std::vector<float>(static_cast<size_t>(E), 1.0f);
    const Weight norm = gpu().load_weight(TensorType::F32, E, 1, 1, ones.data());
    DeviceActs x(1, E), h(1, E), q(1, E), p(1, E), g(1, F), u(1, F), d(1, E);
    x.set(random_floats(static_cast<size_t>(E), 8054));
    const std::string q_kernel = "matvec1_kernelILNS_10TensorTypeE2ELb0ELb1ELi1ELi1ELi1E";
    const std::string p_kernel = "matvec1_kernelILNS_10TensorTypeE2ELb0ELb0ELi1ELi4ELi1E";
    const std::string gu_kernel = "matvec1_kernelILNS_10TensorTypeE2ELb1ELb1ELi2ELi1ELi2E";
    struct Case {
        const char* fit;
        const std::string* kernel;
        bool chosen;
    };
    for (const Case& c : {Case{"1", &q_kernel, true}, Case{"7", &q_kernel, true}, Case{"6", &q_kernel, false},
                          Case{"0", &q_kernel, false}, Case{"2", &p_kernel, true}, Case{"5", &p_kernel, false},
                          Case{"4", &gu_kernel, true}, Case{"7", &gu_kernel, true}, Case{"3", &gu_kernel, false}}) {
        ScopedEnv fit("RF_GPU_MATVEC1_FIT", c.fit);
        ScopedEnv skip("RF_GPU_PROFILE_SKIP", c.kernel->c_str());
        q.poison();
        p.poison();
        g.poison();
        gpu().begin_step(make_plan(1, 0, 16, 4, 8055));
        gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
        gpu().matmul(wq, h.act(), q.act(), nullptr);
        if (c.kernel == &p_kernel) {
            gpu().matmul(wq, x.act(), p.act(), nullptr);
        } else {
            gpu().rms_norm(x.act(), norm, 1e-6f, h.act());
            gpu().matmul(wg, h.act(), g.act(), nullptr);
            gpu().matmul(wu, h.act(), u.act(), nullptr);
            gpu().swiglu(g.act(), u.act(), g.act());
            gpu().matmul(wd, g.act(), d.act(), nullptr);
        }
        const auto out = (c.kernel == &gu_kernel ? g : c.kernel == &p_kernel ? p : q).get();
        EXPECT_EQ(all_finite(out), !c.chosen) << "fit " << c.fit << ", kernel " << *c.kernel
                                               << (c.chosen ? ": not the one launched" : ": launched although not selected");
    }
    for (const Weight* w : {&wq, &wg, &wu, &wd, &norm}) gpu().release(const_cast<void*>(w->data));
}

// Matrices with many more row groups than resident blocks, so that every block of the persistent
// grid loops: a tall plain matvec (with a residual add), and gate/up + SwiGLU feeding the down
// projection through the quantize kernel or its own q8_1 epilogue (both forced: 8M weights is the
// shape rule's boundary).
// Persistent on (default) and off: the same bits; epilogue vs quantize kernel: the same bits; and
// against the CPU.
TEST(GpuDecodeFusion, PersistentMatvecGridChangesNoBit) {
    const int64_t E = 256, F = 32768, R = 70000;
    uint32_t seed = 8100;
    for (TensorType t : {TensorType::Q4_0, TensorType::Q8_0, TensorType::Q4_K, TensorType::Q6_K}) {
        const auto bt = random_weight_bytes(t, R, E, ++seed), bg = random_weight_bytes(t, F, E, ++seed),
                   bu = random_weight_bytes(t, F, E, ++seed), bd = random_weight_bytes(t, E, F, ++seed);
        const Weight wt = gpu().load_weight(t, E, R, 1, bt.data()), wg = gpu().load_weight(t, E, F, 1, bg.data()),
                     wu = gpu().load_weight(t, E, F, 1, bu.data()), wd = gpu().load_weight(t, F, E, 1, bd.data());
        const auto xin = random_floats(static_cast<size_t>(E), ++seed);
        const auto rin = random_floats(static_cast<size_t>(R), ++seed);
        std::vector<float> down_by_epilogue[2];
        for (int epi = 0; epi < 2; ++epi) {  // the SwiGLU q8_1 epilogue forced off, forced on
            ScopedEnv epi_env("RF_GPU_MATVEC1_Q8_EPILOGUE", epi == 1 ? "on" : "off");
            const std::string epi_name = epi == 1 ? " (q8_1 epilogue)" : " (quantize kernel)";
            std::vector<float> tall[3], down[3];
            for (int off = 0; off < 3; ++off) {
                std::unique_ptr<ScopedEnv> env;
                if (off == 1) env = std::make_unique<ScopedEnv>("RF_GPU_MATVEC1_PERSIST", "off");
                if (off == 2) env = std::make_unique<ScopedEnv>("RF_GPU_MATVEC1_XDIRECT", "on");
                DeviceActs x(1, E), y(1, R), res(1, R), g(1, F), u(1, F), h(1, E);
                for (int rep = 0; rep < 2; ++rep) {  // the second step is a fast replay
                    x.set(xin);
                    res.set(rin);
                    gpu().begin_step(make_plan(1, rep, 16, 4, 3));
                    gpu().matmul(wt, x.act(), y.act(), nullptr);
                    gpu().add(res.act(), y.act(), res.act());
                    gpu().matmul(wg, x.act(), g.act(), nullptr);
                    gpu().matmul(wu, x.act(), u.act(), nullptr);
                    gpu().swiglu(g.act(), u.act(), g.act());
                    gpu().matmul(wd, g.act(), h.act(), nullptr);
                    tall[off] = res.get();
                    down[off] = h.get();
                }
            }
            EXPECT_EQ(tall[0], tall[1]) << type_name(t) << ": tall matvec + residual, persistent grid on vs off";
            EXPECT_EQ(down[0], down[1]) << type_name(t) << ": gate/up + SwiGLU + down, persistent grid on vs off" << epi_name;
            EXPECT_EQ(tall[0], tall[2]) << type_name(t) << ": tall matvec, x from global memory vs staged";
            EXPECT_EQ(down[0], down[2]) << type_name(t) << ": gate/up + SwiGLU + down, x from global memory vs staged" << epi_name;
            down_by_epilogue[epi] = down[0];
            // the tall product against the CPU (the residual removed)
            std::vector<float> y_cpu(static_cast<size_t>(R));
            cpu::matmul(pool(), Weight::view(t, E, R, 1, bt.data()), {const_cast<float*>(xin.data()), 1, E}, {y_cpu.data(), 1, R}, nullptr);
            std::vector<float> y_gpu(static_cast<size_t>(R));
            for (size_t i = 0; i < y_gpu.size(); ++i) y_gpu[i] = tall[0][i] - rin[i];
            EXPECT_NMSE_LE(y_gpu, y_cpu, 1e-3, std::string("tall matvec vs cpu ") + type_name(t));
        }
        // the epilogue quantizes exactly as the quantize kernel does
        EXPECT_EQ(down_by_epilogue[0], down_by_epilogue[1]) << type_name(t) << ": SwiGLU q8_1 epilogue vs quantize kernel";
        for (const Weight* w : {&wt, &wg, &wu, &wd}) gpu().release(const_cast<void*>(w->data));
    }
}

}  // namespace
}  // namespace rf::gputest
