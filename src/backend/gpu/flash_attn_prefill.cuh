// Flash attention for prefill steps (many tokens per sequence) over the paged KV cache
// (layout in kv/kv_layout.h), on the matrix units (mma.sync m16n8k16 f16, NVIDIA sm_80+).
//
// Block = 4 warps = 64 consecutive tokens of the step x one q head; each warp owns 16 query
// rows. Q (scaled by scale * log2 e) is kept as f16 in shared memory (and in registers for
// head_dim <= 128). K and V are read through the sequence's block table in tiles of BC
// positions (64; 32 for head_dim 256) into a two-stage shared-memory ring (cp.async for the f16
// codec, converted loads for f32), S = Q K^T and O += P V on the matrix units, online softmax in
// registers (exp2), causal mask from the tokens' positions: token t attends to positions
// 0..positions[t] of its own sequence, so a chunk appended to an existing cache attends to all
// earlier positions plus causally within the chunk.
//
// Several sequences in one step: the 64 rows of a block are processed in runs of equal
// token_seq; each run walks its own sequence's KV with the other rows masked, so a block that
// straddles a sequence boundary is correct (rows of one sequence never see another's KV).
// GQA: q head h reads KV head h / group. Blocks of the last (longest) token tiles start first.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"
#include "kv/kv_layout.h"

namespace rf::gpu {

struct FlashAttnArgs {
    const float* q;               // [n_tok, q_stride], head h at h * head_dim
    float* out;                   // [n_tok, out_stride]
    const void* k;                // the layer's K / V pools
    const void* v;
    const int32_t* positions;     // [n_tok]
    const int32_t* token_seq;     // [n_tok]
    const int32_t* block_tables;  // [n_seqs, bt_stride]
    int64_t q_stride;
    int64_t out_stride;
    int32_t bt_stride;
    int32_t n_head;
    int32_t n_kv_head;
    int32_t block_size;
    int32_t group;                // q heads per KV head
    int32_t n_tok;
    float scale_log2;             // attention scale * log2(e)
    int32_t bs_shift;             // log2(block_size) when a power of two, else -1
};

// The kernel exists for this head_dim in this build (CUDA; head dims 64, 128, 256).
bool flash_attn_supported(int head_dim);

void launch_flash_attn_prefill(Launcher& l, const FlashAttnArgs& a, int head_dim, KvCodec codec);

}  // namespace rf::gpu
