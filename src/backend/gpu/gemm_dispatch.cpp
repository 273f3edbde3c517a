#include "backend/gpu/gemm_dispatch.h"

#include <algorithm>
#include <cmath>

#include "backend/gpu/dequant.cuh"
#include "backend/gpu/elementwise.cuh"
#include "backend/gpu/flash_attn_prefill.cuh"
#include "backend/gpu/gemm_q.cuh"
#include "backend/gpu/matvec.cuh"

namespace rf::gpu {
namespace {

constexpr uint32_t kTagGemm = 0x47454d4du;

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

bool gemm_ok(const Op& op) { return gemm_supports(op.w.type, op.w.cols) && aligned16(op.a.data); }

bool same_act(const Act& a, const Act& b) { return a.data == b.data && a.rows == b.rows && a.cols == b.cols; }

// Rows of dequantized weight per vendor GEMM call: the whole matrix up to blas_chunk_bytes, else
// equal chunks (multiples of 64 rows). The vendor GEMM runs 3-4x slower on L2-sized chunks than
// on the whole matrix (docs/gpu_prefill_notes.md), so chunks are only a cap on the scratch.
int64_t blas_chunk_rows(const PrefillEmitContext& c, const Op& op) {
    const int64_t bytes = op.w.rows * op.w.cols * 2;
    const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(c.table.blas_chunk_bytes));
    const int64_t n_chunks = (bytes + cap - 1) / cap;
    if (n_chunks <= 1) return op.w.rows;
    return std::min<int64_t>(op.w.rows, ((op.w.rows + n_chunks - 1) / n_chunks + 63) / 64 * 64);
}

}  // namespace

bool use_matvec_mma(const PrefillEmitContext& c, TensorType type, int64_t rows, int64_t cols) {
    if (rows < c.table.matvec_mma_min_tokens || rows > c.table.matvec_mma_max_tokens || !matvec_mma_supports(type, rows, cols))
        return false;
    if (c.plan == nullptr || c.plan->n_tokens() != rows || static_cast<int64_t>(c.plan->seqs.size()) != rows) return false;
    return true;  // (n sequences of n tokens: one each)
}

MatmulPath matmul_path(const PrefillEmitContext& c, const Op& op) {
    if (use_matvec_mma(c, op.w.type, op.a.rows, op.w.cols)) return MatmulPath::Matvec;
    return choose_matmul_path(c.table, op.a.rows, c.blas != nullptr, gemm_ok(op));
}

PrefillScratch prefill_matmul_scratch(const PrefillEmitContext& c, const Op& op) {
    PrefillScratch s;
    const int64_t T = op.a.rows, K = op.a.cols;
    switch (matmul_path(c, op)) {
        case MatmulPath::Matvec: break;
        case MatmulPath::Gemm: s.gemm = gemm_scratch_bytes(op.w.rows, K, T, c.n_sm, c.table.gemm_compute); break;
        case MatmulPath::Blas:
            if (op.w.type != TensorType::F32) s.blas_x = static_cast<size_t>(T * K) * 2;
            if (is_quantized_matvec_type(op.w.type)) s.gemm = static_cast<size_t>(blas_chunk_rows(c, op) * K) * 2;
            break;
    }
    return s;
}

size_t f16_copy_bytes(const PrefillEmitContext& c, const Op& op) {
    if (!is_quantized_matvec_type(op.w.type) || matmul_path(c, op) != MatmulPath::Blas) return 0;
    return static_cast<size_t>(op.w.rows * op.w.cols) * 2;
}

void emit_prefill_matmul(Launcher& l, const PrefillEmitContext& c, const Op& op, const Op* prev, F16Copy copy) {
    const Act x = op.a;
    const int64_t T = x.rows, K = x.cols;
    const float* bias = op.bias ? static_cast<const float*>(op.bias.data) : nullptr;
    const QMatrix qm = qmatrix(op.w.type, op.w.data, op.w.rows, op.w.cols);
    if (matmul_path(c, op) == MatmulPath::Gemm) {
        launch_gemm(l, op.w.type, qm, x.data, K, T, op.c.data, op.c.cols, bias, c.table.gemm_compute, c.n_sm, c.gemm_scratch);
        return;
    }
    // Vendor GEMM on f16 / bf16 weights (f32 weights: f32); quantized weights dequantized to
    // f16, whole or in chunks of rows (blas_chunk_rows), into the scratch or once into their
    // resident copy.
    const bool bf16 = op.w.type == TensorType::BF16;
    const void* xin = x.data;
    if (op.w.type != TensorType::F32) {
        // q/k/v and gate/up share their input: the previous vendor-GEMM matmul converted it
        const bool converted = prev != nullptr && prev->kind == OpKind::Matmul && same_act(prev->a, x) &&
                               prev->w.type != TensorType::F32 && (prev->w.type == TensorType::BF16) == bf16 &&
                               matmul_path(c, *prev) == MatmulPath::Blas;
        if (!converted) launch_convert_f16(l, x.data, T * K, c.blas_x, bf16);
        xin = c.blas_x;
    }
    const GemmType gt = op.w.type == TensorType::F32 ? GemmType::F32 : bf16 ? GemmType::BF16 : GemmType::F16;
    auto gemm = [&](const void* w, int64_t rows, float* y) {
        GemmDesc d = zeroed<GemmDesc>();
        d.w = w;
        d.x = xin;
        d.y = y;
        d.rows = rows;
        d.n_tok = T;
        d.k = K;
        d.ldy = op.c.cols;
        d.type = gt;
        GpuBlas* blas = c.blas;
        l.custom(kTagGemm, &d, sizeof d, [blas, d](cudaStream_t s) { blas->gemm(d, s); });
    };
    if (is_quantized_matvec_type(op.w.type)) {
        const int64_t chunk = blas_chunk_rows(c, op);
        for (int64_t r0 = 0; r0 < op.w.rows; r0 += chunk) {
            const int64_t nr = std::min(chunk, op.w.rows - r0);
            void* rows_f16 = copy.data ? static_cast<uint8_t*>(copy.data) + static_cast<size_t>(r0 * K) * 2 : c.gemm_scratch;
            if (copy.data == nullptr || copy.fill) launch_dequant_rows_f16(l, op.w.type, qm, r0, nr, rows_f16, false);
            gemm(rows_f16, nr, op.c.data + r0);
        }
    } else {
        gemm(op.w.data, op.w.rows, op.c.data);
    }
    if (bias) launch_add_bias(l, op.c.data, bias, T, op.c.cols);
}

bool use_flash_attention(const PrefillEmitContext& c, const Op& op) {
    if (!c.table.flash_attention || c.plan == nullptr || !flash_attn_supported(op.attn.head_dim)) return false;
    const int64_t n_tok = op.a.rows, n_seqs = static_cast<int64_t>(c.plan->seqs.size());
    if (n_seqs == 0 || n_tok < c.table.flash_min_tokens_per_seq * n_seqs) return false;
    return aligned16(op.a.data) && aligned16(op.c.data) && op.a.cols % 4 == 0 && op.c.cols % 4 == 0;
}

void emit_flash_attention(Launcher& l, const PrefillEmitContext& c, const Op& op) {
    FlashAttnArgs a = zeroed<FlashAttnArgs>();
    a.q = op.a.data;
    a.out = op.c.data;
    a.k = op.kv.k;
    a.v = op.kv.v;
    a.positions = c.positions;
    a.token_seq = c.token_seq;
    a.block_tables = c.block_tables;
    a.q_stride = op.a.cols;
    a.out_stride = op.c.cols;
    a.bt_stride = c.bt_stride;
    a.n_head = op.attn.n_head;
    a.n_kv_head = op.attn.n_kv_head;
    a.block_size = op.kv.block_size;
    a.group = op.attn.n_head / op.attn.n_kv_head;
    a.n_tok = static_cast<int32_t>(op.a.rows);
    a.scale_log2 = op.attn.scale * 1.4426950408889634f;
    a.bs_shift = -1;
    for (int sh = 0; sh < 31; ++sh)
        if ((1 << sh) == a.block_size) a.bs_shift = sh;
    launch_flash_attn_prefill(l, a, op.attn.head_dim, op.kv.codec);
}

}  // namespace rf::gpu
