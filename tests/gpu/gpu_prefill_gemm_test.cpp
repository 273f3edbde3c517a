// Many-token matrix products against the exact product: the tiled GEMM (matrix units and the FMA form
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

// NMSE bound of y against the exact product of the dequantized weights and x (exact_product):
// the GEMM rounds weights and x to f16 (2^-11 relative) or bf16 (2^-8); the vendor path
// likewise; the matvec fallback quantizes x to q8_1.
// The reference is not cpu::matmul: since the SIMD CPU kernels (011b8a4) it quantizes x to Q8_0 /
// Q8_1 (blocks of 32) or Q8_K (blocks of 256) like llama.cpp's CPU backend, which alone puts it
// 2.7e-5 .. 3.2e-5 (Q8_0/Q8_1) and 4.5e-5 .. 5.3e-5 (Q8_K) NMSE from the exact product on these
// random inputs (a rounding step of max|x|/127 per block: variance step^2 / 12, ~2.8e-5 of x's for
// Gaussian blocks of 32), more than the 2e-5 this test allows the GPU.
double bound(TensorType t) { return t == TensorType::BF16 ? 2e-4 : 2e-5; }

// y[t, r] = x[t, :] . dequantized w[r, :] (+ bias), accumulated in double.
std::vector<float> exact_product(const Weight& w, const std::vector<float>& x, int64_t T, const float* bias) {
    std::vector<float> y(static_cast<size_t>(T * w.rows));
    pool().parallel_for(
        w.rows,
        [&](int64_t r0, int64_t r1) {
            std::vector<float> row(static_cast<size_t>(w.cols));
            for (int64_t r = r0; r < r1; ++r) {
                cpu::weight_row_to_f32(w, 0, r, row.data());
                for (int64_t t = 0; t < T; ++t) {
                    const float* xt = x.data() + t * w.cols;
                    double acc = bias ? bias[r] : 0.0;
                    for (int64_t k = 0; k < w.cols; ++k) acc += static_cast<double>(row[static_cast<size_t>(k)]) * xt[k];
                    y[static_cast<size_t>(t * w.rows + r)] = static_cast<float>(acc);
                }
            }
        },
        8);
    return y;
}

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
    const std::vector<float> ref = exact_product(w.cpu, x, T, with_bias ? bias.data() : nullptr);
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
