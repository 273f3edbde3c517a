// GpuBackendImpl: creation (lock, preflight, stream, BLAS), memory, weights, the step plan on the
// device, recording ops and flushing them through the graph runner.
#include "backend/gpu/gpu_backend_impl.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "backend/gpu/attention.cuh"
#include "backend/gpu/dequant.cuh"
#include "backend/gpu/elementwise.cuh"
#include "backend/gpu/gemm_dispatch.h"
#include "backend/gpu/matvec.cuh"
#include "backend/gpu/gpu_check.h"
#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu/gpu_device.h"
#include "backend/gpu/gpu_weight_layout.h"
#include "backend/gpu/scratch_growth.h"
#include "backend/gpu_host/preflight.h"
#include "core/env_switch.h"
#include "core/error.h"

namespace rf {

std::unique_ptr<GpuBackend> make_gpu_backend(const GpuBackendOptions& options) {
    return std::make_unique<gpu::GpuBackendImpl>(options);
}

namespace gpu {
namespace {

constexpr size_t kUploadChunk = 64u << 20;

bool overlaps(const void* a, size_t an, const void* b, size_t bn) {
    const auto* pa = static_cast<const uint8_t*>(a);
    const auto* pb = static_cast<const uint8_t*>(b);
    return pa < pb + bn && pb < pa + an;
}

}  // namespace

GpuBackendImpl::GpuBackendImpl(const GpuBackendOptions& options)
    : device_(options.device),
      use_graphs_(options.use_graphs),
      fuse_ops_(options.fuse_ops),
      use_pdl_(options.use_pdl),
      use_blas_(options.use_blas),
      f16_cache_(
          [this](size_t bytes) -> void* {  // no room is not an error: the op uses the scratch
              ScopedNs timer(stats_.alloc_ns);
              ++stats_.device_allocs;
              void* p = nullptr;
              if (cudaMalloc(&p, bytes) == cudaSuccess) return p;
              (void)cudaGetLastError();
              return nullptr;
          },
          [this](void* p) {  // queued steps may still read the copy
              wait_stream();
              ScopedNs timer(stats_.alloc_ns);
              ++stats_.device_allocs;
              RF_GPU_CHECK(cudaFree(p));
          }) {
    lock_ = options.lock ? options.lock : std::make_shared<GpuLock>(gpu_lock_options_from_env());
    RuntimePreflightDevice preflight(device_);
    run_preflight(preflight);
    RF_GPU_CHECK(cudaSetDevice(device_));
    info_ = query_device_info(device_);
#if !defined(ROCMFORGE_WITH_HIP)
    int major = 0;
    RF_GPU_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device_));
    pdl_supported_ = major >= 9;
#endif
    if (env_choice("RF_GPU_PDL", {"off", "on"}, 1) == 0) use_pdl_ = false;
    use_pdl_ = use_pdl_ && pdl_supported_;
    switches_ = decode_switches();  // a bad RF_GPU_* value fails here, before any work (re-read per flush)
    step_trace_ = StepTraceSession::from_env();
    if (info_.warp_size != 32)
        fail("gpu: device {} ('{}') runs {}-lane wavefronts; the GPU kernels' launch geometry assumes 32", device_,
             info_.name, info_.warp_size);
    RF_GPU_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    for (auto& e : staging_done_) RF_GPU_CHECK(cudaEventCreate(&e));
    for (auto& e : argmax_done_) RF_GPU_CHECK(cudaEventCreate(&e));
    for (auto& e : rows_done_) RF_GPU_CHECK(cudaEventCreate(&e));
    alloc_mapped_host(&sample_host_, &sample_host_dev_, kSampleHostBytes);
    RF_GPU_CHECK(cudaMalloc(reinterpret_cast<void**>(&ring_counter_), sizeof(int32_t)));
    RF_GPU_CHECK(cudaMemsetAsync(ring_counter_, 0, sizeof(int32_t), stream_));
    if (use_blas_) blas_ = make_gpu_blas();
}

GpuBackendImpl::~GpuBackendImpl() {
    try {
        synchronize();
    } catch (...) {
    }
    try {
        f16_cache_.clear();
    } catch (...) {
    }
    graphs_.clear();
    blas_.reset();
    for (const auto& w : weights_) (void)cudaFree(const_cast<uint8_t*>(w.first));
    for (ScratchBuffer* b : {&step_buf_, &q8_, &attn_, &blas_w_, &blas_x_, &res_acc_, &sample_buf_, &moe_lists_, &moe_rows_, &moe_dev_, &gdn_, &rows_out_})
        if (b->ptr) (void)cudaFree(b->ptr);
    for (int32_t* s : staging_)
        if (s) (void)cudaFreeHost(s);
    if (sample_host_) (void)cudaFreeHost(sample_host_);
    if (ring_counter_) (void)cudaFree(ring_counter_);
    for (auto& e : staging_done_)
        if (e) (void)cudaEventDestroy(e);
    for (auto& e : argmax_done_)
        if (e) (void)cudaEventDestroy(e);
    for (auto& e : rows_done_)
        if (e) (void)cudaEventDestroy(e);
    if (stream_) (void)cudaStreamDestroy(stream_);
}

std::string GpuBackendImpl::name() const {
    return fmt::format("gpu {} ({}, {}, {} SMs)", RF_GPU_VENDOR, info_.name, info_.arch, info_.multiprocessors);
}

// ---- memory ------------------------------------------------------------------------------

void* GpuBackendImpl::alloc(size_t bytes) {
    ScopedNs timer(stats_.alloc_ns);
    ++stats_.device_allocs;
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, bytes > 0 ? bytes : 256);
    // The f16 weight cache only holds memory nothing else wanted: give it back (least recently
    // used copies first) until this allocation fits. Recorded ops never point into the cache
    // (copies are bound when a flush emits), so only queued work has to finish first.
    while (err != cudaSuccess && f16_cache_.used_bytes() > 0) {
        (void)cudaGetLastError();
        const uint64_t before = f16_cache_.used_bytes();
        f16_cache_.release_for(bytes > 0 ? bytes : 256);
        spdlog::info("gpu: f16 weight cache gave back {:.2f} GiB for an allocation of {:.1f} MiB (budget now {:.2f} GiB)",
                     static_cast<double>(before - f16_cache_.used_bytes()) / 1073741824.0, bytes / 1048576.0,
                     static_cast<double>(f16_cache_.budget()) / 1073741824.0);
        err = cudaMalloc(&p, bytes > 0 ? bytes : 256);
    }
    if (err != cudaSuccess) {
        (void)cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        (void)cudaMemGetInfo(&free_b, &total_b);
        fail("gpu: out of device memory allocating {:.1f} MiB ({:.1f} MiB free of {:.1f}): {}", bytes / 1048576.0,
             free_b / 1048576.0, total_b / 1048576.0, cudaGetErrorString(err));
    }
    if (alloc_log()) spdlog::info("gpu alloc {} bytes at {}", bytes, p);
    return p;
}

void GpuBackendImpl::release(void* ptr) {
    if (ptr == nullptr) return;
    if (alloc_log()) spdlog::info("gpu release {}", ptr);
    flush();
    wait_stream();
    ScopedNs timer(stats_.alloc_ns);
    ++stats_.device_allocs;
    // A weight's memory may be released too (tools that load and drop weights); its f16 copies
    // go with it (a later weight at the same address must not find them).
    const auto it = weights_.find(static_cast<const uint8_t*>(ptr));
    if (it != weights_.end()) {
        forget_f16(it->first, it->second);
        weights_.erase(it);
    }
    RF_GPU_CHECK(cudaFree(ptr));
}

void GpuBackendImpl::upload(void* dst, const void* host_src, size_t bytes) {
    flush();
    forget_f16(dst, bytes);
    RF_GPU_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_));
    wait_stream();
}

void GpuBackendImpl::download(void* host_dst, const void* src, size_t bytes) {
    flush();
    // a copy into pageable memory returns only when done: all of it counts as waiting
    ScopedNs timer(stats_.wait_ns);
    RF_GPU_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_));
    RF_GPU_CHECK(cudaStreamSynchronize(stream_));
}

void GpuBackendImpl::fill_zero(void* dst, size_t bytes) {
    flush();
    forget_f16(dst, bytes);
    RF_GPU_CHECK(cudaMemsetAsync(dst, 0, bytes, stream_));
}

void GpuBackendImpl::copy(void* dst, const void* src, size_t bytes) {
    flush();
    forget_f16(dst, bytes);
    RF_GPU_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_));
}

void GpuBackendImpl::synchronize() {
    flush();
    wait_stream();
}

void GpuBackendImpl::wait_stream() {
    ScopedNs timer(stats_.wait_ns);
    RF_GPU_CHECK(cudaStreamSynchronize(stream_));
}

void GpuBackendImpl::wait_event(cudaEvent_t e) {
    ScopedNs timer(stats_.wait_ns);
    RF_GPU_CHECK(cudaEventSynchronize(e));
}

Weight GpuBackendImpl::load_weight(TensorType type, int64_t cols, int64_t rows, int64_t n_mats, const void* host_data) {
    const BlockFormat f = block_format(type);
    if (f.n_planes == 0) fail("gpu: weight type {} is not supported by the GPU backend", type_name(type));
    Weight w = Weight::view(type, cols, rows, n_mats, nullptr);  // data: the device copy below
    const MatrixLayout lay = matrix_layout(type, rows, cols);
    const size_t dev_bytes = lay.mat_stride * static_cast<size_t>(n_mats);
    flush();
    auto* base = static_cast<uint8_t*>(alloc(dev_bytes));
    weights_[base] = dev_bytes;
    const auto* src = static_cast<const uint8_t*>(host_data);
    const size_t mat_bytes = w.mat_bytes();
    const bool plain = f.qk == 1;
    if (plain) {
        for (int64_t m = 0; m < n_mats; ++m)
            RF_GPU_CHECK(cudaMemcpy(base + static_cast<size_t>(m) * lay.mat_stride, src + static_cast<size_t>(m) * mat_bytes,
                                    mat_bytes, cudaMemcpyHostToDevice));
    } else {
        // Raw GGUF blocks go through a device staging buffer and are split into planes there
        // (Q4_K / Q5_K: transcoded, see device_type()).
        const bool transcode = transcoded_at_upload(type);
        const size_t chunk_blocks = std::max<size_t>(1, kUploadChunk / f.block_bytes);
        uint8_t* staging = static_cast<uint8_t*>(alloc(std::min(mat_bytes, chunk_blocks * f.block_bytes)));
        try {
            const int64_t n_blocks = rows * (cols / f.qk);  // GGUF blocks of one matrix
            for (int64_t m = 0; m < n_mats; ++m) {
                for (int64_t b0 = 0; b0 < n_blocks; b0 += static_cast<int64_t>(chunk_blocks)) {
                    const int64_t nb = std::min<int64_t>(static_cast<int64_t>(chunk_blocks), n_blocks - b0);
                    RF_GPU_CHECK(cudaMemcpyAsync(staging, src + static_cast<size_t>(m) * mat_bytes + static_cast<size_t>(b0) * f.block_bytes,
                                                 static_cast<size_t>(nb) * f.block_bytes, cudaMemcpyHostToDevice, stream_));
                    Launcher l(Launcher::Mode::Launch, stream_);
                    uint8_t* dst = base + static_cast<size_t>(m) * lay.mat_stride;
                    if (transcode) launch_transcode_k(l, type, staging, nb, b0, dst, rows, cols);
                    else launch_repack(l, type, staging, nb, b0, dst, rows, cols);
                    RF_GPU_CHECK(cudaStreamSynchronize(stream_));  // staging is reused next chunk
                }
            }
        } catch (...) {
            (void)cudaFree(staging);
            throw;
        }
        RF_GPU_CHECK(cudaFree(staging));
    }
    w.data = base;
    return w;
}

GpuDeviceInfo GpuBackendImpl::device_info() {
    info_ = query_device_info(device_);
    return info_;
}

void GpuBackendImpl::check_vram(const VramNeed& need) {
    const GpuDeviceInfo i = device_info();
    check_vram_budget(need, i.free_bytes, i.total_bytes, vram_reserve_bytes(i.drives_display));
}

void GpuBackendImpl::ensure_scratch(ScratchBuffer& b, size_t bytes) {
    if (b.bytes >= bytes) return;
    const size_t grown = scratch_bytes_after_growth(b.bytes, bytes);  // (before b.bytes is reset below)
    if (b.ptr) {
        if (alloc_log()) spdlog::info("gpu scratch of {} bytes at {} grows to {} bytes (asked for {})", b.bytes, b.ptr, grown, bytes);
        wait_stream();
        ScopedNs timer(stats_.alloc_ns);
        ++stats_.device_allocs;
        RF_GPU_CHECK(cudaFree(b.ptr));
        b.ptr = nullptr;
        b.bytes = 0;
    }
    b.ptr = alloc(grown);
    b.bytes = grown;
}

// ---- step ----------------------------------------------------------------------------------

bool GpuBackendImpl::zero_copy() const {
    return host_mapped_ && env_choice("RF_GPU_ZERO_COPY", {"off", "on"}, 1) == 1;
}

void GpuBackendImpl::alloc_mapped_host(void** host, void** dev, size_t bytes) {
    RF_GPU_CHECK(cudaHostAlloc(host, bytes, cudaHostAllocMapped));
    *dev = nullptr;
    if (cudaHostGetDevicePointer(dev, *host, 0) != cudaSuccess) {  // no mapping: the copy path
        (void)cudaGetLastError();
        *dev = nullptr;
        if (host_mapped_) spdlog::info("gpu: pinned host memory has no device mapping; step data and sampling results use copies");
        host_mapped_ = false;
    }
}

bool GpuBackendImpl::pdl_between_steps() const {
    return use_pdl_ && env_choice("RF_GPU_PDL_BETWEEN_STEPS", {"off", "on"}, 1) == 1;
}

void GpuBackendImpl::begin_step(const StepPlan& plan) {
    if (step_trace_ && step_trace_->next_step_is_edge()) {  // profiling: the trace window's edges
        synchronize();
        step_trace_->on_edge();
    }
    const size_t T = plan.tokens.size();
    RF_CHECK(plan.positions.size() == T && plan.kv_slots.size() == T && plan.token_seq.size() == T,
             "step plan: {} tokens but {} positions, {} KV slots, {} sequence indices", T, plan.positions.size(),
             plan.kv_slots.size(), plan.token_seq.size());
    // argmax_async's held chain feeding this step's token 0 copies its data (no upload kernel)
    const bool fused_upload = held_sample_.active && plan.first_token_from_device && ops_.empty() && zero_copy();
    if (!fused_upload) flush();  // ops of the previous step read the previous plan's device copy
    RF_CHECK(!plan.first_token_from_device || (T > 0 && device_token_ != nullptr),
             "step plan: token 0 comes from the device, but no argmax_async result is there (or other sampling "
             "replaced it)");
    const bool rows_from_device = !plan.device_rows.empty();
    if (rows_from_device) {
        RF_CHECK(plan.device_rows.size() == T && !plan.first_token_from_device,
                 "step plan: {} device rows for {} tokens{}", plan.device_rows.size(), T,
                 plan.first_token_from_device ? ", and token 0 from argmax_async" : "");
        for (size_t t = 0; t < T; ++t)
            RF_CHECK(plan.device_rows[t] < 0 || (device_rows_ != nullptr && plan.device_rows[t] < device_rows_n_),
                     "step plan: token {} is row {} of the device's last argmax_rows_async batch, which has {}", t,
                     plan.device_rows[t], device_rows_ != nullptr ? device_rows_n_ : 0);
    }
    ScopedNs timer(stats_.begin_step_ns);
    int32_t max_ctx = 0;
    for (size_t t = 0; t < T; ++t) {
        const int32_t s = plan.token_seq[t];
        RF_CHECK(s >= 0 && static_cast<size_t>(s) < plan.seqs.size(), "step plan: token {} belongs to sequence {} of {}",
                 t, s, plan.seqs.size());
        const int32_t pos = plan.positions[t];
        const auto& table = plan.seqs[static_cast<size_t>(s)].block_table;
        RF_CHECK(pos >= 0, "step plan: token {} has position {}", t, pos);
        max_ctx = std::max(max_ctx, pos + 1);
        (void)table;
    }
    for (int32_t r : plan.output_rows)
        RF_CHECK(r >= 0 && static_cast<size_t>(r) < T, "step plan: output row {} out of range [0, {})", r, T);
    // Block-table stride: a power of two >= 16 so that it rarely changes between decode steps.
    int32_t stride = 16;
    while (stride < plan.max_blocks_per_seq()) stride *= 2;
    const size_t n_out = plan.output_rows.size(), n_seq = plan.seqs.size();
    const size_t n_ints = 4 * T + n_out + n_seq * static_cast<size_t>(stride);

    if (staging_ints_ < n_ints) {
        ScopedNs alloc_timer(stats_.alloc_ns);
        stats_.device_allocs += 4;
        for (int i = 0; i < 2; ++i) {
            if (staging_[i]) {
                wait_event(staging_done_[i]);
                RF_GPU_CHECK(cudaFreeHost(staging_[i]));
                staging_[i] = nullptr;
            }
        }
        staging_ints_ = std::max<size_t>(n_ints, 4096);
        for (int i = 0; i < 2; ++i) {
            void *host = nullptr, *dev = nullptr;
            alloc_mapped_host(&host, &dev, staging_ints_ * 4);
            staging_[i] = static_cast<int32_t*>(host);
            staging_dev_[i] = static_cast<int32_t*>(dev);
        }
    }
    // (a chain inside the step's graph takes the staging buffer of its ring parity)
    const bool chain_in_graph = fused_upload && switches_.sample_in_graph && use_graphs_;
    const int si = chain_in_graph ? static_cast<int>(ring_count_ & 1u) : staging_next_;
    staging_next_ = 1 - si;
    wait_event(staging_done_[si]);  // its previous copy has been consumed
    int32_t* h = staging_[si];
    std::memcpy(h, plan.tokens.data(), T * 4);
    // tokens held on the device: staged as -1 - r, r their row among the device's results (the upload's)
    if (plan.first_token_from_device) h[0] = -1;
    if (rows_from_device)
        for (size_t t = 0; t < T; ++t)
            if (plan.device_rows[t] >= 0) h[t] = -1 - plan.device_rows[t];
    std::memcpy(h + T, plan.positions.data(), T * 4);
    std::memcpy(h + 2 * T, plan.kv_slots.data(), T * 4);
    std::memcpy(h + 3 * T, plan.token_seq.data(), T * 4);
    if (n_out) std::memcpy(h + 4 * T, plan.output_rows.data(), n_out * 4);
    int32_t* bt = h + 4 * T + n_out;
    for (size_t s = 0; s < n_seq; ++s) {
        const auto& table = plan.seqs[s].block_table;
        std::memcpy(bt + s * static_cast<size_t>(stride), table.data(), table.size() * 4);
        std::fill(bt + s * static_cast<size_t>(stride) + table.size(), bt + (s + 1) * static_cast<size_t>(stride), 0);
    }
    ensure_scratch(step_buf_, std::max<size_t>(n_ints, 1024) * 4);
    // token 0 of a step fed from the device: the last argmax_async's result, taken in stream order; or
    // rows of the last argmax_rows_async batch
    constexpr int32_t kResultInts = static_cast<int32_t>(sizeof(SampleOut) / 4);
    const int32_t* token_on_device = plan.first_token_from_device ? device_token_
                                     : rows_from_device          ? &device_rows_[0].token
                                                                 : nullptr;
    if (fused_upload) {  // the sampling chain's final kernel reads the pinned staging, token 0 its result
        const StepUpload up{static_cast<int32_t*>(step_buf_.ptr), staging_dev_[si], static_cast<int64_t>(n_ints)};
        if (chain_in_graph) {
            hand_held_sample_to_graph(up, si);  // emitted first by the step's flush (emit)
        } else {
            launch_held_sample(up);
            RF_GPU_CHECK(cudaEventRecord(staging_done_[si], stream_));
        }
        ++stats_.fused_uploads;
    } else if (zero_copy()) {  // one kernel reading the pinned staging (no copy engine between steps)
        ++stats_.step_uploads;
        Launcher l(Launcher::Mode::Launch, stream_, pdl_between_steps());
        launch_step_upload(l, static_cast<int32_t*>(step_buf_.ptr), staging_dev_[si], static_cast<int64_t>(n_ints),
                           token_on_device, kResultInts, static_cast<int64_t>(T));
        RF_GPU_CHECK(cudaEventRecord(staging_done_[si], stream_));
    } else {
        ++stats_.step_uploads;
        RF_GPU_CHECK(cudaMemcpyAsync(step_buf_.ptr, h, n_ints * 4, cudaMemcpyHostToDevice, stream_));
        RF_GPU_CHECK(cudaEventRecord(staging_done_[si], stream_));
        for (size_t t = 0; t < T && token_on_device != nullptr; ++t) {
            const int32_t v = h[t];
            if (v < 0)
                RF_GPU_CHECK(cudaMemcpyAsync(static_cast<int32_t*>(step_buf_.ptr) + t,
                                             token_on_device + static_cast<int64_t>(-1 - v) * kResultInts, 4,
                                             cudaMemcpyDeviceToDevice, stream_));
        }
    }
    if (plan.first_token_from_device) device_token_ = nullptr;
    if (rows_from_device) device_rows_ = nullptr;  // (one plan per batch: the next batch replaces them)

    const auto* d = static_cast<const int32_t*>(step_buf_.ptr);
    step_.tokens = d;
    step_.positions = d + T;
    step_.slots = d + 2 * T;
    step_.token_seq = d + 3 * T;
    step_.output_rows = d + 4 * T;
    step_.block_tables = d + 4 * T + n_out;
    step_.bt_stride = stride;
    plan_ = plan;
    max_ctx_ = max_ctx;
}

void GpuBackendImpl::record(const Op& op) {
    ops_.push_back(op);
    ++stats_.ops;
}

void GpuBackendImpl::read_switches() {
    switches_ = decode_switches();
    set_launch_skip(switches_.profile_skip);
    set_launch_stream(switches_.profile_stream, switches_.profile_stream_shape, info_.multiprocessors);
}

void GpuBackendImpl::flush() {
    launch_held_sample(StepUpload{nullptr, nullptr, 0});  // (argmax_async came before these ops)
    if (ops_.empty()) {
        launch_graph_sample_alone();  // (a chain given to a step that recorded no op)
        return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    try {
        read_switches();
    } catch (...) {  // a bad switch value: the recorded step is dropped, the backend stays usable
        ops_.clear();
        throw;
    }
    // the dispatch decisions of this step (part of what the fast replay compares)
    PrefillEmitContext pc;
    pc.table = active_dispatch_table(info_.arch);
    pc.blas = blas_.get();
    pc.n_sm = info_.multiprocessors;
    pc.plan = &plan_;
    paths_.clear();
    for (const Op& op : ops_)
        paths_.push_back(op.kind == OpKind::Matmul      ? static_cast<int8_t>(matmul_path(pc, op))
                         : op.kind == OpKind::Attention ? static_cast<int8_t>(use_flash_attention(pc, op) ? 1 : 0)
                                                        : int8_t{-1});
    if (fast_replay()) {
        graph_sample_launched(true);
        ops_.clear();
        stats_.flush_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
        return;
    }
    last_flush_.valid = false;
    const GraphSample sample = graph_sample_;  // (cleared once launched)
    const ScratchNeeds need = scratch_needs();
    ensure_scratch(q8_, need.q8);
    ensure_scratch(attn_, need.attn);
    ensure_scratch(blas_w_, need.blas_w);
    ensure_scratch(blas_x_, need.blas_x);
    ensure_scratch(moe_dev_, need.moe);
    ensure_scratch(gdn_, need.gdn);
    if (res_acc_.bytes < need.res_acc) {
        ensure_scratch(res_acc_, need.res_acc);
        RF_GPU_CHECK(cudaMemsetAsync(res_acc_.ptr, 0, res_acc_.bytes, stream_));  // the invariant: zero between uses
    }
    const bool f16_step = prepare_f16_copies(pc);  // after the scratch: its allocations may evict
    // prefill-sized steps (a vendor GEMM or flash attention) run eagerly unless switched on
    bool graphs = use_graphs_;
    if (!switches_.prefill_graphs)
        for (size_t i = 0; i < ops_.size() && graphs; ++i)
            if ((ops_[i].kind == OpKind::Matmul && paths_[i] == static_cast<int8_t>(MatmulPath::Blas)) ||
                (ops_[i].kind == OpKind::Attention && paths_[i] == 1))
                graphs = false;
    try {
        graphs_.run(stream_, graphs, use_pdl_, [this](Launcher& l) { emit(l); }, stats_);
        graph_sample_launched(true);
    } catch (...) {
        launch_graph_sample_alone();  // the step is dropped; its chain still gives the pending result
        ops_.clear();
        f16_slots_.clear();
        if (f16_step) {
            try {
                f16_cache_.end_step(false);  // the new copies may be unwritten
            } catch (...) {
            }
        }
        throw;
    }
    if (f16_step) f16_cache_.end_step(true);
    f16_slots_.clear();
    // remember what this flush emitted from (the ops move over; ops_ is left empty)
    last_flush_.valid = true;
    last_flush_.n_tokens = plan_.n_tokens();
    last_flush_.n_seqs = static_cast<int64_t>(plan_.seqs.size());
    last_flush_.ops.swap(ops_);
    last_flush_.paths = paths_;
    last_flush_.step = step_;
    last_flush_.ctx_bucket = static_cast<int32_t>(align_up(static_cast<size_t>(std::max(max_ctx_, 1)), 256));
    last_flush_.scratch[0] = q8_.ptr;
    last_flush_.scratch[1] = attn_.ptr;
    last_flush_.scratch[2] = blas_w_.ptr;
    last_flush_.scratch[3] = blas_x_.ptr;
    last_flush_.scratch[4] = res_acc_.ptr;
    last_flush_.scratch[5] = moe_dev_.ptr;
    last_flush_.scratch[6] = gdn_.ptr;
    last_flush_.fuse = fuse_ops_;
    last_flush_.pdl = use_pdl_;
    last_flush_.switches = switches_;
    last_flush_.sample = sample;
    ops_.clear();
    stats_.flush_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
}

// ---- f16 weight cache (gpu_host/f16_weight_cache.h) ----------------------------------------

std::map<const uint8_t*, size_t>::const_iterator GpuBackendImpl::weight_holding(const void* p) const {
    const auto* b = static_cast<const uint8_t*>(p);
    auto it = weights_.upper_bound(b);
    if (it == weights_.begin()) return weights_.end();
    --it;
    return b < it->first + it->second ? it : weights_.end();
}

void GpuBackendImpl::forget_f16(const void* p, size_t n) {
    if (f16_cache_.entries() > 0) f16_cache_.forget(p, n);
}

void GpuBackendImpl::set_f16_budget_from_device() {
    const GpuDeviceInfo i = query_device_info(device_);
    constexpr double kGiB = 1073741824.0;
    if (const auto env = f16_cache_budget_from_env()) {
        f16_cache_.set_budget(*env);
        spdlog::info("gpu: f16 weight cache for the vendor GEMM: {:.2f} GiB (ROCMFORGE_GPU_F16_CACHE_GB; {:.2f} GiB free)",
                     static_cast<double>(*env) / kGiB, static_cast<double>(i.free_bytes) / kGiB);
        return;
    }
    const uint64_t reserve = vram_reserve_bytes(i.drives_display);
    const uint64_t b = f16_cache_auto_budget(i.free_bytes, i.total_bytes, reserve);
    f16_cache_.set_budget(b);
    spdlog::info("gpu: f16 weight cache for the vendor GEMM: up to {:.2f} GiB ({:.2f} GiB free - {:.2f} reserve - "
                 "{:.2f} margin; ROCMFORGE_GPU_F16_CACHE_GB to set, 0 to turn off)",
                 static_cast<double>(b) / kGiB, static_cast<double>(i.free_bytes) / kGiB,
                 static_cast<double>(reserve) / kGiB, static_cast<double>(f16_cache_margin(i.total_bytes)) / kGiB);
}

bool GpuBackendImpl::prepare_f16_copies(const PrefillEmitContext& pc) {
    f16_slots_.clear();
    bool any = false;
    for (const Op& op : ops_)
        if (op.kind == OpKind::Matmul && f16_copy_bytes(pc, op) > 0) any = true;
    if (!any) return false;
    if (!f16_cache_.has_budget()) set_f16_budget_from_device();
    if (f16_cache_.budget() == 0 && f16_cache_.entries() == 0) return false;  // off
    const F16CacheCounters c0 = f16_cache_.counters();
    int64_t foreign = 0;  // weights that are not load_weight memory (their contents may change)
    f16_slots_.assign(ops_.size(), F16WeightCache::Slot{});
    f16_cache_.begin_step();
    try {
        for (size_t i = 0; i < ops_.size(); ++i) {
            const Op& op = ops_[i];
            if (op.kind != OpKind::Matmul) continue;
            const size_t bytes = f16_copy_bytes(pc, op);
            if (bytes == 0) continue;
            if (weight_holding(op.w.data) == weights_.end()) {
                ++foreign;
                continue;
            }
            const F16CacheKey key{op.w.data, static_cast<int32_t>(op.w.type), op.w.rows, op.w.cols};
            const size_t src_bytes = matrix_layout(op.w.type, op.w.rows, op.w.cols).mat_stride;
            f16_slots_[i] = f16_cache_.acquire(key, src_bytes, bytes);
        }
    } catch (...) {
        f16_slots_.clear();
        f16_cache_.end_step(false);
        throw;
    }
    const F16CacheCounters& c1 = f16_cache_.counters();
    stats_.f16_cache_hits += c1.hits - c0.hits;
    stats_.f16_cache_fills += c1.fills - c0.fills;
    stats_.f16_cache_bypasses += c1.bypasses - c0.bypasses + foreign;
    return true;
}

GpuF16CacheInfo GpuBackendImpl::f16_cache_info() const {
    GpuF16CacheInfo i;
    i.budget_known = f16_cache_.has_budget();
    i.budget_bytes = f16_cache_.budget();
    i.used_bytes = f16_cache_.used_bytes();
    i.entries = static_cast<int64_t>(f16_cache_.entries());
    i.evictions = f16_cache_.counters().evictions;
    return i;
}

void GpuBackendImpl::set_f16_cache_budget(int64_t bytes) {
    flush();
    wait_stream();
    if (bytes < 0) f16_cache_.reset_budget();
    else f16_cache_.set_budget(static_cast<uint64_t>(bytes));
}

// ---- ops: validated here, recorded, emitted at the next sync point -----------------------

void GpuBackendImpl::embed(const Weight& table, Act out) {
    RF_CHECK(out.cols == table.cols && out.rows == plan_.n_tokens(), "embed: output [{}, {}], table rows of {}, step of {} tokens",
             out.rows, out.cols, table.cols, plan_.n_tokens());
    for (size_t t = plan_.first_token_from_device ? 1 : 0; t < plan_.tokens.size(); ++t)
        RF_CHECK((!plan_.device_rows.empty() && plan_.device_rows[t] >= 0) ||
                     (plan_.tokens[t] >= 0 && plan_.tokens[t] < table.rows),
                 "embed: token id {} out of range [0, {})", plan_.tokens[t], table.rows);
    Op op;
    op.kind = OpKind::Embed;
    op.w = table;
    op.c = out;
    record(op);
}

void GpuBackendImpl::rms_norm(Act x, const Weight& w, float eps, Act out) {
    RF_CHECK(w.type == TensorType::F32 && w.cols == x.cols, "rms_norm: weight of {} {} values for rows of {}", w.cols,
             type_name(w.type), x.cols);
    RF_CHECK(out.rows == x.rows && out.cols == x.cols, "rms_norm: output [{}, {}] for input [{}, {}]", out.rows,
             out.cols, x.rows, x.cols);
    Op op;
    op.kind = OpKind::RmsNorm;
    op.a = x;
    op.w = w;
    op.eps = eps;
    op.c = out;
    record(op);
}

void GpuBackendImpl::matmul(const Weight& w, Act x, Act y, const Weight* bias) {
    RF_CHECK(x.cols == w.cols, "matmul: input rows have {} values, weight expects {}", x.cols, w.cols);
    RF_CHECK(y.cols == w.rows && y.rows == x.rows, "matmul: output is [{}, {}], expected [{}, {}]", y.rows, y.cols,
             x.rows, w.rows);
    RF_CHECK(is_quantized_matvec_type(w.type) || is_float_matvec_type(w.type), "matmul: weight type {} not supported on the GPU",
             type_name(w.type));
    RF_CHECK(!overlaps(x.data, x.size() * 4, y.data, y.size() * 4), "matmul: output overlaps the input");
    Op op;
    op.kind = OpKind::Matmul;
    op.w = w;
    op.a = x;
    op.c = y;
    if (bias != nullptr && *bias) {
        RF_CHECK(bias->type == TensorType::F32 && bias->cols == w.rows, "matmul: bias of {} values for {} rows", bias->cols,
                 w.rows);
        op.bias = *bias;
    }
    record(op);
}

void GpuBackendImpl::rope(Act x, int n_heads, int head_dim, const RopeParams& p) {
    RF_CHECK(x.cols == static_cast<int64_t>(n_heads) * head_dim, "rope: row of {} values is not {} heads x {}", x.cols,
             n_heads, head_dim);
    RF_CHECK(p.n_rot > 0 && p.n_rot <= head_dim && p.n_rot % 2 == 0, "rope: n_rot {} must be even and in (0, head_dim {}]",
             p.n_rot, head_dim);
    RF_CHECK(x.rows == plan_.n_tokens(), "rope: {} rows for a step of {} tokens", x.rows, plan_.n_tokens());
    Op op;
    op.kind = OpKind::Rope;
    op.a = x;
    op.n_heads = n_heads;
    op.head_dim = head_dim;
    op.rope = p;
    record(op);
}

void GpuBackendImpl::kv_store(const KvLayerView& layer, Act k, Act v) {
    const int64_t kv_dim = static_cast<int64_t>(layer.n_kv_head) * layer.head_dim;
    RF_CHECK(k.cols == kv_dim && v.cols == kv_dim, "kv_store: K/V rows of {}/{} values, layer wants {}", k.cols, v.cols, kv_dim);
    RF_CHECK(k.rows == plan_.n_tokens() && v.rows == k.rows, "kv_store: {} K rows for a step of {} tokens", k.rows,
             plan_.n_tokens());
    Op op;
    op.kind = OpKind::KvStore;
    op.a = k;
    op.b = v;
    op.kv = layer;
    record(op);
}

void GpuBackendImpl::attention(Act q, const KvLayerView& layer, const AttentionParams& p, Act out) {
    RF_CHECK(q.cols == static_cast<int64_t>(p.n_head) * p.head_dim && out.cols == q.cols && out.rows == q.rows,
             "attention: q [{}, {}] / out [{}, {}] for {} heads of {}", q.rows, q.cols, out.rows, out.cols, p.n_head,
             p.head_dim);
    RF_CHECK(p.n_kv_head > 0 && p.n_head % p.n_kv_head == 0, "attention: {} heads cannot share {} KV heads", p.n_head,
             p.n_kv_head);
    RF_CHECK(layer.head_dim == p.head_dim && layer.n_kv_head == p.n_kv_head,
             "attention: layer KV has {} heads of {}, params say {} of {}", layer.n_kv_head, layer.head_dim, p.n_kv_head,
             p.head_dim);
    RF_CHECK(attention_supports_head_dim(p.head_dim), "attention: head_dim {} not supported on the GPU (64, 128, 256)",
             p.head_dim);
    RF_CHECK(q.rows == plan_.n_tokens(), "attention: {} rows for a step of {} tokens", q.rows, plan_.n_tokens());
    for (size_t t = 0; t < plan_.tokens.size(); ++t) {
        const auto& seq = plan_.seqs[static_cast<size_t>(plan_.token_seq[t])];
        const int64_t need_blocks = (plan_.positions[t] + layer.block_size) / layer.block_size;
        RF_CHECK(static_cast<int64_t>(seq.block_table.size()) >= need_blocks,
                 "attention: token {} at position {} needs {} KV blocks, its table has {}", t, plan_.positions[t],
                 need_blocks, seq.block_table.size());
    }
    Op op;
    op.kind = OpKind::Attention;
    op.a = q;
    op.c = out;
    op.kv = layer;
    op.attn = p;
    record(op);
}

void GpuBackendImpl::swiglu(Act gate, Act up, Act out) {
    RF_CHECK(gate.size() == up.size() && gate.size() == out.size(), "swiglu: shapes differ ({} / {} / {} values)",
             gate.size(), up.size(), out.size());
    Op op;
    op.kind = OpKind::Swiglu;
    op.a = gate;
    op.b = up;
    op.c = out;
    record(op);
}

void GpuBackendImpl::add(Act a, Act b, Act out) {
    RF_CHECK(a.size() == b.size() && a.size() == out.size(), "add: shapes differ ({} / {} / {} values)", a.size(),
             b.size(), out.size());
    Op op;
    op.kind = OpKind::Add;
    op.a = a;
    op.b = b;
    op.c = out;
    record(op);
}

void GpuBackendImpl::gather_output_rows(Act x, Act out) {
    RF_CHECK(out.rows == static_cast<int64_t>(plan_.output_rows.size()) && out.cols == x.cols,
             "gather_output_rows: output is [{}, {}], step wants {} rows of {}", out.rows, out.cols,
             plan_.output_rows.size(), x.cols);
    for (int32_t r : plan_.output_rows)
        RF_CHECK(r >= 0 && r < x.rows, "gather_output_rows: row {} out of range [0, {})", r, x.rows);
    Op op;
    op.kind = OpKind::Gather;
    op.a = x;
    op.c = out;
    record(op);
}

}  // namespace gpu
}  // namespace rf
