// The GPU's weight layout on the host side (backend/gpu/gpu_weight_layout.h): Q4_K's K units keep
// every scale and min of the GGUF super-block (one word per unit) and take 4.625 bits per weight on
// the device, not the 5.0 of the Q4_1 transcoding they replaced; Q5_K stays Q5_1 (6.0). The device side (dequantization, dot products) is checked against the
// CPU in the GPU harness (tests/gpu: embed NMSE 1e-12, matmul bounds).
#include <gtest/gtest.h>

#include <random>

#include "backend/gpu/gpu_weight_layout.h"
#include "formats/quant/quant_common.h"

namespace rf {
namespace {

using gpu::k_unit_scale_min;
using gpu::k_unit_scales;
using gpu::KSuperBlockScales;
using quant::pack_scale_min_k4;
using quant::unpack_scale_min_k4;

TEST(GpuWeightLayout, KUnitScalesAreEveryScaleAndMinOfTheSuperBlock) {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 2000; ++trial) {
        uint8_t block[16];
        for (uint8_t& b : block) b = static_cast<uint8_t>(rng());
        uint8_t sc[8], mn[8];
        if (trial < 64) {  // every 6-bit value in every position
            for (int j = 0; j < 8; ++j) {
                sc[j] = static_cast<uint8_t>((trial + 7 * j) & 63);
                mn[j] = static_cast<uint8_t>((63 - trial + 5 * j) & 63);
            }
            pack_scale_min_k4(sc, mn, block + 4);
        }
        const KSuperBlockScales h = k_unit_scales(block);
        EXPECT_EQ(h.dm, static_cast<uint32_t>(block[0] | (block[1] << 8) | (block[2] << 16)) |
                              (static_cast<uint32_t>(block[3]) << 24))
            << "d, dmin";
        for (int j = 0; j < 8; ++j) {
            uint8_t want_sc = 0, want_mn = 0;
            unpack_scale_min_k4(j, block + 4, &want_sc, &want_mn);
            if (trial < 64) {
                EXPECT_EQ(want_sc, sc[j]);
                EXPECT_EQ(want_mn, mn[j]);
            }
            int got_sc = -1, got_mn = -1;
            EXPECT_LT(h.sm[j], 1u << 12) << "12 bits per unit";
            k_unit_scale_min(h.sm[j], got_sc, got_mn);
            EXPECT_EQ(got_sc, want_sc) << "trial " << trial << " sub-block " << j;
            EXPECT_EQ(got_mn, want_mn) << "trial " << trial << " sub-block " << j;
        }
    }
}

TEST(GpuWeightLayout, KUnitMatricesTakeFewerBytesThanQ4_1) {
    const int64_t rows = 3584, cols = 18944;  // the 7b down projection
    const gpu::MatrixLayout l = gpu::matrix_layout(TensorType::Q4_K, rows, cols);
    // per super-block: GGUF's 144 bytes less its 12 bytes of packed scales, plus 2 bytes per unit
    const size_t super_blocks = static_cast<size_t>(rows) * static_cast<size_t>(cols / QK_K);
    EXPECT_GE(l.mat_stride, super_blocks * (144 - 12 + 16));
    EXPECT_LE(l.mat_stride, super_blocks * (144 - 12 + 16) + 3 * gpu::kPlaneAlign);
    EXPECT_LT(l.mat_stride, super_blocks * 8 * 20) << "Q4_1 bytes";
    EXPECT_EQ(l.blocks_per_row * gpu::units_per_block(gpu::device_type(TensorType::Q4_K)), cols / 32) << "32-weight units";
    // Q5_K is stored as Q5_1 blocks (faster on H100 than as K units: gpu_weight_layout.h)
    EXPECT_EQ(gpu::device_type(TensorType::Q5_K), TensorType::Q5_1);
    EXPECT_EQ(gpu::matrix_layout(TensorType::Q5_K, rows, cols).mat_stride,
              gpu::matrix_layout(TensorType::Q5_1, rows, cols).mat_stride);
    EXPECT_TRUE(gpu::transcoded_at_upload(TensorType::Q4_K));
    EXPECT_TRUE(gpu::transcoded_at_upload(TensorType::Q5_K));
    EXPECT_FALSE(gpu::transcoded_at_upload(TensorType::Q6_K));
}

}  // namespace
}  // namespace rf
