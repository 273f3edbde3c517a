// The one-token feed-forward block as one launch (decode):
//   xn   = rms_norm(x) * w_norm                       (or a q8_1 x given by the caller)
//   g, u = gate . xn, up . xn;  act = silu(g) * u     [n_ff]
//   y    = down . act;          x += y                [n_embd]
// as a dataflow inside one persistent grid instead of three dependent launches (gate/up + SwiGLU, the
// q8_1 quantize, the down projection). Work items come from a queue in order: first the gate/up items
// (32 rows of act each, which also write act's q8_1 block and count their chunk of act as one item
// more done), then the down items (8 rows of y over all of act's columns, which wait for each chunk
// of act before their first unit in it). The down projection's weights therefore stream while the
// last gate/up items finish instead of after a grid-wide dependency. Deadlock-free on any number of
// resident blocks: an item is only taken by a running block, every gate/up item precedes every down
// item in the queue, and gate/up items never wait.
//
// Every output the unfused ops write is written (g, u, act, act's q8_1, the norm's output and q8_1,
// y, x). The sync words (queue, blocks done, blocks past the prologue, chunk counts) are zero at rest;
// the launch's last block resets them.
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/gpu_weight_layout.h"

namespace rf::gpu {

constexpr int kFfn1Threads = 256;
constexpr int kFfn1ActRows = 32;      // rows of act per gate/up item (one q8_1 block)
constexpr int kFfn1DownRows = 8;      // rows of y per down item (a warp per row)
constexpr int kFfn1MaxChunks = 16;    // act is counted in up to this many chunks
constexpr int kFfn1SyncInts = 32;     // control words per fused launch: queue, done, started, epoch, chunks
constexpr int kFfn1SyncQueue = 0, kFfn1SyncDone = 1, kFfn1SyncStarted = 2, kFfn1SyncEpoch = 3, kFfn1SyncChunks = 4;
constexpr int kFfn1MaxEmbd = 8192;    // then one 8-byte partial-sum word per row of y
constexpr int kFfn1SlotInts = kFfn1SyncInts + 2 * kFfn1MaxEmbd;  // ints of one launch's sync region
constexpr int kFfn1MaxParts = 4;

// Ffn1Args::knock bits (profiling only: RF_GPU_FFN_KNOCK; the results are wrong)
constexpr int32_t kFfn1KnockWaits = 1;    // down items neither wait for act's chunks nor stage them
constexpr int32_t kFfn1KnockFences = 2;   // no fences (chunk counts, waits, the residual writes)
constexpr int32_t kFfn1KnockStarted = 4;  // down items do not wait for every block's prologue
constexpr int32_t kFfn1KnockB = 8;        // down items do nothing
constexpr int32_t kFfn1KnockA = 16;       // gate/up items do nothing

struct Ffn1Args {
    QMatrix gate, up, down;            // [n_ff, n_embd], [n_ff, n_embd], [n_embd, n_ff]
    const float* bias_gate;            // [n_ff] or null
    const float* bias_up;
    const float* bias_down;            // [n_embd] or null
    // x: the rms_norm prologue (norm_x non-null) or a q8_1 activation (x_q, x_ds)
    const float* norm_x;               // [n_embd]
    const float* norm_w;
    float norm_eps;
    float* norm_out;                   // [n_embd] f32 (written by block 0)
    int8_t* x_q;                       // q8_1 of norm_out (written by block 0) or the given x
    float2* x_ds;
    float* y_gate;                     // [n_ff]
    float* y_up;
    float* y_act;
    int8_t* act_q;                     // q8_1 of y_act
    float2* act_ds;
    float* y_down;                     // [n_embd] (may be norm_out: written after every block's prologue)
    float* residual;                   // [n_embd]: += y_down
    int* sync;                         // kFfn1SlotInts words, zero at first use; the control words but the
                                       // epoch are zero again after every launch
    int32_t n_embd, n_ff;
    int32_t n_chunks;                  // act's chunks (divides n_ff / 32)
    int32_t early;                     // the first item's first weights before the PDL wait
    int32_t down_units;                // a down item's units in flight per lane: 1 or 2 times the type's
    int32_t parts;                     // the down projection's columns in this many parts (1, 2, 4): part p
                                       // of a row adds part p - 1's sum (handed over in a tagged word)
    int32_t blocks_per_sm;             // 2 or 4 (then half the gate/up units in flight; down_units 1)
    int32_t knock;                     // profiling only, results wrong: kFfn1Knock* parts left out
};

// Whether the fused kernel takes gate/up of type tg and down of type td with these sizes, its columns
// in `parts` parts.
bool ffn1_supports(TensorType tg, TensorType td, int64_t n_embd, int64_t n_ff, int parts);
// Chunks act is counted in: the largest divisor of n_ff / 32 of at most kFfn1MaxChunks.
int ffn1_chunks(int64_t n_ff);
void launch_ffn1(Launcher& l, TensorType tg, TensorType td, const Ffn1Args& a);

}  // namespace rf::gpu
