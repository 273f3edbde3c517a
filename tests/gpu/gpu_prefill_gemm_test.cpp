// Many-token matrix products against the CPU: the tiled GEMM (matrix units and the FMA form
// that GPUs without them run), the vendor GEMM on dequantized rows, and the per-architecture
// default, for token counts 1, 2, 3, 7, 16, 33, 512 (each tile shape, split-K and not, partial
// row / token / K tiles), every weight type the GEMM takes, with and without bias.
#include <gtest/gtest.h>

#include "backend/gpu/gpu_dispatch_table.h"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

using gpu::DispatchTable;
using gpu::GemmCompute;

struct PathCase {
    const char* name;
    DispatchTable table;
};

DispatchTable forced(int64_t matvec_max, int64_t gemm_max, GemmCompute compute) {
    DispatchTable t;
    t.arch = "test";
    t.matvec_max_tokens = matvec_max;
    t.gemm_max_tokens = gemm_max;
    t.gemm_compute = compute;
    t.flash_attention = false;
    return t;
}

// Forces a dispatch table for the life of the object.
struct ScopedDispatch {
    explicit ScopedDispatch(const DispatchTable* t) { gpu::set_dispatch_override(t); }
    ~ScopedDispatch() { gpu::set_dispatch_override(nullptr); }
};

bool is_mma_device() { return gpu::dispatch_table_for(gpu().device_info().arch).gemm_compute == GemmCompute::Mma; }

// NMSE bound of y against the CPU's f32 product: the GEMM rounds weights and x to f16 (2^-11
// relative) or bf16 (2^-8); the vendor path likewise; the matvec fallback quantizes x to q8_1.
double bound(TensorType t) { return t == TensorType::BF16 ? 2e-4 : 2e-5; }

struct HostWeight {
    std::vector<uint8_t> bytes;
    Weight cpu, gpu;
    HostWeight(TensorType t, int64_t rows, int64_t cols, uint32_t seed) {
        bytes = random_weight_bytes(t, rows, cols, seed);
        cpu.type = t;
        cpu.cols = cols;
        cpu.rows = rows;
        cpu.data = bytes.data();
        cpu.row_bytes = row_size(t, cols);
        gpu = gputest::gpu().load_weight(t, cols, rows, 1, bytes.data());
    }
    ~HostWeight() { gputest::gpu().release(const_cast<void*>(gpu.data)); }
};

void check_product(TensorType t, int64_t rows, int64_t cols, int64_t T, bool with_bias, uint32_t seed,
                   const std::string& path, double nmse_bound) {
    HostWeight w(t, rows, cols, seed);
    const auto x = random_floats(static_cast<size_t>(T * cols), seed + 1);
    const auto bias = random_floats(static_cast<size_t>(rows), seed + 2);
    const Weight bg = gpu().load_weight(TensorType::F32, rows, 1, 1, bias.data());
    DeviceActs dx(x, T, cols), dy(T, rows);
    dy.poison();
    gpu().matmul(w.gpu, dx.act(), dy.act(), with_bias ? &bg : nullptr);
    std::vector<float> ref(static_cast<size_t>(T * rows));
    cpu::matmul(pool(), w.cpu, {const_cast<float*>(x.data()), T, cols}, {ref.data(), T, rows},
                with_bias ? bias.data() : nullptr);
    const std::string what = path + " " + type_name(t) + " " + std::to_string(rows) + "x" + std::to_string(cols) +
                             " T=" + std::to_string(T) + (with_bias ? " bias" : "");
    EXPECT_NMSE_LE(dy.get(), ref, nmse_bound, what);
    gpu().release(const_cast<void*>(bg.data));
}

const TensorType kGemmTypes[] = {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1,
                                 TensorType::Q8_0, TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K,
                                 TensorType::Q5_K, TensorType::Q6_K, TensorType::F16,  TensorType::BF16};

// A width with a partial last K tile for every tile shape (BK 256 / 128 / 64).
int64_t odd_width(TensorType t) { return block_size(t) == 256 ? 256 * 5 : 32 * 37; }

TEST(GpuPrefillGemm, TiledGemmEveryTypeAndTokenCount) {
    const bool mma = is_mma_device();
    std::vector<PathCase> paths = {{"gemm-fma", forced(0, INT64_MAX, GemmCompute::Fma)}};
    if (mma) paths.insert(paths.begin(), PathCase{"gemm-mma", forced(0, INT64_MAX, GemmCompute::Mma)});
    uint32_t seed = 10;
    for (const PathCase& p : paths) {
        ScopedDispatch force(&p.table);
        for (TensorType t : kGemmTypes)
            for (int64_t T : {1, 2, 3, 7, 16, 33, 512}) {
                // every type at two token counts; the token sweep on three types
                const bool sweep = t == TensorType::Q4_0 || t == TensorType::Q6_K || t == TensorType::F16;
                if (!sweep && T != 7 && T != 33) continue;
                check_product(t, 300, odd_width(t), T, T == 7 || T == 512, seed += 3, p.name, bound(t));
            }
    }
}

// Shapes large enough that the grid needs no K split, for each tile shape.
TEST(GpuPrefillGemm, TiledGemmWithoutSplit) {
    const DispatchTable t = forced(0, INT64_MAX, is_mma_device() ? GemmCompute::Mma : GemmCompute::Fma);
    ScopedDispatch force(&t);
    const int n_sm = gpu().device_info().multiprocessors;
    uint32_t seed = 500;
    // small tile 64x16 and mid tile 64x64 need >= 4 blocks per SM; the large tile 128x128 one
    check_product(TensorType::Q4_0, 64 * 4 * n_sm + 5, 256, 16, true, seed += 3, "nosplit-small", 2e-5);
    check_product(TensorType::Q6_K, 64 * 4 * n_sm + 5, 256, 64, false, seed += 3, "nosplit-mid", 2e-5);
    check_product(TensorType::Q8_0, 128 * n_sm / 4 + 3, 256, 512, true, seed += 3, "nosplit-large", 2e-5);
}

// Vendor GEMM on dequantized rows (CUDA builds), chunked rows included.
TEST(GpuPrefillGemm, VendorGemmOnDequantizedRows) {
    if (gpu().device_info().arch.rfind("sm_", 0) != 0) GTEST_SKIP() << "no vendor GEMM in this build";
    DispatchTable t = forced(0, 0, GemmCompute::Mma);
    t.blas_chunk_bytes = 64 * 1280 * 2;  // 64-row chunks: several GEMM calls per matrix
    ScopedDispatch force(&t);
    uint32_t seed = 900;
    for (TensorType ty : kGemmTypes)
        for (int64_t T : {9, 100}) check_product(ty, 300, odd_width(ty), T, T == 9, seed += 3, "blas", bound(ty));
    check_product(TensorType::Q4_K, 300, odd_width(TensorType::Q4_K), 512, true, seed += 3, "blas", 2e-5);
}

// What the device's own table picks, at every token count of the harness.
TEST(GpuPrefillGemm, DefaultDispatchEveryTokenCount) {
    uint32_t seed = 1300;
    for (TensorType t : {TensorType::Q4_0, TensorType::Q4_K, TensorType::Q8_0})
        for (int64_t T : {1, 2, 3, 7, 16, 33, 512})
            // the matvec path (T <= 8) quantizes x to q8_1: its bound is that of gpu_matmul_test
            check_product(t, 300, odd_width(t), T, T == 33, seed += 3, "default", T <= 8 ? 4e-4 : 2e-5);
}

}  // namespace
}  // namespace rf::gputest
