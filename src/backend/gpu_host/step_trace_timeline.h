// The whole-step trace's records (src/backend/gpu/step_trace.cuh: one per block of every traced
// kernel, stamped by the block's thread 0) grouped back into launches and summed into a timeline.
// Plain C++ (no GPU runtime): the grouping is tested on the CPU.
//
// Grouping: each launch is the run of grid_blocks records with the same kernel tag, info and grid,
// every block id once, taken in the order the blocks took them (an atomic add at entry); the runs of
// neighbouring launches may interleave (a block's other warps can pass the launch trigger while its
// thread 0 still waits for its record, so the next launch's first blocks can take theirs earlier), so a
// record joins the oldest open launch of its class that lacks its block id. The launches are then put in
// stream order by their last block's end: every traced kernel waits for the one before it to complete
// before it ends. (Not the entry stamps: the global timer ticks in 256 ns steps on the H100, and blocks
// of two launches tie.) The ticks also make every time here a multiple of them: the class figures are
// means over many launches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rf {

// Kernel families of the step trace (the tag a kernel passes to RF_STEP_TRACE_SCOPE).
enum class StepTraceTag : uint32_t {
    None = 0,
    Matvec1 = 1,       // one-token matvec (info: the launch's rows)
    Matvec = 2,        // many-token matvec (info: rows)
    AttnMma = 3,       // decode attention on the matrix units (info: splits)
    AttnFma = 4,       // decode attention, FMA kernel (info: splits)
    Combine = 5,       // split-K combine (info: splits)
    CombineProj = 6,   // combine + output projection (info: the projection's rows)
    CombineWide = 7,   // combine of many chunks (info: splits)
    RmsNorm = 8,       // rms_norm, one block per row (info: cols)
    RmsNormSliced = 9, // rms_norm sliced over blocks (info: cols)
    Quantize = 10,     // q8_1 quantize (info: cols)
    Embed = 11,        // embedding gather
    Sampling = 12,     // sampling kernels (info: 1 stage 1, 2 greedy stage 1, 3 merge, 4 final)
    Elementwise = 13,  // add / swiglu / gather rows (info: elements)
    RopeKv = 14,       // rope / kv store kernels
    Upload = 15,       // step data upload
};
const char* step_trace_tag_name(uint32_t tag);

// One block's record as the device wrote it (kStepTraceWords words).
struct StepTraceRecord {
    uint32_t tag = 0;
    uint32_t info = 0;
    uint32_t grid_blocks = 0;  // blocks of its launch
    uint32_t block = 0;        // its linear block id
    uint32_t smid = 0;
    uint64_t t_entry = 0;      // global timer (ns) at the kernel's first instruction
    uint64_t t_wait = 0;       // ... after its programmatic-dependent-launch wait (0: none stamped)
    uint64_t t_exit = 0;       // ... at thread 0's return
    uint64_t t_mark[2] = {0, 0};  // ... at the kernel's marks (0: none)
};
constexpr int kStepTraceWords = 8;
// words: kStepTraceWords per record, as written by step_trace.cuh
std::vector<StepTraceRecord> step_trace_decode(const std::vector<unsigned long long>& words, size_t n_records);

struct StepTraceLaunch {
    uint32_t tag = 0, info = 0, blocks = 0;
    uint64_t entry_first = 0, entry_last = 0;  // ns
    uint64_t wait_first = 0, wait_last = 0;    // 0 where the kernel stamps no wait
    uint64_t exit_first = 0, exit_last = 0;
    double wait_to_exit_mean = 0;              // ns, over blocks (the work after the wait)
    // ns, over blocks with the marks: wait -> mark 0, mark 0 -> mark 1, the last mark -> exit (-1: no marks)
    double wait_to_mark0_mean = -1, mark0_to_mark1_mean = -1, mark_to_exit_mean = -1;
};

// The records (in the order the blocks took them) grouped into launches, in stream order. Throws
// std::runtime_error naming the launch left incomplete (fewer records of its class than its grid) or a
// record with a block id past its grid.
std::vector<StepTraceLaunch> step_trace_launches(const std::vector<StepTraceRecord>& records);

// One row per class of launch (tag, info, blocks) in order of first appearance: how many, and
// means over them of the critical-path share (its last exit minus the previous launch's last
// exit), the release (its first wait minus the previous launch's last exit), the work after the
// wait (last exit minus first wait) and the entry lead (previous last exit minus its first entry:
// how long its blocks sat resident before their predecessor ended).
// Also per class: a block's wait -> end (block_work), the marks' shares (wait -> mark 0, mark 0 -> mark 1,
// the last mark -> end; -1 where the class's kernel stamps none) and the entry spread (first to last block).
struct StepTraceClass {
    uint32_t tag = 0, info = 0, blocks = 0;
    int count = 0;
    double share_us = 0, release_us = 0, work_us = 0, lead_us = 0, share_sum_us = 0;
    double block_work_us = 0, mark0_us = -1, mark01_us = -1, mark_exit_us = -1, spread_us = 0;
};
std::vector<StepTraceClass> step_trace_classes(const std::vector<StepTraceLaunch>& launches);

// The complete steps among the launches (in stream order): a step starts at an embedding launch; kept
// are the launches from the second start to the last one (the first step, which the trace may have cut,
// and the last, which may be cut, left out). steps = 0 when there are fewer than three starts.
struct StepTraceSteps {
    std::vector<StepTraceLaunch> launches;
    size_t steps = 0;
    size_t first_step_launches = 0;  // launches of the first kept step
    uint64_t before_first = 0;       // the last block's end of the launch before the kept ones
};
StepTraceSteps step_trace_complete_steps(const std::vector<StepTraceLaunch>& all);

// The report of a trace: a line naming its columns, the per-class table of the complete steps, and with
// every_launch the first complete step's launches one by one (us from the previous launch's last end).
std::string step_trace_report(const std::vector<StepTraceLaunch>& all, bool every_launch);

// The table printed by the benchmark (one line per class, then the total span): the class figures
// above, a block's wait -> end, its marks' shares (->mark0, ->mark1, ->exit: from the wait, mark 0 and the
// last mark) and the entry spread (first to last block's entry).
std::string step_trace_table(const std::vector<StepTraceLaunch>& launches);

}  // namespace rf
