// The f16 weight cache of the vendor-GEMM path (gpu_host/f16_weight_cache.h) on the device:
//   - results with the cache (the step that fills a copy and the steps that reuse it) are
//     bit-identical to those without it, for several weight types, whole matrices and row chunks;
//   - the budget holds: a budget below one copy caches nothing, a budget of one copy keeps one
//     copy and evicts it only once it has been idle for a whole step;
//   - two matrices never share a copy, also when a released weight's address comes back;
//   - a chunked prompt through the engine (Session -> Model -> GpuBackend) gives the same logits.
// The policy itself (LRU order, failed steps, giving memory back) is tested on the CPU
// (tests/unit/gpu_f16_cache_test.cpp).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>

#include "backend/gpu/gpu_dispatch_table.h"
#include "backend/gpu/gpu_weight_layout.h"
#include "engine/default_model.h"
#include "engine/session.h"
#include "formats/gguf/gguf_file.h"
#include "gpu/gpu_test_util.h"
#include "kv/kv_cache.h"
#include "model/model.h"

namespace rf::gputest {
namespace {

using gpu::DispatchTable;

bool has_vendor_gemm() { return gpu().device_info().arch.rfind("sm_", 0) == 0; }

// Every matmul with at least one token on the vendor GEMM; chunk_bytes: most dequantized bytes
// per GEMM call (0: the device's own).
DispatchTable vendor_table(size_t chunk_bytes = 0) {
    DispatchTable t = gpu::dispatch_table_for(gpu().device_info().arch);
    t.arch = "test";
    t.matvec_max_tokens = 0;
    t.gemm_max_tokens = 0;
    if (chunk_bytes > 0) t.blas_chunk_bytes = chunk_bytes;
    return t;
}

struct ScopedDispatch {
    explicit ScopedDispatch(const DispatchTable& t) { gpu::set_dispatch_override(&t); }
    ~ScopedDispatch() { gpu::set_dispatch_override(nullptr); }
};

// Sets the cache budget for the life of the object, then back to the automatic one.
struct ScopedBudget {
    explicit ScopedBudget(int64_t bytes) { gpu().set_f16_cache_budget(bytes); }
    void set(int64_t bytes) { gpu().set_f16_cache_budget(bytes); }
    ~ScopedBudget() { gpu().set_f16_cache_budget(-1); }
};

struct DeviceWeight {
    Weight w;
    DeviceWeight(TensorType t, int64_t rows, int64_t cols, uint32_t seed) {
        const auto bytes = random_weight_bytes(t, rows, cols, seed);
        w = gpu().load_weight(t, cols, rows, 1, bytes.data());
    }
    ~DeviceWeight() { gpu().release(const_cast<void*>(w.data)); }
    size_t f16_bytes() const { return static_cast<size_t>(w.rows * w.cols) * 2; }
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

// y = x . W^T in one flush (the download syncs).
std::vector<float> product(const Weight& w, const DeviceActs& x, DeviceActs& y) {
    y.poison();
    gpu().matmul(w, x.act(), y.act(), nullptr);
    return y.get();
}

TEST(GpuF16Cache, VendorGemmBitIdenticalWithTheCache) {
    if (!has_vendor_gemm()) GTEST_SKIP() << "no vendor GEMM in this build";
    struct Case {
        TensorType type;
        int64_t rows, cols, T;
        size_t chunk_bytes;  // 0: whole matrix
    };
    const Case cases[] = {
        {TensorType::Q4_0, 300, 32 * 37, 100, 0},  {TensorType::Q4_K, 300, 256 * 5, 130, 0},
        {TensorType::Q6_K, 257, 256 * 3, 97, 0},   {TensorType::Q8_0, 300, 32 * 37, 512, 0},
        {TensorType::Q5_0, 640, 32 * 20, 128, 64 * 32 * 20 * 2},  // 10 chunks of 64 rows
        {TensorType::Q4_0, 300, 32 * 37, 100, 128 * 32 * 37 * 2},  // chunks of 128, 128, 44 rows
    };
    uint32_t seed = 4100;
    for (const Case& c : cases) {
        const DispatchTable t = vendor_table(c.chunk_bytes);
        ScopedDispatch force(t);
        DeviceWeight w(c.type, c.rows, c.cols, seed += 7);
        DeviceActs x(random_floats(static_cast<size_t>(c.T * c.cols), seed + 1), c.T, c.cols), y(c.T, c.rows);
        const std::string what = std::string(type_name(c.type)) + " " + std::to_string(c.rows) + "x" +
                                 std::to_string(c.cols) + " T=" + std::to_string(c.T) +
                                 (c.chunk_bytes ? " chunked" : "");
        ScopedBudget budget(0);  // off
        const GpuGraphStats s0 = gpu().graph_stats();
        const std::vector<float> off = product(w.w, x, y);
        ASSERT_TRUE(all_finite(off)) << what;
        budget.set(int64_t{1} << 30);
        const GpuGraphStats s1 = gpu().graph_stats();
        const std::vector<float> fill = product(w.w, x, y);
        const GpuGraphStats s2 = gpu().graph_stats();
        const std::vector<float> hit = product(w.w, x, y);
        const GpuGraphStats s3 = gpu().graph_stats();
        EXPECT_TRUE(same_bits(fill, off)) << what << ": the step that fills the copy differs";
        EXPECT_TRUE(same_bits(hit, off)) << what << ": the step that reads the copy differs";
        EXPECT_EQ(s1.f16_cache_hits + s1.f16_cache_fills, s0.f16_cache_hits + s0.f16_cache_fills) << what << ": cache used while off";
        EXPECT_EQ(s2.f16_cache_fills - s1.f16_cache_fills, 1) << what;
        EXPECT_EQ(s3.f16_cache_hits - s2.f16_cache_hits, 1) << what;
        EXPECT_EQ(gpu().f16_cache_info().used_bytes, w.f16_bytes()) << what;
    }
}

TEST(GpuF16Cache, BudgetIsRespected) {
    if (!has_vendor_gemm()) GTEST_SKIP() << "no vendor GEMM in this build";
    const DispatchTable t = vendor_table();
    ScopedDispatch force(t);
    const int64_t rows = 384, cols = 32 * 24, T = 128;
    DeviceWeight a(TensorType::Q4_0, rows, cols, 4201), b(TensorType::Q4_0, rows, cols, 4202);
    DeviceActs x(random_floats(static_cast<size_t>(T * cols), 4203), T, cols), y(T, rows);
    ScopedBudget budget(0);
    const std::vector<float> ya = product(a.w, x, y), yb = product(b.w, x, y);

    // below one copy: nothing is cached, every product dequantizes into the scratch
    budget.set(static_cast<int64_t>(a.f16_bytes()) - 1);
    const GpuGraphStats s0 = gpu().graph_stats();
    EXPECT_TRUE(same_bits(product(a.w, x, y), ya));
    EXPECT_TRUE(same_bits(product(a.w, x, y), ya));
    const GpuGraphStats s1 = gpu().graph_stats();
    EXPECT_EQ(gpu().f16_cache_info().entries, 0);
    EXPECT_EQ(gpu().f16_cache_info().used_bytes, 0u);
    EXPECT_EQ(s1.f16_cache_bypasses - s0.f16_cache_bypasses, 2);
    EXPECT_EQ(s1.f16_cache_fills - s0.f16_cache_fills, 0);

    // one copy: a is cached; b, in the next step, finds a still in use (used one step ago) and
    // bypasses; in the step after, a has been idle for a whole step and is evicted for b
    budget.set(static_cast<int64_t>(a.f16_bytes()));
    const int64_t ev0 = gpu().f16_cache_info().evictions;
    const GpuGraphStats s2 = gpu().graph_stats();
    EXPECT_TRUE(same_bits(product(a.w, x, y), ya));
    EXPECT_LE(gpu().f16_cache_info().used_bytes, a.f16_bytes());
    EXPECT_TRUE(same_bits(product(b.w, x, y), yb));
    EXPECT_EQ(gpu().f16_cache_info().entries, 1);
    EXPECT_EQ(gpu().f16_cache_info().evictions, ev0);
    const GpuGraphStats s3 = gpu().graph_stats();
    EXPECT_EQ(s3.f16_cache_fills - s2.f16_cache_fills, 1);
    EXPECT_EQ(s3.f16_cache_bypasses - s2.f16_cache_bypasses, 1);
    EXPECT_TRUE(same_bits(product(b.w, x, y), yb));  // evicts a, fills b
    EXPECT_EQ(gpu().f16_cache_info().evictions, ev0 + 1);
    EXPECT_TRUE(same_bits(product(b.w, x, y), yb));  // reads b
    EXPECT_TRUE(same_bits(product(a.w, x, y), ya));  // a again: b is in use, a bypasses
    const GpuGraphStats s4 = gpu().graph_stats();
    EXPECT_EQ(s4.f16_cache_fills - s3.f16_cache_fills, 1);
    EXPECT_EQ(s4.f16_cache_hits - s3.f16_cache_hits, 1);
    EXPECT_EQ(s4.f16_cache_bypasses - s3.f16_cache_bypasses, 1);
    EXPECT_EQ(gpu().f16_cache_info().entries, 1);
    EXPECT_LE(gpu().f16_cache_info().used_bytes, a.f16_bytes());

    // a lower budget gives the copy back at once
    budget.set(static_cast<int64_t>(a.f16_bytes()) / 2);
    EXPECT_EQ(gpu().f16_cache_info().used_bytes, 0u);
}

TEST(GpuF16Cache, TwoMatricesNeverShareACopy) {
    if (!has_vendor_gemm()) GTEST_SKIP() << "no vendor GEMM in this build";
    const DispatchTable t = vendor_table();
    ScopedDispatch force(t);
    const TensorType type = TensorType::Q4_K;
    const int64_t rows = 320, cols = 256 * 4, T = 120;
    DeviceActs x(random_floats(static_cast<size_t>(T * cols), 4301), T, cols), ya(T, rows), yb(T, rows);
    DeviceWeight a(type, rows, cols, 4302);
    auto b = std::make_unique<DeviceWeight>(type, rows, cols, 4303);
    // both in one step on the same input (the second reuses the first's f16 input)
    auto both = [&] {
        ya.poison();
        yb.poison();
        gpu().matmul(a.w, x.act(), ya.act(), nullptr);
        gpu().matmul(b->w, x.act(), yb.act(), nullptr);
        return std::make_pair(ya.get(), yb.get());
    };
    ScopedBudget budget(0);
    const auto off = both();
    ASSERT_FALSE(same_bits(off.first, off.second));
    budget.set(int64_t{1} << 30);
    for (int run = 0; run < 2; ++run) {  // fill, then read
        const auto on = both();
        EXPECT_TRUE(same_bits(on.first, off.first)) << "run " << run;
        EXPECT_TRUE(same_bits(on.second, off.second)) << "run " << run;
        EXPECT_EQ(gpu().f16_cache_info().entries, 2);
    }
    // b released, c loaded (the allocator tends to hand out b's address again): c's product must
    // not read b's copy
    const void* b_addr = b->w.data;
    b.reset();
    EXPECT_EQ(gpu().f16_cache_info().entries, 1);
    DeviceWeight c(type, rows, cols, 4304);
    std::printf("  released weight at %p, new weight at %p\n", b_addr, c.w.data);
    const std::vector<float> c_on = product(c.w, x, yb);
    const std::vector<float> c_on2 = product(c.w, x, yb);
    budget.set(0);
    const std::vector<float> c_off = product(c.w, x, yb);
    EXPECT_TRUE(same_bits(c_on, c_off));
    EXPECT_TRUE(same_bits(c_on2, c_off));
    EXPECT_FALSE(same_bits(c_on, off.second));

    // a weight overwritten in place (upload into its memory) loses its copy too
    budget.set(int64_t{1} << 30);
    const std::vector<float> c_before = product(c.w, x, yb);
    DeviceWeight d(type, rows, cols, 4305);
    const std::vector<float> d_ref = product(d.w, x, yb);
    gpu().copy(const_cast<void*>(c.w.data), d.w.data, gpu::matrix_layout(type, rows, cols).mat_stride);
    EXPECT_TRUE(same_bits(product(c.w, x, yb), d_ref));
    EXPECT_FALSE(same_bits(c_before, d_ref));
}

TEST(GpuF16Cache, ChunkedPromptThroughTheEngineIsBitIdentical) {
    if (!has_vendor_gemm()) GTEST_SKIP() << "no vendor GEMM in this build";
    Model model(open_default_model(), gpu());
    KvCache kv(gpu(), KvCacheConfig{32, 16, KvCodec::F16}, model.kv_layer_shapes());
    std::vector<int32_t> prompt(300);
    for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % 4000);
    auto feed = [&] {
        Session s(model, kv, 320);
        std::vector<float> last;
        s.feed(prompt, 128, &last);  // chunks of 128, 128, 44 tokens: two on the vendor GEMM
        return last;
    };
    ScopedBudget budget(0);
    const std::vector<float> off = feed();
    budget.set(int64_t{1} << 30);
    const GpuGraphStats s0 = gpu().graph_stats();
    const std::vector<float> first = feed();  // fills in the first chunk, reads in the second
    const std::vector<float> again = feed();
    const GpuGraphStats s1 = gpu().graph_stats();
    EXPECT_TRUE(same_bits(first, off));
    EXPECT_TRUE(same_bits(again, off));
    EXPECT_GT(s1.f16_cache_fills - s0.f16_cache_fills, 0);
    EXPECT_EQ(s1.f16_cache_hits - s0.f16_cache_hits, 3 * (s1.f16_cache_fills - s0.f16_cache_fills));
    EXPECT_EQ(s1.f16_cache_bypasses - s0.f16_cache_bypasses, 0);
}

}  // namespace
}  // namespace rf::gputest
