// GPU ops against the CPU ops: element-wise, rms_norm, rope, embed, gather, kv_store; the
// device and the safety protocol.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "backend/gpu_host/vram_budget.h"
#include "core/error.h"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

const TensorType kAllTypes[] = {TensorType::F32,  TensorType::F16,  TensorType::BF16, TensorType::Q4_0, TensorType::Q4_1,
                                TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0, TensorType::Q2_K, TensorType::Q3_K,
                                TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K};

TEST(GpuDevice, ReportsItselfAndRefusesWhatDoesNotFit) {
    const GpuDeviceInfo info = gpu().device_info();
    EXPECT_FALSE(info.name.empty());
    EXPECT_GT(info.multiprocessors, 0);
    EXPECT_GT(info.total_bytes, 0u);
    EXPECT_LE(info.free_bytes, info.total_bytes);
    VramNeed small{1u << 20, 1u << 20, 1u << 20};
    EXPECT_NO_THROW(gpu().check_vram(small));
    VramNeed huge{info.total_bytes, info.total_bytes, 0};
    try {
        gpu().check_vram(huge);
        FAIL() << "a need of twice the card was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("GiB free"), std::string::npos) << e.what();
    }
}

TEST(GpuOps, AddAndSwigluOddSizes) {
    for (int64_t n : {1, 31, 33, 4097, 100003}) {
        const auto a = random_floats(static_cast<size_t>(n), 1 + static_cast<uint32_t>(n));
        const auto b = random_floats(static_cast<size_t>(n), 2 + static_cast<uint32_t>(n));
        DeviceActs da(a, 1, n), db(b, 1, n), out(1, n);
        std::vector<float> ref(static_cast<size_t>(n));
        out.poison();
        gpu().add(da.act(), db.act(), out.act());
        cpu::add(pool(), {const_cast<float*>(a.data()), 1, n}, {const_cast<float*>(b.data()), 1, n}, {ref.data(), 1, n});
        EXPECT_NMSE_LE(out.get(), ref, 1e-14, "add n=" + std::to_string(n));
        out.poison();
        gpu().swiglu(da.act(), db.act(), out.act());
        cpu::swiglu(pool(), {const_cast<float*>(a.data()), 1, n}, {const_cast<float*>(b.data()), 1, n}, {ref.data(), 1, n});
        EXPECT_NMSE_LE(out.get(), ref, 1e-12, "swiglu n=" + std::to_string(n));
        // in place: out aliases a
        gpu().add(da.act(), db.act(), da.act());
        cpu::add(pool(), {const_cast<float*>(a.data()), 1, n}, {const_cast<float*>(b.data()), 1, n}, {ref.data(), 1, n});
        EXPECT_NMSE_LE(da.get(), ref, 1e-14, "add in place n=" + std::to_string(n));
    }
}

TEST(GpuOps, RmsNormRowsAndHeads) {
    for (int64_t rows : {1, 3, 33})
        for (int64_t cols : {31, 33, 64, 896, 1024, 1056, 4097}) {
            const auto x = random_floats(static_cast<size_t>(rows * cols), 10 + static_cast<uint32_t>(rows * cols), 2.0f);
            const auto w = random_floats(static_cast<size_t>(cols), 11 + static_cast<uint32_t>(cols));
            const Weight wg = gpu().load_weight(TensorType::F32, cols, 1, 1, w.data());
            DeviceActs dx(x, rows, cols), out(rows, cols);
            out.poison();
            gpu().rms_norm(dx.act(), wg, 1e-6f, out.act());
            std::vector<float> ref(x.size());
            cpu::rms_norm(pool(), {const_cast<float*>(x.data()), rows, cols}, w.data(), 1e-6f, {ref.data(), rows, cols});
            const std::string what = "rms_norm " + std::to_string(rows) + "x" + std::to_string(cols);
            EXPECT_NMSE_LE(out.get(), ref, 1e-11, what);
            // in place, per-head view (cols = heads * head_dim)
            gpu().rms_norm(dx.act(), wg, 1e-6f, dx.act());
            EXPECT_NMSE_LE(dx.get(), ref, 1e-11, what + " in place");
        }
    // per-head: [T, heads * hd] viewed as [T * heads, hd]
    const int T = 5, heads = 7, hd = 128;
    const auto x = random_floats(T * heads * hd, 99);
    const auto w = random_floats(hd, 98);
    const Weight wg = gpu().load_weight(TensorType::F32, hd, 1, 1, w.data());
    DeviceActs dx(x, T, heads * hd);
    gpu().rms_norm(dx.act().reshape(hd), wg, 1e-6f, dx.act().reshape(hd));
    std::vector<float> ref(x.size());
    cpu::rms_norm(pool(), Act{const_cast<float*>(x.data()), T, heads * hd}.reshape(hd), w.data(), 1e-6f,
                  Act{ref.data(), T, heads * hd}.reshape(hd));
    EXPECT_NMSE_LE(dx.get(), ref, 1e-11, "rms_norm per head");
}

TEST(GpuOps, RopeNeoxNormalPartialYarn) {
    struct Case {
        int hd, n_rot;
        bool neox;
        float ext;
    };
    const Case cases[] = {{64, 64, true, 0.0f}, {128, 128, true, 0.0f}, {128, 64, false, 0.0f}, {256, 64, true, 0.0f},
                          {128, 128, false, 1.0f}, {64, 32, true, 1.0f}};
    int seed = 0;
    for (const Case& c : cases) {
        RopeParams p;
        p.n_rot = c.n_rot;
        p.neox = c.neox;
        p.freq_base = 1e6f;
        if (c.ext != 0.0f) {
            p.ext_factor = c.ext;
            p.freq_scale = 0.25f;
            p.n_ctx_orig = 4096;
        }
        const int T = 6, heads = 3;
        StepPlan plan = make_plan(T, 30000, 16, 2000, 7 + seed);
        const auto x = random_floats(static_cast<size_t>(T * heads * c.hd), 20 + seed++);
        DeviceActs dx(x, T, heads * c.hd);
        gpu().begin_step(plan);
        gpu().rope(dx.act(), heads, c.hd, p);
        std::vector<float> ref = x;
        cpu::rope(pool(), {ref.data(), T, heads * c.hd}, plan.positions.data(), heads, c.hd, p);
        EXPECT_NMSE_LE(dx.get(), ref, 1e-10,
                       "rope hd " + std::to_string(c.hd) + " n_rot " + std::to_string(c.n_rot) + (c.neox ? " neox" : " normal") +
                           (c.ext != 0.0f ? " yarn" : ""));
    }
}

TEST(GpuOps, EmbedEveryType) {
    for (TensorType t : kAllTypes) {
        const int64_t bs = block_size(t);
        for (int64_t cols : {bs == 1 ? int64_t{33} : bs * 3, bs == 1 ? int64_t{4097} : bs * 17}) {
            const int64_t rows = 1000;
            const auto bytes = random_weight_bytes(t, rows, cols, 5 + static_cast<uint32_t>(cols));
            const Weight wg = gpu().load_weight(t, cols, rows, 1, bytes.data());
            const Weight wc = Weight::view(t, cols, rows, 1, bytes.data());
            const int T = 7;
            StepPlan plan = make_plan(T, 0, 16, 64, 3, static_cast<int>(rows));
            DeviceActs out(T, cols);
            out.poison();
            gpu().begin_step(plan);
            gpu().embed(wg, out.act());
            std::vector<float> ref(static_cast<size_t>(T * cols));
            cpu::embed(pool(), wc, plan.tokens.data(), {ref.data(), T, cols});
            // every type to float rounding, Q4_K too (its K units keep GGUF's scales exactly; the
            // earlier Q4_1 transcoding rounded d * scale to f16: NMSE ~1e-7); Q5_K is stored as Q5_1
            // with f16-rounded folded scales (device_type())
            EXPECT_NMSE_LE(out.get(), ref, t == TensorType::Q5_K ? 1e-6 : 1e-12,
                           std::string("embed ") + type_name(t) + " cols " + std::to_string(cols));
        }
    }
}

// A token fed on the device (the previous step's argmax, StepPlan::first_token_from_device) is not
// checked by the host; one outside the table (here the argmax of a 2000-wide row over a 1000-row
// table) gives a NaN embedding row instead of a read past the table; the other tokens are embedded
// as usual. Both ways of moving the step data and the argmax result (kernels reading / writing
// pinned host memory, the default; cudaMemcpyAsync with RF_GPU_ZERO_COPY=off).
TEST(GpuOps, EmbedOfADeviceFedIdOutsideTheTableIsNan) {
    for (const char* zero_copy : {"on", "off"}) {
        SCOPED_TRACE(std::string("RF_GPU_ZERO_COPY=") + zero_copy);
        ScopedEnv env("RF_GPU_ZERO_COPY", zero_copy);
        const TensorType t = TensorType::Q8_0;
        const int64_t rows = 1000, cols = 64;
        const auto bytes = random_weight_bytes(t, rows, cols, 77);
        const Weight wg = gpu().load_weight(t, cols, rows, 1, bytes.data());
        const Weight wc = Weight::view(t, cols, rows, 1, bytes.data());
        std::vector<float> logits(2000, 0.0f);
        logits[1500] = 1.0f;
        DeviceActs dl(logits, 1, 2000);
        gpu().argmax_async(dl.act().data, 2000);
        const int T = 3;
        StepPlan plan = make_plan(T, 0, 16, 64, 5, static_cast<int>(rows));
        plan.first_token_from_device = true;
        DeviceActs out(T, cols);
        out.poison();
        gpu().begin_step(plan);
        gpu().embed(wg, out.act());
        const std::vector<float> got = out.get();
        EXPECT_EQ(gpu().argmax_wait(), 1500);
        for (int64_t c = 0; c < cols; ++c) EXPECT_TRUE(std::isnan(got[static_cast<size_t>(c)])) << "column " << c;
        std::vector<float> ref(static_cast<size_t>(T * cols));
        cpu::embed(pool(), wc, plan.tokens.data(), {ref.data(), T, cols});
        const std::vector<float> got_rest(got.begin() + cols, got.end()), ref_rest(ref.begin() + cols, ref.end());
        EXPECT_NMSE_LE(got_rest, ref_rest, 1e-12, "the host-fed tokens after it");
        gpu().release(const_cast<void*>(wg.data));
    }
}

TEST(GpuOps, GatherOutputRows) {
    const int T = 9;
    const int64_t cols = 4097;
    StepPlan plan = make_plan(T, 3, 16, 64, 4);
    plan.output_rows = {8, 0, 5};
    const auto x = random_floats(static_cast<size_t>(T * cols), 44);
    DeviceActs dx(x, T, cols), out(3, cols);
    out.poison();
    gpu().begin_step(plan);
    gpu().gather_output_rows(dx.act(), out.act());
    std::vector<float> ref;
    for (int r : plan.output_rows) ref.insert(ref.end(), x.begin() + r * cols, x.begin() + (r + 1) * cols);
    EXPECT_NMSE_LE(out.get(), ref, 0.0, "gather");
}

TEST(GpuOps, KvStoreBothCodecs) {
    for (KvCodec codec : {KvCodec::F32, KvCodec::F16}) {
        const int n_kv = 3, hd = 64, bs = 16, n_blocks = 20, T = 21;
        const size_t pool_bytes = static_cast<size_t>(n_blocks) * n_kv * bs * kv_row_bytes(codec, hd);
        std::vector<uint8_t> host_k(pool_bytes, 0x5a), host_v(pool_bytes, 0xa5);
        void* dk = gpu().alloc(pool_bytes);
        void* dv = gpu().alloc(pool_bytes);
        gpu().upload(dk, host_k.data(), pool_bytes);
        gpu().upload(dv, host_v.data(), pool_bytes);
        KvLayerView gl{dk, dv, codec, bs, n_kv, hd}, cl{host_k.data(), host_v.data(), codec, bs, n_kv, hd};
        StepPlan plan = make_plan(T, 5, bs, n_blocks, 12);
        const auto k = random_floats(static_cast<size_t>(T * n_kv * hd), 50);
        const auto v = random_floats(static_cast<size_t>(T * n_kv * hd), 51);
        DeviceActs gk(k, T, n_kv * hd), gv(v, T, n_kv * hd);
        gpu().begin_step(plan);
        gpu().kv_store(gl, gk.act(), gv.act());
        cpu::kv_store(pool(), cl, plan.kv_slots.data(), {const_cast<float*>(k.data()), T, n_kv * hd},
                      {const_cast<float*>(v.data()), T, n_kv * hd});
        std::vector<uint8_t> back_k(pool_bytes), back_v(pool_bytes);
        gpu().download(back_k.data(), dk, pool_bytes);
        gpu().download(back_v.data(), dv, pool_bytes);
        EXPECT_EQ(back_k, host_k) << kv_codec_name(codec);
        EXPECT_EQ(back_v, host_v) << kv_codec_name(codec);
        gpu().release(dk);
        gpu().release(dv);
    }
}

}  // namespace
}  // namespace rf::gputest
