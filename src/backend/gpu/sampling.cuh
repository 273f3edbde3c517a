// Token sampling on the device (the chain of rf::Sampler): penalties on a copy of the logits,
// per-tile top-K by bitonic sort in shared memory, merge rounds down to one sorted list of K
// candidates, then one block applies top-k / top-p / min-p / temperature and draws with the
// caller's uniform u. Only the chosen token (and its log-probability) comes back to the host.
// When the nucleus may extend past the K candidates (top-k off with a flat distribution) the
// result says so and the caller samples the full row on the host.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/sample_word.h"

namespace rf::gpu {

constexpr int kSampleSeg = 2048;   // elements sorted per block
constexpr int kSampleMaxK = 256;   // candidates kept on the device

// Per stage-1 block: statistics of its slice of the raw and the penalised logits.
struct SampleStats {
    double sum_raw;    // sum exp(raw - max_raw)
    double sum_work;   // sum exp(work - max_work)
    float max_raw;
    float max_work;
    int32_t argmax_work;
    int32_t pad;
};

struct SampleConsts {
    double u;
    float temperature;
    float top_p;
    float min_p;
    float repeat_penalty;
    float presence_penalty;
    float frequency_penalty;
    int32_t top_k;
    int32_t n_penalties;
};

// Scratch sizes for a row of n: stats [stage1_blocks(n)], two candidate buffers of
// stage1_blocks(n) * kSampleMaxK (value, index) pairs.
int64_t sample_stage1_blocks(int64_t n);

// Byte offsets of the sampling chain's scratch for a row of n with n_penalties penalised tokens
// (gpu_sampling.cpp): [work n f32 (penalties only)][pairs][stats][cand v x2][cand i x2][out].
struct SampleScratchLayout {
    size_t work = 0, pairs = 0, stats = 0, v0 = 0, v1 = 0, i0 = 0, i1 = 0, out = 0, bytes = 0;
};
SampleScratchLayout sample_scratch_layout(int64_t n, size_t n_penalties);

// work = raw with penalties applied (pairs: (token, count) [n_pen], device memory).
void launch_penalties(Launcher& l, float* work, int64_t n, const int32_t* pairs, const SampleConsts& c);

// The next decode step's data copied by the chain's final kernel (instead of an upload kernel after it):
// n ints from src (pinned host memory through its device mapping) to dst, dst[0] = the chosen token.
// dst == nullptr: none.
struct StepUpload {
    int32_t* dst;
    const int32_t* src;
    int64_t n;
};

// A chain whose arguments stay the same from step to step (inside a cached step graph): the final
// kernel takes its result slot and staging buffer by the parity of a device counter, which it then
// increments (read at its start: the chain is the graph's first launch, after the previous graph).
// counter == nullptr: none (host_out and up.src as given).
struct SampleRing {
    int32_t* counter;
    uint64_t* host_word[2];  // pinned host result words through their device mapping (kSampleWordEmpty
                             // until written; host_out is not written)
    const int32_t* src[2];   // the two pinned staging buffers (up.src is ignored)
};

// Full sampling chain; writes *out, and *host_out (pinned host memory through its device mapping:
// the result reaches the host without a copy-engine operation) unless it is null. k_list:
// candidates to keep (power of two, 64..256); 0 for greedy (statistics only).
// fast_greedy: statistics-only chains without penalties (k_list 0, work == raw) take the greedy
// stage 1 (f32 sums, one packed reduction). The host copy is written without a system fence: the host
// reads it after the stream's event.
void launch_sample(Launcher& l, const float* raw, const float* work, int64_t n, const SampleConsts& c, int k_list,
                   SampleStats* stats, float* cand_val[2], int32_t* cand_idx[2], SampleOut* out, SampleOut* host_out,
                   bool fast_greedy, StepUpload up = StepUpload{nullptr, nullptr, 0},
                   SampleRing ring = SampleRing{nullptr, {nullptr, nullptr}, {nullptr, nullptr}});

// The greedy chain (the fast greedy stage 1, no penalties; c: a greedy chain's constants) of n_rows rows
// of n at once, two launches whatever the rows: row r at raw + r * n, its statistics at stats + r *
// sample_stage1_blocks(n), its result at out[r] and host_out[r] (pinned host memory through its device
// mapping; null: none). The same results as each row's own fast greedy chain.
void launch_greedy_rows(Launcher& l, const float* raw, int64_t n, int64_t n_rows, const SampleConsts& c, SampleStats* stats,
                        SampleOut* out, SampleOut* host_out);

}  // namespace rf::gpu
