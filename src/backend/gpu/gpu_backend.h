// The GPU backend's public face, includable from CPU-only code (no CUDA/HIP headers): the
// options, the factory, and the GPU-only extras the engine uses beside the Backend ops
// (device / VRAM information, sampling on the device, graph statistics).
//
// Creating a GPU backend: takes the cross-process GpuLock (unless the caller passes one it
// holds), runs the staged preflight (device present, runtime sees it, memory round trip incl. a
// device-to-device copy, a trivial kernel whose result is checked), then creates one stream and
// (CUDA) one cuBLAS handle. Nothing else touches the GPU before the preflight passed.
//
// Execution model: ops are recorded, not run, until a sync point (download, synchronize,
// upload, copy, fill_zero, sampling). At a sync point the recorded ops are turned into kernel
// launches (fusing neighbours where shapes allow) and run either directly or as a CUDA/HIP graph
// that is replayed while the launches stay the same and updated in place (graph exec update)
// when only pointers, grid sizes or scalars change. Prefill-sized steps (a vendor GEMM or flash
// attention) run directly: their kernels are long, and a capture per chunk would cost more than
// the launches it saves (RF_GPU_PREFILL_GRAPHS=on to compare). Everything that changes every
// decode step (token ids, positions, KV slots, context lengths, block tables) is read by the
// kernels from device buffers filled by begin_step, so a decode step replays the same graph.
//
// f16 weight cache (gpu_host/f16_weight_cache.h): the vendor-GEMM path (many-token steps) keeps
// the dequantized f16 copy of each quantized matrix it ran on, within a byte budget taken from
// the VRAM left after the model's own buffers (ROCMFORGE_GPU_F16_CACHE_GB sets it, 0 turns it
// off), so later chunks and prompts skip the dequantization. It gives memory back when an
// allocation of the model needs it; results are bit-identical with and without it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/gpu_host/vram_budget.h"
#include "core/error.h"

namespace rf {

class GpuLock;

struct GpuBackendOptions {
    int device = 0;
    bool use_graphs = true;       // capture and replay steps as graphs
    bool fuse_ops = true;         // fuse neighbouring ops (norm+quantize, qkv, gate/up+swiglu, ...)
    bool use_blas = true;         // cuBLAS for many-token products (CUDA builds)
    // Programmatic dependent launch between kernels (CUDA, sm_90+; ignored elsewhere): each kernel
    // starts while its predecessor drains and waits for it in griddepcontrol.wait, after loading
    // what does not depend on it (weights, step data). RF_GPU_PDL=off in the environment turns it off.
    bool use_pdl = true;
    // A lock the caller already holds (e.g. a test binary); when null the backend takes its
    // own from gpu_lock_options_from_env().
    std::shared_ptr<GpuLock> lock;
};

struct GpuDeviceInfo {
    std::string name;
    std::string arch;            // "sm_90", "gfx1030"
    int multiprocessors = 0;
    int warp_size = 0;
    uint64_t total_bytes = 0;
    uint64_t free_bytes = 0;     // at the time of the query
    bool drives_display = false; // kernel execution timeout set: the card runs a desktop
    double mem_bandwidth_gbs = 0.0;  // theoretical, from the device attributes (0 if unknown)
};

// Sampling on the device, the same chain as rf::Sampler (penalties, top-k, top-p, min-p,
// temperature, draw); temperature <= 0 is greedy.
struct GpuSamplingParams {
    float temperature = 0.8f;
    int top_k = 40;
    float top_p = 0.95f;
    float min_p = 0.05f;
    float repeat_penalty = 1.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
};

// One token of the penalty window and how often it occurs there.
struct GpuTokenCount {
    int32_t token = 0;
    int32_t count = 0;
};

// One row of a batch for GpuBackend::sample_rows.
struct GpuRowSample {
    const float* row = nullptr;  // [n] logits in backend memory
    int64_t n = 0;
    GpuSamplingParams params;    // temperature <= 0: greedy (the argmax)
    std::vector<GpuTokenCount> penalties;
    double u = 0.0;              // the row's uniform draw in [0, 1)
};

struct GpuSampleResult {
    int32_t token = -1;
    float logprob = 0.0f;  // of the chosen token under the raw logits (log-softmax)
    bool on_device = true; // false: the nucleus was wider than the device's candidate list and
                           // the row was sampled on the host (same chain, same draw)
};

struct GpuGraphStats {
    int64_t steps = 0;           // flushes that launched work
    int64_t graph_launches = 0;  // replays of an instantiated graph (incl. after an update)
    int64_t graph_updates = 0;   // successful in-place exec updates
    int64_t graph_instantiations = 0;
    int64_t eager_flushes = 0;   // flushes launched kernel by kernel
    int64_t kernels = 0;         // kernel launches issued (in graphs or directly)
    int64_t fast_replays = 0;    // steps identical to the previous one: its graph relaunched without re-emitting
    int64_t step_uploads = 0;    // step data uploads by a kernel / copy of their own (begin_step)
    int64_t fused_uploads = 0;   // step data copied by the final kernel of the argmax feeding the step
    int64_t graph_samples = 0;   // ... with that sampling chain inside the step's launch (RF_GPU_SAMPLE_IN_GRAPH)
    int64_t flush_ns = 0;        // host time spent turning recorded ops into launches (flushes)
    // Host-time accounting of the engine path (ns; `rocmforge bench` prints them per test):
    int64_t ops = 0;               // ops recorded
    int64_t begin_step_ns = 0;     // begin_step: plan checks, staging, the upload's issue (its flush of
                                   // the previous step's ops counts in flush_ns)
    int64_t graph_build_ns = 0;    // stream capture + exec update + instantiation (part of flush_ns)
    int64_t wait_ns = 0;           // blocked on the device (stream / event synchronize), anywhere
    int64_t sample_ns = 0;         // argmax / sample calls, incl. their flush and wait
    int64_t device_allocs = 0;     // cudaMalloc / cudaFree / pinned host allocations after creation
    int64_t alloc_ns = 0;          // host time in those
    // f16 weight cache, per vendor-GEMM matmul of a quantized weight: a resident copy used, a copy
    // written by this matmul, no room (dequantized into the scratch)
    int64_t f16_cache_hits = 0;
    int64_t f16_cache_fills = 0;
    int64_t f16_cache_bypasses = 0;
};

// State of the f16 weight cache.
struct GpuF16CacheInfo {
    bool budget_known = false;  // false until the first vendor-GEMM step or set_f16_cache_budget()
    uint64_t budget_bytes = 0;
    uint64_t used_bytes = 0;
    int64_t entries = 0;
    int64_t evictions = 0;
};

class GpuBackend : public Backend {
public:
    DeviceKind kind() const override { return DeviceKind::Gpu; }

    virtual GpuDeviceInfo device_info() = 0;
    // Throws rf::Error with the numbers when `need` does not fit free VRAM minus the reserve
    // (vram_reserve_bytes(drives_display)). Call before allocating weights and KV.
    virtual void check_vram(const VramNeed& need) = 0;

    // Index of the largest value of a row in backend memory (lowest index on ties).
    virtual int32_t argmax(const float* row, int64_t n) = 0;
    // Decode pipelining (greedy): argmax_async launches the argmax of a row without waiting for
    // it; its token stays on the device, where a following begin_step whose plan has
    // first_token_from_device takes it, so the next step can be recorded and launched before the
    // host knows the token. argmax_wait returns the oldest pending result (at most 2 pending).
    // (The chain itself is launched by the next begin_step fed from the device, whose step data its
    // final kernel copies, or before anything else that needs it: RF_GPU_SAMPLE_UPLOAD.)
    virtual void argmax_async(const float* row, int64_t n) = 0;
    virtual int32_t argmax_wait() = 0;
    virtual int pending_argmax() const = 0;
    // Batched decode pipelining (greedy rows): argmax_rows_async launches the argmax of n_rows rows
    // of n values (row i at rows + i * n, a batched step's outputs) without waiting for them; their
    // tokens stay on the device, where the next begin_step takes those its plan names in
    // StepPlan::device_rows (rows of the last batch launched). argmax_rows_wait returns the oldest
    // batch's results, token and log-probability per row (at most 2 batches pending; 1 ..
    // kMaxAsyncRows rows each).
    static constexpr int64_t kMaxAsyncRows = 1024;
    virtual void argmax_rows_async(const float* rows, int64_t n_rows, int64_t n) = 0;
    virtual std::vector<GpuSampleResult> argmax_rows_wait() = 0;
    virtual int pending_argmax_rows() const = 0;
    // Samples one token from a row of logits in backend memory. `penalties`: the tokens of the
    // penalty window with their counts; `u`: a uniform draw in [0, 1) from the caller's RNG (the
    // CPU sampler's draw is u * total weight of the kept candidates).
    virtual GpuSampleResult sample(const float* row, int64_t n, const GpuSamplingParams& params,
                                   std::span<const GpuTokenCount> penalties, double u) = 0;
    // sample() of several rows (a batched decode step's), their chains launched one after another and
    // waited for once: the same tokens as row by row, one host round trip instead of one per row.
    virtual std::vector<GpuSampleResult> sample_rows(std::span<const GpuRowSample> rows) = 0;

    virtual GpuGraphStats graph_stats() const = 0;
    virtual void set_use_graphs(bool on) = 0;
    virtual void set_fuse_ops(bool on) = 0;
    virtual void set_use_pdl(bool on) = 0;
    // Profiling (benchmarks only): with a device buffer of kAttnTraceBytes, the first
    // kAttnTraceLaunches decode attentions of every step on the matrix units stamp each block's
    // phases there (attention.cuh: AttnTrace); null turns it off.
    virtual void set_attention_trace(void* device_buffer) = 0;

    virtual GpuF16CacheInfo f16_cache_info() const = 0;
    // Byte budget of the f16 weight cache (evicting least recently used copies above it); a
    // negative value goes back to the automatic budget (environment or free VRAM), computed at the
    // next vendor-GEMM step. Synchronizes.
    virtual void set_f16_cache_budget(int64_t bytes) = 0;
};

#if defined(ROCMFORGE_WITH_GPU)
std::unique_ptr<GpuBackend> make_gpu_backend(const GpuBackendOptions& options);
#else
[[noreturn]] inline std::unique_ptr<GpuBackend> make_gpu_backend(const GpuBackendOptions&) {
    fail("this rocmforge was built without a GPU backend (configure with -DROCMFORGE_CUDA=ON or "
         "-DROCMFORGE_HIP=ON); use --device cpu");
}
#endif

}  // namespace rf
