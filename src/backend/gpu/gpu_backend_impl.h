// The CUDA/HIP implementation of GpuBackend (see gpu_backend.h for the execution model).
// Host code only: kernels are reached through the launch_* functions of the op-family headers.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/gpu/step_trace_session.h"
#include "backend/gpu/gpu_backend.h"
#include "backend/gpu/gpu_blas.h"
#include "backend/gpu/gpu_graph.h"
#include "backend/gpu/gpu_launch.h"
#include "backend/gpu/matvec.cuh"
#include "backend/gpu/sampling.cuh"
#include "backend/gpu_host/f16_weight_cache.h"
#include "backend/gpu_host/gpu_lock.h"
#include "core/env_switch.h"

namespace rf::gpu {

struct PrefillEmitContext;  // gemm_dispatch.h

enum class OpKind : uint8_t { Embed, RmsNorm, Matmul, Rope, KvStore, Attention, Swiglu, Add, Gather, MoeFfn, GatedDeltaNet,
                              SigmoidMul };

// One recorded op; the fields each kind uses are listed at GpuBackendImpl's op methods.
struct Op {
    OpKind kind = OpKind::Add;
    Act a, b, c;
    Weight w, bias;
    float eps = 0.0f;
    int n_heads = 0, head_dim = 0;
    RopeParams rope;
    KvLayerView kv;
    AttentionParams attn;
    // MoeFfn (a: h, b: router logits, c: out; w: gate, w2: up, w3: down experts; moe_k experts per token)
    Weight w2, w3;
    int32_t moe_k = 0;
    bool moe_norm = false;
    // GatedDeltaNet (a: qkv, b: z, a2: alpha, b2: beta, c: out; w: conv, bias: a_neg, w2: dt_bias,
    // w3: norm; n_heads / head_dim: value heads and their dim, gdn_nk / gdn_dk: key heads and theirs;
    // eps; state: the sequence's recurrent state). SigmoidMul: a: x, b: gate, c: out.
    Act a2, b2;
    int32_t gdn_nk = 0, gdn_dk = 0;
    float* state = nullptr;
};

// Whether two recorded ops are the same op on the same buffers (every field).
bool same_op(const Op& a, const Op& b);

// Switches of the one-token (decode) paths, from the environment (gpu_emit.cpp lists them; the
// defaults are the measured best, docs/gpu_notes.md). Read once per flush.
struct DecodeSwitches {
    int matvec1 = 1;  // 0 never, 1 by shape, 2 always
    int matvec1_q8_epilogue = 1;  // SwiGLU q8_1 epilogue of the one-token kernel: 0 never, 1 by shape, 2 always
    bool norm_prologue = true;
    // The one-token norm prologue quantizes x * w before its factor 1 / rms is known and multiplies the
    // results by it, where nothing reads the normalised x after the launch (matvec1_kernel.cuh; H100, two
    // binaries alternated: 0.5b q4_0 ~2,452 -> ~2,473 tok/s, 7b q4_0 equal)
    bool norm_late_scale = true;
    bool rope_in_attention = true;
    bool early_loads = true;
    // Many-token kernel: one unit of the first batch before the PDL wait, the rest after (H100, same
    // call: 7b q4_0 step 1937 -> 1916 us, q4_K 2084 -> 2066, q8_0 3030 -> 2988, q5_1 2600 -> 2585).
    bool early_one = true;
    // Many-token kernel: short one-token rows loaded whole before the PDL wait. Off: the two-unit loop,
    // its first batch (early_one: its first unit) before the wait (H100, same call, the whole first
    // batch: 7b q4_0 step 1989 -> 1923 us, q4_K 2138 -> 2083; the whole share in one batch with only
    // its first unit before the wait, measured and removed: 7b q4_0 1909 -> 1980, q4_K 2051 -> 2157).
    bool matvec_whole_row = false;
    // One-token kernel, MatvecArgs::wide (kMatvec1Wide*): only the Q6_K tall matrices' three units; twice
    // the units where a lane's whole row then fits one batch (the 0.5b down projection, all its weights
    // requested before the PDL wait) measured slower: 0.5b q4_0 step 441 -> 431 us without it.
    int matvec1_wide = 3;
    // One-token kernel, before the PDL wait: 0 nothing, 1 the first batch, 2 its first unit, 3 by type:
    // the first unit for Q6_K, the batch for the others (H100, same call, queued us: nothing before the
    // wait, 7b q4_0 +39, 0.5b +40; half the batch +47 / +14; the first unit for all types: 7b q6_K 2952
    // -> 2926, q8_0 2992 -> 2984, q4_0 1927 -> 1968, 0.5b q4_0 430 -> 452).
    static constexpr int kMatvec1EarlyOff = 0, kMatvec1EarlyBatch = 1, kMatvec1EarlyUnit = 2, kMatvec1EarlyByType = 3;
    int matvec1_early = kMatvec1EarlyByType;
    bool matvec_x_hoist = true;     // one token: a batch's x loads before its dot products (MatvecArgs::x_hoist)
    int matvec1_fit = 7;           // one-token launches fitted to short rows (bits kMatvec1Fit*, matvec1_kernel.cuh)
    int matvec1_tokens = kMatvec1MaxTokens;  // most tokens of a launch on the one-token kernel (matvec1_kernel.cuh's NT)
    int matvec_warps_per_row = 0;   // many-token kernel: 0 by shape (choose_matvec_config), else 1, 2 or 4
    int matvec_mma_warps = 0;       // int8-mma matvec: warps per block (0 by shape, else 4 or 8; MatvecArgs::mma_warps)
    int matvec_mma_split = 0;       // ... warps per row tile (0 by shape, else 1, 2, 4, 8; MatvecArgs::mma_split)
    int matvec_triple = 2;          // many-token kernel: one-token Q4_0 rows three units per iteration
                                    // (0 off, 1 every row, 2 rows longer than kMatvecWholeRowUnits per lane:
                                    // the 7b down projection; its q/k/v and wo rows then take the
                                    // 48-register two-unit instance, whose 1,152 q/k/v blocks fit one
                                    // wave where the 58-register one needed two: 7b q4_0 517.5 / 519.0 ->
                                    // 524.1 / 525.1 tok/s, H100, docs/gpu_notes.md twenty-seventh pass)
    int matvec1_lanes = 0;          // one-token kernel: 0 by shape (choose_matvec1_config), else 4..32 lanes per row
    bool norm_slices = true;  // rms_norm of a row in several blocks (norm_quant.cuh)
    bool fast_replay = true;
    bool matvec1_persistent = true;  // one-token matvec on a persistent grid (matvec.cuh)
    // The q8_1 quantize before a matvec lets that matvec launch before the quantize waits (H100 engine,
    // switch_sweep.sh means: q4_k_m 450.0 -> 453.5 tok/s, q4_0 518.7 -> 520.6)
    bool quant_trigger_first = true;
    int matvec1_x_direct = 1;        // one-token matvec reads x from global memory: 0 never, 1 by shape, 2 always
    bool attn_prefetch = true;
    int attn_min_chunk = 32;         // fewest positions per split of the decode attention
    int attn_blocks_per_sm = 2;      // decode attention blocks aimed at per SM (splits = that / KV heads)
    int attn_mma = 2;                // decode attention on the matrix units: 0 never, 1 at 4096+ positions, 2 always (where the table allows)
    int attn_mma_stages = 0;         // its shared-memory ring (tiles; 0: by shape)
    bool attn_early_kv = true;       // it copies its first tiles before the PDL wait (rope folded in)
    // A matrix-unit attention block of one tile shares one softmax, its warps split P V by columns
    // (H100, same call: 0.5b q4_0 step 430.5 -> 421.2 us, 7b q4_0 1934 -> 1909)
    bool attn_one_tile = true;
    // ... and chunks of 2 .. ring-size tiles (8K contexts) likewise, every tile copied before the PDL wait
    // (AttnArgs::chunk_softmax; H100: 0.5b q4_0 8K 2,065 -> 2,087 tok/s, equal elsewhere)
    bool attn_chunk_softmax = true;
    // More than 16 chunks per head (long contexts) merged by D x G threads per head, each thread's
    // chunks loaded at once (attention_combine_wide.cu), instead of D threads walking them 8 at a time
    bool attn_combine_wide = true;
    // One token: the attention combine also multiplies each head by its columns of the output
    // projection (one-token matrices of 32-weight block types) into a fixed-point accumulator; the next
    // rms_norm prologue reads x + acc, the next residual epilogue into x folds it in, so the projection
    // needs no launch (H100, same call, queued us: 0.5b q4_0 step 419 -> 389, 7b unchanged: not taken)
    bool attn_proj = true;
    // One token: gather(x -> rows) + rms_norm(rows) in place as one rms_norm(x -> rows), left to the
    // output matvec's prologue where that launch is persistent on rows of up to
    // kGatherNormPrologueMaxCols (gpu_emit.cpp)
    bool gather_norm = true;
    // Greedy sampling without penalties through its own stage 1 (sampling.cuh; H100, same call, engine
    // 0.5b q4_0 2,433 -> 2,460 tok/s)
    bool sample_fast = true;
    // argmax_async's chain launched by the next begin_step whose token 0 it feeds, its final kernel also
    // copying that step's data (no upload kernel between two pipelined decode steps)
    bool sample_upload = true;
    // With sample_upload: the held greedy chain (and the next step's upload in its final kernel) emitted
    // as the first launches of the next step's graph instead of on their own before it (one graph
    // boundary per token instead of two; its launch arguments the same every step, SampleRing; H100, same
    // calls: 0.5b q4_0 ~2,477 -> ~2,496 tok/s, the engine trace's hand-over 16.0 -> 12.1 us per token)
    bool sample_in_graph = true;
    // Graphs for steps with a vendor GEMM or flash attention (prefill-sized steps). Off: those
    // run eagerly (their kernels take 10-1000 us, so a graph saves <1% of launch overhead, and a
    // chunk's signature changes with its context length, i.e. a capture + update per chunk).
    bool prefill_graphs = false;
    // MoeFfn ops (gpu_moe.cpp): the experts' gate and up rows and the SwiGLU in one launch where gate
    // and up share a type (off: a launch each and the SwiGLU's own)
    bool moe_fused_gate_up = true;
    std::vector<std::string> profile_skip;  // kernel-name substrings not launched (profiling only)
    std::vector<std::string> profile_stream;  // matvec kernel-name substrings replaced by a stream of their weights
    StreamShape profile_stream_shape;         // ... and the shape of that stream (gpu_launch.h)
    bool operator==(const DecodeSwitches&) const = default;
};
DecodeSwitches decode_switches();

// A device buffer that only grows (scratch). Growing waits for the stream first.
struct ScratchBuffer {
    void* ptr = nullptr;
    size_t bytes = 0;
};

class GpuBackendImpl final : public GpuBackend {
public:
    explicit GpuBackendImpl(const GpuBackendOptions& options);
    ~GpuBackendImpl() override;

    std::string name() const override;

    void* alloc(size_t bytes) override;
    void release(void* ptr) override;
    void upload(void* dst, const void* host_src, size_t bytes) override;
    void download(void* host_dst, const void* src, size_t bytes) override;
    void fill_zero(void* dst, size_t bytes) override;
    void copy(void* dst, const void* src, size_t bytes) override;
    Weight load_weight(TensorType type, int64_t cols, int64_t rows, int64_t n_mats, const void* host_data) override;
    void synchronize() override;

    void begin_step(const StepPlan& plan) override;

    void embed(const Weight& table, Act out) override;
    void rms_norm(Act x, const Weight& w, float eps, Act out) override;
    void matmul(const Weight& w, Act x, Act y, const Weight* bias) override;
    void rope(Act x, int n_heads, int head_dim, const RopeParams& p) override;
    void kv_store(const KvLayerView& layer, Act k, Act v) override;
    void attention(Act q, const KvLayerView& layer, const AttentionParams& p, Act out) override;
    void swiglu(Act gate, Act up, Act out) override;
    void add(Act a, Act b, Act out) override;
    void gather_output_rows(Act x, Act out) override;
    void moe_ffn(Act h, Act router_logits, const MoeFfn& moe, Act out) override;
    void gated_delta_net(Act qkv, Act z, Act a, Act b, const GatedDeltaNet& p, float* state, Act out) override;
    void sigmoid_mul(Act x, Act gate, Act out) override;

    GpuDeviceInfo device_info() override;
    void check_vram(const VramNeed& need) override;
    int32_t argmax(const float* row, int64_t n) override;
    void argmax_async(const float* row, int64_t n) override;
    int32_t argmax_wait() override;
    int pending_argmax() const override { return static_cast<int>(pending_argmax_.size()); }
    void argmax_rows_async(const float* rows, int64_t n_rows, int64_t n) override;
    std::vector<GpuSampleResult> argmax_rows_wait() override;
    int pending_argmax_rows() const override { return static_cast<int>(pending_rows_.size()); }
    GpuSampleResult sample(const float* row, int64_t n, const GpuSamplingParams& params,
                           std::span<const GpuTokenCount> penalties, double u) override;
    std::vector<GpuSampleResult> sample_rows(std::span<const GpuRowSample> rows) override;
    GpuGraphStats graph_stats() const override { return stats_; }
    void set_use_graphs(bool on) override { use_graphs_ = on; }
    void set_fuse_ops(bool on) override { fuse_ops_ = on; }
    void set_use_pdl(bool on) override { use_pdl_ = on && pdl_supported_; }
    void set_attention_trace(void* device_buffer) override {
        attn_trace_ = device_buffer;
        last_flush_.valid = false;  // the next step is emitted again (the launches' arguments change)
    }
    GpuF16CacheInfo f16_cache_info() const override;
    void set_f16_cache_budget(int64_t bytes) override;

private:
    // Device copies of the step plan's integers (see begin_step).
    struct StepDevice {
        const int32_t* tokens = nullptr;
        const int32_t* positions = nullptr;
        const int32_t* slots = nullptr;
        const int32_t* token_seq = nullptr;
        const int32_t* output_rows = nullptr;
        const int32_t* block_tables = nullptr;
        int32_t bt_stride = 0;
    };
    struct ScratchNeeds {
        size_t q8 = 0;        // int8 activations + their float2 scales
        size_t attn = 0;      // split-K partials
        size_t blas_w = 0;    // dequantized weight rows (f16)
        size_t blas_x = 0;    // activations as f16/bf16
        size_t res_acc = 0;   // a deferred residual update's fixed-point accumulator (kept zero between uses)
        size_t moe = 0;       // MoeFfn ops on the device: routing, q8_1 inputs, expert outputs (moe_layout)
        size_t gdn = 0;       // GatedDeltaNet ops: the convolution's output [T, channels]
    };

    void record(const Op& op);
    // cudaStreamSynchronize / cudaEventSynchronize, the time counted in stats_.wait_ns
    void wait_stream();
    void wait_event(cudaEvent_t e);
    // The decode switches (environment) and the profiling knock-outs, read at every flush and sampling call.
    void read_switches();
    void flush();
    bool fast_replay();
    void emit(Launcher& l) const;
    ScratchNeeds scratch_needs() const;
    void ensure_scratch(ScratchBuffer& b, size_t bytes);
    // The launches of a MoeFfn op (gpu_moe.cpp): routing, the experts' matvecs, the weighted sum.
    void emit_moe_ffn(Launcher& l, const Op& op) const;
    // The f16 copies of this flush's vendor-GEMM weights (f16_slots_, per op); true when a cache
    // step began (end it with f16_cache_.end_step). pc: the flush's dispatch context.
    bool prepare_f16_copies(const PrefillEmitContext& pc);
    void set_f16_budget_from_device();
    // The backend wrote [p, p + n): copies of weights there are stale.
    void forget_f16(const void* p, size_t n);
    // The load_weight allocation holding p, or weights_.end().
    std::map<const uint8_t*, size_t>::const_iterator weight_holding(const void* p) const;
    // Whether step data and argmax_async results move by kernels reading / writing pinned host
    // memory (no copy-engine operation between two steps' kernels) or by cudaMemcpyAsync
    // (RF_GPU_ZERO_COPY=off, read at every call as the decode switches are at every flush; or the
    // runtime gave no device mapping of the pinned buffers).
    bool zero_copy() const;
    // Pinned host memory with a device mapping (*dev; null where the runtime has none for it).
    void alloc_mapped_host(void** host, void** dev, size_t bytes);
    bool host_mapped_ = true;  // every pinned buffer so far has its device mapping
    // RF_GPU_ALLOC_LOG=on (profiling): every device allocation and release of alloc(), release()
    // and the scratch buffers logged with its address and size (where a step's buffers sit); read
    // at each one (they are rare)
    static bool alloc_log() { return env_choice("RF_GPU_ALLOC_LOG", {"off", "on"}, 0) == 1; }
    // Whether the kernels launched outside the step's graph (sampling, step upload) use
    // programmatic dependent launch too (RF_GPU_PDL_BETWEEN_STEPS=off: plain stream order).
    bool pdl_between_steps() const;
    // Flushes, launches the sampling chain; returns the device address of its SampleOut. The result
    // also reaches host_result (a SampleOut inside sample_host_) in stream order: written there by
    // the chain's last kernel through the device mapping (zero_copy()) or copied after it.
    const void* launch_sampling(const float* row, int64_t n, const GpuSamplingParams& p,
                                std::span<const GpuTokenCount> penalties, double u, int k_list, void* host_result,
                                StepUpload up = StepUpload{nullptr, nullptr, 0});
    // argmax_async's chain, held back (sample_upload) until the next begin_step can fuse its upload
    // into it, or anything else needs it launched first.
    struct HeldSample {
        bool active = false;
        const float* row = nullptr;
        int64_t n = 0;
        int slot = 0;
    };
    HeldSample held_sample_;
    // The held chain given to the next flush (sample_in_graph): emitted first, inside the step's graph;
    // its events (argmax_done_[slot], staging_done_[staging]) recorded after the step's launch. Its
    // launch arguments are the same every step (SampleRing): the final kernel takes result slot and
    // staging buffer by the parity of ring_counter_, which the host predicts (ring_count_).
    struct GraphSample {
        bool active = false;
        const float* row = nullptr;
        int64_t n = 0;
        StepUpload up{nullptr, nullptr, 0};  // (src unused: the ring's staging buffers)
        const int32_t* staging_src[2] = {nullptr, nullptr};
        const void* scratch = nullptr;       // sample_buf_ when given
        // host-side only (not launch arguments)
        int slot = 0;     // argmax_async's pending slot
        int staging = 0;  // = parity: the staging buffer and ring result slot the chain takes
    };
    GraphSample graph_sample_;
    // The device counter the ring's final kernels increment (zeroed at start) and the host's count of
    // the chains launched with it; the ring's result words at kRingWordOffset in sample_host_.
    int32_t* ring_counter_ = nullptr;
    uint32_t ring_count_ = 0;
    int ring_of_slot_[2] = {-1, -1};  // argmax_async slot -> ring slot holding its result (-1: its own)
    // begin_step of a step fed by the held chain (sample_in_graph): the chain, its result word emptied and
    // the device token, given to the step's flush (graph_sample_); up.src: staging buffer si's (the ring's)
    void hand_held_sample_to_graph(StepUpload up, int si);
    // The greedy chain of g (stage 1, final kernel with g.up) on l (no flush; the scratch is there)
    void emit_greedy_chain(Launcher& l, const GraphSample& g) const;
    // After the launch that held graph_sample_'s chain: its events (the result's after the whole launch:
    // with in_step, argmax_wait polls the result word first), and it is done
    void graph_sample_launched(bool in_step);
    // graph_sample_'s chain launched on its own (a flush with no step to put it in), then done
    void launch_graph_sample_alone();
    bool polled_[2] = {false, false};  // argmax_async slots whose result argmax_wait polls
    // Launches the held chain (if any); with a non-null up.dst its final kernel copies the step data.
    void launch_held_sample(StepUpload up);
    void sample_on_device(const float* row, int64_t n, const GpuSamplingParams& p,
                          std::span<const GpuTokenCount> penalties, double u, int k_list, GpuSampleResult& out);

    std::shared_ptr<GpuLock> lock_;
    int device_ = 0;
    GpuDeviceInfo info_;
    bool use_graphs_ = true;
    bool fuse_ops_ = true;
    bool use_pdl_ = false;
    void* attn_trace_ = nullptr;  // set_attention_trace
    std::unique_ptr<StepTraceSession> step_trace_;  // RF_GPU_STEP_TRACE (profiling builds)
    bool pdl_supported_ = false;
    bool use_blas_ = true;
    cudaStream_t stream_ = nullptr;
    std::unique_ptr<GpuBlas> blas_;
    StepGraphs graphs_;
    GpuGraphStats stats_;

    std::vector<Op> ops_;
    DecodeSwitches switches_;  // for the flush in progress
    // What the last flush emitted from (fast_replay(): an identical single-token step relaunches
    // its graph without emitting).
    struct FlushInputs {
        bool valid = false;
        std::vector<Op> ops;
        std::vector<int8_t> paths;  // per op: the dispatch decision (matmul path / flash attention)
        StepDevice step;
        int32_t ctx_bucket = 0;
        int64_t n_tokens = 0, n_seqs = 0;  // the plan's (use_matvec_mma reads both)
        const void* scratch[7] = {};
        bool fuse = false, pdl = false;
        DecodeSwitches switches;
        GraphSample sample;  // the sampling chain launched first (inactive: none)
    };
    FlushInputs last_flush_;
    std::vector<int8_t> paths_;  // this flush's dispatch decisions
    StepPlan plan_;
    int32_t max_ctx_ = 0;
    StepDevice step_;
    ScratchBuffer step_buf_;
    int32_t* staging_[2] = {nullptr, nullptr};  // pinned
    int32_t* staging_dev_[2] = {nullptr, nullptr};  // their device mappings (step upload kernel)
    size_t staging_ints_ = 0;
    cudaEvent_t staging_done_[2] = {nullptr, nullptr};
    int staging_next_ = 0;

    ScratchBuffer q8_, attn_, blas_w_, blas_x_;
    ScratchBuffer res_acc_;  // residual_acc.cuh: zeroed when allocated; every step that adds to it zeroes it again
    ScratchBuffer sample_buf_;
    ScratchBuffer moe_lists_, moe_rows_;  // moe_ffn (gpu_moe.cpp): the experts' token lists and weights, their rows
    ScratchBuffer moe_dev_;                // MoeFfn ops (routed on the device; gpu_moe.cpp's MoeLayout)
    ScratchBuffer gdn_;                    // GatedDeltaNet ops (gated_delta_net.cuh)
    void* sample_host_ = nullptr;  // pinned: the synchronous result at 0, argmax_async's slots at kAsyncSampleOffset
    void* sample_host_dev_ = nullptr;  // its device mapping (argmax_async's results written by the kernel)
    static constexpr size_t kSampleHostBytes = 64 * 1024;
    static constexpr size_t kAsyncSampleOffset = 1024;
    static constexpr size_t kRingWordOffset = 2048;  // SampleRing's two result words
    cudaEvent_t argmax_done_[2] = {nullptr, nullptr};
    std::deque<int> pending_argmax_;          // slots of argmax_async results not read yet, oldest first
    const int32_t* device_token_ = nullptr;   // the last argmax_async's token on the device (until other sampling)
    // argmax_rows_async (gpu_sampling_rows.cpp): the batches' results on the device, [2][kMaxAsyncRows]
    // by batch parity (a plan's device_rows read the last batch's until the batch after next), their host
    // copies in sample_host_ at kRowsSampleOffset (same order), an event per parity.
    static constexpr size_t kRowsSampleOffset = 8192;
    struct RowsBatch {
        int parity = 0;
        int64_t n_rows = 0;
    };
    ScratchBuffer rows_out_;
    cudaEvent_t rows_done_[2] = {nullptr, nullptr};
    std::deque<RowsBatch> pending_rows_;      // oldest first
    int rows_parity_ = 0;                     // the next batch's
    const SampleOut* device_rows_ = nullptr;  // the last batch's results (null: none since the last plan took them)
    int64_t device_rows_n_ = 0;
    std::map<const uint8_t*, size_t> weights_;  // load_weight allocations: base -> bytes
    F16WeightCache f16_cache_;
    std::vector<F16WeightCache::Slot> f16_slots_;  // this flush's copies, per op (empty: none)
};

}  // namespace rf::gpu
