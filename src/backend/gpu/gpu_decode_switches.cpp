// decode_switches(): the GPU backend's decode switches read from the environment (benchmarks and
// debugging; the defaults are the measured best, docs/gpu_notes.md). Read once per flush.
#include <algorithm>
#include <array>

#include "backend/gpu/gpu_backend_impl.h"
#include "core/env_switch.h"

namespace rf::gpu {

// Switches of the one-token path, for benchmarks (environment, read at every emit so that one
// process can compare them; the defaults are the measured best, docs/gpu_notes.md; on|off
// switches take both words, a value a switch does not take is an error: core/env_switch.h):
//   RF_GPU_MATVEC1=0|all        one-token matmuls never / always (where supported) on the
//                               one-token kernel; default: the shapes where it measured faster
//   RF_GPU_MATVEC1_Q8_EPILOGUE=off|on  one-token SwiGLU launches never / always (where possible)
//                               write the q8_1 of their output; default: matrices of up to 8M weights
//   RF_GPU_NORM_PROLOGUE=off    rms_norm as its own kernel even where the next matvec could
//                               normalise x in its prologue
//   RF_GPU_NORM_LATE_SCALE=off  the norm prologue scales x before quantizing it (a block reduction
//                               first) even where nothing reads the normalised x after the launch
//                               (default: quantized unscaled, the results multiplied by the factor)
//   RF_GPU_ROPE_ATTN=off        rope + KV store as their own kernel before the decode attention
//   RF_GPU_EARLY_LOADS=off|on|one  the many-token matvec loads its first weights after the PDL wait /
//                               its first batch before it / one unit of it before it (default)
//   RF_GPU_MATVEC_WHOLE_ROW=off|on  the many-token matvec loads a one-token row of up to 4 units per
//                               lane two units at a time (default) / the lane's whole share before the
//                               PDL wait
//   RF_GPU_MATVEC_TRIPLE=off|on|long  the many-token matvec's one-token Q4_0 rows two units per loop
//                               iteration / three / three only on rows of more than 4 units per lane
//                               (default)
//   RF_GPU_MATVEC1_WIDE=off|shape|all|tall  plain one-token matvecs with twice their units in flight:
//                               never / where that holds a lane's whole row in one wave / always /
//                               never (default); the Q6_K tall matrices' three units in flight with all
//                               but off
//   RF_GPU_MATVEC1_EARLY=off|on|one|type  the one-token matvec loads its first batch after the PDL wait
//                               / before it / only its first unit before it / by type (default: the
//                               first unit for Q6_K, the batch for the others)
//   RF_GPU_MATVEC1_FIT=N        which one-token launches of short rows take an instance fitted to the
//                               row (fewer units in flight, one float4 held by the norm), bits: 1 norm
//                               prologue, 2 plain, 4 SwiGLU + norm at two blocks per SM (default 7;
//                               matvec1_kernel.cuh)
//   RF_GPU_MATVEC1_TOKENS=N     batched decode steps of up to N tokens (1..4) take the one-token kernel
//                               with its prologues and epilogues, one launch for all tokens (default 4;
//                               1: only one-token steps; where the int8-mma matvec takes the shape, it)
//   RF_GPU_MATVEC_XHOIST=off    one-token rows load each unit's x behind the previous unit's dot
//                               product (default: a batch's x first, for the types with QDot::XU, in
//                               the many-token kernel's whole rows and where the one-token kernel
//                               reads x from global memory)
//   RF_GPU_MATVEC_WARPS_PER_ROW=1|2|4  warps per row of every many-token matvec (default: by shape)
//   RF_GPU_MATVEC_MMA_WARPS=4|8  warps per block of the int8-mma matvec (default: by shape, matvec_mma.cu)
//   RF_GPU_MATVEC_MMA_SPLIT=1|2|4|8  its warps per 16-row tile (at most the warps per block; default: by shape)
//   RF_GPU_MATVEC1_LANES=4|8|16|32  lanes per row of every one-token matvec without the q8_1
//                               epilogue (default: by shape)
//   RF_GPU_NORM_SLICES=off      rms_norm kernels one block per row (not sliced over several blocks)
//   RF_GPU_FAST_REPLAY=off      re-emit every step (no relaunch of an identical step's graph)
//   RF_GPU_MATVEC1_PERSIST=off  the one-token matvec launches one block per row group (no
//                               persistent grid)
//   RF_GPU_QUANT_TRIGGER_FIRST=off  the q8_1 quantize launch before a matvec lets the matvec launch only
//                               after the quantize's own wait (default: before it, so that the matvec's
//                               blocks load their first weights during the kernel before the quantize)
//   RF_GPU_MATVEC1_XDIRECT=on|off  the one-token matvec reads its q8_1 x from global memory
//                               instead of staging it in shared memory (default: by shape)
//   RF_GPU_ATTN_MIN_CHUNK=N     the split-K decode attention gives each block at least N positions
//                               (fewer splits; N >= the context: one split, no combine kernel)
//   RF_GPU_ATTN_BLOCKS_PER_SM=N the split-K decode attention aims at N blocks per SM (default 2)
//   RF_GPU_ATTN_PREFETCH=off    the FMA decode attention does not prefetch its first K/V tile into
//                               L2 (done for chunks shorter than a tile)
//   RF_GPU_ATTN_MMA=off|long    the decode attention on the FMA kernel instead of the matrix units
//                               (off), or on the matrix units only at 4096+ positions (long);
//                               default: every context where the dispatch table allows
//   RF_GPU_ATTN_MMA_STAGES=N    tiles in its shared-memory ring (2..4; default by shape)
//   RF_GPU_ATTN_EARLY_KV=off    with the rope folded in, its first tiles are copied after the PDL
//                               wait (default: before it; the token's own row from registers)
//   RF_GPU_ATTN_ONE_TILE=off    its blocks of one 64-position tile keep a softmax per warp and merge
//                               the warps' (max, sum, O) at the end (default: one softmax for the
//                               block, each warp multiplies P by a quarter of V's columns)
//   RF_GPU_ATTN_CHUNK_SOFTMAX=off  blocks whose chunk is 2 .. ring-size tiles (8K contexts) keep a
//                               softmax per warp, merged at the end (default: every tile copied before
//                               the PDL wait, one softmax over them for the block)
//   RF_GPU_ATTN_COMBINE_WIDE=off  more than 16 chunks per head (long contexts) merged by one thread
//                               per dim walking them 8 at a time (default: D x G threads per head,
//                               16 chunks per thread loaded at once)
//   RF_GPU_ATTN_PROJ=off        the output projection as its own launch after the attention combine
//                               (default: deferred into the combine where the ops allow)
//   RF_GPU_GATHER_NORM=off      the model's last row gathered and normalised in place by two launches
//                               (default: one token: one rms_norm of x into the rows, in the output
//                               matvec's prologue where that launch is persistent on short rows)
//   RF_GPU_SAMPLE_FAST=off      greedy sampling without penalties through the general stage 1 (default:
//                               its own stage 1, sampling.cu)
//   RF_GPU_SAMPLE_UPLOAD=off    a decode step fed the device argmax uploads its step data with a kernel
//                               of its own (default: argmax_async's chain waits for the next step's
//                               begin_step and its final kernel copies the step data, gpu_sampling.cpp)
//   RF_GPU_SAMPLE_IN_GRAPH=off  that chain (with the fused upload) launched on its own before the next
//                               step's graph (default: as that graph's first launches, SampleRing)
//   RF_GPU_MOE_GATE_UP=off      a MoE layer's expert gate and up rows in two launches and the SwiGLU in a
//                               third (default: one launch where gate and up share a type, moe.cu)
//   RF_GPU_ZERO_COPY=off        step data uploaded and argmax results read back by cudaMemcpyAsync
//                               (default: a kernel reads / writes pinned host memory directly, so no
//                               copy-engine operation sits between two decode steps' kernels)
//   RF_GPU_PREFILL_GRAPHS=on    steps with a vendor GEMM or flash attention go through the graph
//                               runner too (default: launched eagerly)
//   RF_GPU_PROFILE_SKIP=a,b     profiling only, results are wrong: kernels whose name contains a or
//                               b are not launched (what they cost inside a step; gpu_launch.h);
//                               a@N/P: only the launches N, N + P, ... of such a kernel in a step
//   RF_GPU_PROFILE_STREAM=a,b   profiling only, results are wrong: matvec kernels whose name contains
//                               a or b are replaced by a plain stream of their weight bytes (how far
//                               they are from a perfect stream inside a step; weight_stream.cuh);
//                               RF_GPU_PROFILE_STREAM_BLOCKS=1..8 its blocks of 256 threads per SM
//                               (default 4), RF_GPU_PROFILE_STREAM_EARLY=0|1|4 its loads per thread
//                               before the PDL wait (default 4), RF_GPU_PROFILE_STREAM_SPLIT=stride|
//                               dynamic|chunks: grid-stride, 16 KB chunks from a counter, or dealt;
//                               RF_GPU_PROFILE_STREAM_PAD=0|32|72 registers it holds for nothing
// (DecodeSwitches: gpu_backend_impl.h; read once per flush, and by a sampling call with no step to flush.)
DecodeSwitches decode_switches() {
    DecodeSwitches d;
    const DecodeSwitches def;
    d.matvec1 = env_choice("RF_GPU_MATVEC1", {"0", "1", "all"}, def.matvec1);
    d.matvec1_q8_epilogue = env_choice("RF_GPU_MATVEC1_Q8_EPILOGUE", {"off", "shape", "on"}, def.matvec1_q8_epilogue);
    d.norm_prologue = env_choice("RF_GPU_NORM_PROLOGUE", {"off", "on"}, 1) == 1;
    d.norm_late_scale = env_choice("RF_GPU_NORM_LATE_SCALE", {"off", "on"}, def.norm_late_scale ? 1 : 0) == 1;
    d.rope_in_attention = env_choice("RF_GPU_ROPE_ATTN", {"off", "on"}, 1) == 1;
    const int early = env_choice("RF_GPU_EARLY_LOADS", {"off", "on", "one"}, !def.early_loads ? 0 : def.early_one ? 2 : 1);
    d.early_loads = early >= 1;
    d.early_one = early == 2;
    d.matvec_whole_row = env_choice("RF_GPU_MATVEC_WHOLE_ROW", {"off", "on"}, def.matvec_whole_row ? 1 : 0) == 1;
    d.matvec1_early = env_choice("RF_GPU_MATVEC1_EARLY", {"off", "on", "one", "type"}, def.matvec1_early);
    d.matvec1_wide = env_choice("RF_GPU_MATVEC1_WIDE", {"off", "shape", "all", "tall"}, def.matvec1_wide);
    d.matvec1_fit = env_int("RF_GPU_MATVEC1_FIT", 0, 7, def.matvec1_fit);
    d.matvec1_tokens = env_int("RF_GPU_MATVEC1_TOKENS", 1, kMatvec1MaxTokens, def.matvec1_tokens);
    d.gather_norm = env_choice("RF_GPU_GATHER_NORM", {"off", "on"}, 1) == 1;
    d.sample_fast = env_choice("RF_GPU_SAMPLE_FAST", {"off", "on"}, 1) == 1;
    d.sample_upload = env_choice("RF_GPU_SAMPLE_UPLOAD", {"off", "on"}, 1) == 1;
    d.sample_in_graph = env_choice("RF_GPU_SAMPLE_IN_GRAPH", {"off", "on"}, def.sample_in_graph ? 1 : 0) == 1;
    d.moe_fused_gate_up = env_choice("RF_GPU_MOE_GATE_UP", {"off", "on"}, def.moe_fused_gate_up ? 1 : 0) == 1;
    d.matvec_x_hoist = env_choice("RF_GPU_MATVEC_XHOIST", {"off", "on"}, def.matvec_x_hoist ? 1 : 0) == 1;
    d.matvec_triple = env_choice("RF_GPU_MATVEC_TRIPLE", {"off", "on", "long"}, def.matvec_triple);
    const int lanes = env_choice("RF_GPU_MATVEC1_LANES", {"4", "8", "16", "32"}, -1);
    d.matvec1_lanes = lanes < 0 ? 0 : 4 << lanes;
    d.matvec_warps_per_row = env_choice("RF_GPU_MATVEC_WARPS_PER_ROW", {"shape", "1", "2", "4"}, 0);
    if (d.matvec_warps_per_row == 3) d.matvec_warps_per_row = 4;
    d.matvec_mma_warps = std::array<int, 3>{0, 4, 8}[static_cast<size_t>(env_choice("RF_GPU_MATVEC_MMA_WARPS", {"shape", "4", "8"}, 0))];
    d.matvec_mma_split = std::array<int, 5>{0, 1, 2, 4, 8}[static_cast<size_t>(env_choice("RF_GPU_MATVEC_MMA_SPLIT", {"shape", "1", "2", "4", "8"}, 0))];
    d.norm_slices = env_choice("RF_GPU_NORM_SLICES", {"off", "on"}, 1) == 1;
    d.fast_replay = env_choice("RF_GPU_FAST_REPLAY", {"off", "on"}, 1) == 1;
    d.matvec1_persistent = env_choice("RF_GPU_MATVEC1_PERSIST", {"off", "on"}, 1) == 1;
    d.quant_trigger_first = env_choice("RF_GPU_QUANT_TRIGGER_FIRST", {"off", "on"}, def.quant_trigger_first ? 1 : 0) == 1;
    d.attn_min_chunk = env_int("RF_GPU_ATTN_MIN_CHUNK", 32, 1 << 30, def.attn_min_chunk);
    d.matvec1_x_direct = env_choice("RF_GPU_MATVEC1_XDIRECT", {"off", "shape", "on"}, def.matvec1_x_direct);
    d.attn_blocks_per_sm = env_int("RF_GPU_ATTN_BLOCKS_PER_SM", 1, 64, def.attn_blocks_per_sm);
    d.attn_prefetch = env_choice("RF_GPU_ATTN_PREFETCH", {"off", "on"}, 1) == 1;
    d.attn_mma = env_choice("RF_GPU_ATTN_MMA", {"off", "long", "all"}, def.attn_mma);
    d.attn_mma_stages = env_int("RF_GPU_ATTN_MMA_STAGES", 2, 4, def.attn_mma_stages);
    d.attn_early_kv = env_choice("RF_GPU_ATTN_EARLY_KV", {"off", "on"}, 1) == 1;
    d.attn_one_tile = env_choice("RF_GPU_ATTN_ONE_TILE", {"off", "on"}, def.attn_one_tile ? 1 : 0) == 1;
    d.attn_chunk_softmax = env_choice("RF_GPU_ATTN_CHUNK_SOFTMAX", {"off", "on"}, def.attn_chunk_softmax ? 1 : 0) == 1;
    d.attn_combine_wide = env_choice("RF_GPU_ATTN_COMBINE_WIDE", {"off", "on"}, def.attn_combine_wide ? 1 : 0) == 1;
    d.attn_proj = env_choice("RF_GPU_ATTN_PROJ", {"off", "on"}, def.attn_proj ? 1 : 0) == 1;
    d.prefill_graphs = env_choice("RF_GPU_PREFILL_GRAPHS", {"off", "on"}, 0) == 1;
    d.profile_skip = env_list("RF_GPU_PROFILE_SKIP");
    d.profile_stream = env_list("RF_GPU_PROFILE_STREAM");
    StreamShape& st = d.profile_stream_shape;
    st.blocks_per_sm = env_int("RF_GPU_PROFILE_STREAM_BLOCKS", 1, 8, st.blocks_per_sm);
    constexpr int kEarly[] = {0, 1, 4}, kPad[] = {0, kStreamPadSmall, kStreamPadLarge};
    st.early_loads = kEarly[env_choice("RF_GPU_PROFILE_STREAM_EARLY", {"0", "1", "4"}, 2)];
    st.split = env_choice("RF_GPU_PROFILE_STREAM_SPLIT", {"stride", "dynamic", "chunks"}, st.split);
    st.pad_regs = kPad[env_choice("RF_GPU_PROFILE_STREAM_PAD", {"0", "32", "72"}, 0)];
    return d;
}

}  // namespace rf::gpu
