// KV store and causal attention over the paged KV cache (layout in kv/kv_layout.h).
//
// Attention is split-K "flash decoding" (on NVIDIA sm_80+ the chunks run on the matrix units where
// the shape allows: attention_decode_mma.cu): the context of each token is cut into n_splits chunks
// of `chunk` positions; block (split, kv head [x q-head group], token) computes, for the up to
// 8 q heads that share the KV head (GQA), the unnormalised softmax-weighted sum of V over its
// chunk, reading each K/V row once for all of them, with an online softmax over tiles of 128
// positions (scores: chunks of up to 128 * 32 / head_dim positions with head_dim / 32 threads per
// position, each 32 dims, its loads issued together; longer ones one position per thread;
// P.V: 16-byte V loads, each thread 8 dims of every
// head for a group of positions, summed over the groups once per block). With n_splits > 1 a
// combine kernel merges the chunks' (max, sum, acc); with one split the kernel writes the output
// directly. Context lengths (positions + 1), sequence indices and block tables are read from
// device memory, so the launch does not change from one decode step to the next (only n_splits /
// chunk do, in steps of 256 positions).
//
// Decode with rope and the KV store folded in (rope_fused; one token, one q-head block per KV
// head): every block rotates q while it stages it; the block whose chunk holds the token's
// position rotates the token's k of its KV head (written back in place) and stores k and v into
// the token's slot before its tiles read them; the rotated q is written back by the combine kernel
// (or, with one split, by the head group's only block). Angles and step data (positions, block
// tables) are read before the programmatic-dependent-launch wait: they come from the step buffer,
// written before the step's first kernel.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/gpu_weight_layout.h"
#include "backend/gpu/rope.cuh"
#include "kv/kv_layout.h"

namespace rf::gpu {

constexpr int kAttnMaxHeadsPerBlock = 8;
constexpr int kAttnTile = 128;
constexpr int kAttnMaxSplits = 1024;  // the combine kernel holds this many chunks' (max, sum)

struct AttnArgs {
    const float* q;               // [n_tok, q_stride], head h at h * head_dim
    float* out;                   // [n_tok, out_stride]
    const void* k;                // the layer's K / V pools
    const void* v;
    const int32_t* positions;     // [n_tok]
    const int32_t* token_seq;     // [n_tok]
    const int32_t* block_tables;  // [n_seqs, bt_stride]
    float* partial_acc;           // [n_tok, n_head, n_splits, head_dim] (n_splits > 1)
    float2* partial_ml;           // [n_tok, n_head, n_splits] (max, sum)
    int64_t q_stride;
    int64_t out_stride;
    int32_t bt_stride;
    int32_t n_head;
    int32_t n_kv_head;
    int32_t block_size;
    int32_t chunk;
    int32_t n_splits;
    int32_t group;                // q heads per KV head
    int32_t n_qsub;               // ceil(group / kAttnMaxHeadsPerBlock)
    float scale;
    int32_t n_tok;
    // rope + KV store folded in (rope_fused != 0; n_tok == 1, n_qsub == 1)
    float* q_rot;                 // q (same buffer as q): the rotated q is written back here
    float* k_new;                 // [n_kv_head * head_dim]: the token's k, rotated in place
    const float* v_new;           // [n_kv_head * head_dim]
    const int32_t* slots;         // [n_tok] KV slots
    RopeConsts rope;
    int32_t rope_fused;
    int32_t prefetch_kv;          // the first tile's K / V rows prefetched into L2 before the PDL wait
    // Nonzero: the chunks run on the matrix units (attention_decode_mma.cu; f16 KV, head_dim 64 /
    // 128, 2+ splits of whole 64-position tiles, NVIDIA sm_80+) with a ring of `mma` (2..4) tiles;
    // the combine kernel merges them.
    int32_t mma;
    // Nonzero (matrix units with rope folded in): the first tiles are copied before the
    // programmatic-dependent wait, the token's row written from registers (attention_decode_mma.cu)
    int32_t early_kv;
    // Nonzero (matrix units): a block whose chunk is one tile shares one softmax over its warps and
    // splits P V by output columns, so no per-warp (max, sum, O) merge is left at its end
    int32_t one_tile;
    // Nonzero (matrix units, with one_tile): where every chunk is 2 .. ring-size tiles (8K contexts), all
    // of a chunk's tiles are copied before the PDL wait and the block takes one softmax over them
    // (attention_decode_mma.cu, WS instances) instead of a softmax per warp merged at the end
    int32_t chunk_softmax;
    // Nonzero: more than kCombineRegSplits chunks per head (long contexts) are merged by the wide
    // combine (attention_combine_wide.cu: D x G threads per head, a round of chunks per thread at once)
    int32_t combine_wide;
    // Profiling only (GpuBackend::set_attention_trace): this launch's AttnTrace records, or null.
    unsigned long long* trace;
};

// Phase stamps of one decode-attention launch (profiling): per block of the attention kernel
// (blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z) < kAttnTraceBlocks) and then
// per block of its combine kernel, kAttnTraceWords words: global timer (ns) at entry, SM clock
// at entry, after the programmatic-dependent wait, after q (and the token's K/V) are staged,
// after the last tile, at the end; global timer at the end and after the wait; SM clock when
// the first loads after the wait have landed (thread 0's: q in the attention, the chunks' partial
// sums in the combine).
constexpr int kAttnTraceBlocks = 256;
constexpr int kAttnTraceWords = 9;
constexpr int kAttnTraceLaunches = 4;
constexpr size_t kAttnTraceLaunchWords = 2 * static_cast<size_t>(kAttnTraceBlocks) * kAttnTraceWords;
constexpr size_t kAttnTraceBytes = kAttnTraceLaunches * kAttnTraceLaunchWords * 8;

bool attention_supports_head_dim(int head_dim);

// Whether this build has the matrix-unit decode kernel for this shape (AttnArgs::mma; the device
// must have the instructions too: DispatchTable::decode_attention_mma).
bool attention_mma_supported(int head_dim, KvCodec codec);
// The chunks of `a` on the matrix units (no combine; launch_attention adds it).
void launch_attention_decode_mma(Launcher& l, const AttnArgs& a, int head_dim);

// The longest chunk the decode kernel scores in one pass of head_dim / 32 threads per position
// (64, 32, 16 positions for head dims 64, 128, 256): chunks up to it take one memory round trip.
constexpr int attention_short_chunk(int head_dim) { return 128 * 32 / head_dim; }

// The output projection folded into the combine (one token, deferred residual update; gpu_emit.cpp):
// the combine block of head h also adds w[:, h * head_dim .. (h + 1) * head_dim) . out_h into acc
// (fixed point, residual_acc.cuh) instead of writing out's q8_1.
struct AttnProj {
    QMatrix w;             // [rows, n_head * head_dim] of type `type` (attention_proj_supported)
    TensorType type;
    long long* acc;        // [rows]
};

// Whether the combine can take the output projection: one token, 2..16 splits (any number with the
// wide merge, AttnArgs::combine_wide), head dims 64 / 128, 32-weight block types (Q4_0, Q4_1, Q5_0,
// Q5_1, Q8_0) over n_head * head_dim columns.
bool attention_proj_supported(int head_dim, int n_splits, int64_t n_tok, TensorType type, bool combine_wide);

// xq / xds (optional, head_dim % 32 == 0): the kernel writing out also writes its q8_1 form
// (see norm_quant.cuh) for the matmul that follows. proj (optional, attention_proj_supported): the
// combine does the output projection into proj->acc instead (xq / xds unused).
void launch_attention(Launcher& l, const AttnArgs& a, int head_dim, KvCodec codec, int8_t* xq = nullptr,
                      float2* xds = nullptr, const AttnProj* proj = nullptr);
// The combine + output projection kernel (attention_combine_proj.cu; launch_attention calls it).
void launch_attention_combine_proj(Launcher& l, const AttnArgs& a, int head_dim, const AttnProj& p);
// The combine of a.n_splits chunks per head by D x G threads per head (AttnArgs::combine_wide):
// out (and its q8_1 with xq), the rotated q with the rope folded in.
void launch_attention_combine_wide(Launcher& l, const AttnArgs& a, int head_dim, int8_t* xq, float2* xds);

// Whether rope + KV store can be folded into the decode attention of this shape.
bool attention_can_fuse_rope(int64_t n_tok, int n_qsub, int head_dim, int n_rot);

// k, v [n_tok, n_kv_head * head_dim] into their slots (slots [n_tok] in device memory).
void launch_kv_store(Launcher& l, const KvLayerView& layer, const float* k, const float* v, const int32_t* slots,
                     int64_t n_tok);

}  // namespace rf::gpu
