// The CPU backend: host memory, ops from cpu_ops.h on a thread pool. Weights are used in place
// from the memory-mapped GGUF (zero copy).
#pragma once

#include <memory>

#include "backend/backend.h"
#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_profile.h"
#include "core/thread_pool.h"

namespace rf {

class CpuBackend final : public Backend {
  public:
    explicit CpuBackend(int n_threads = 0);

    DeviceKind kind() const override { return DeviceKind::Cpu; }
    std::string name() const override;
    ThreadPool& pool() { return pool_; }
    // Per-op timing (cpu_profile.h); off by default.
    OpProfiler& profiler() { return profiler_; }

    void* alloc(size_t bytes) override;
    void release(void* ptr) override;
    void upload(void* dst, const void* host_src, size_t bytes) override;
    void download(void* host_dst, const void* src, size_t bytes) override;
    void fill_zero(void* dst, size_t bytes) override;
    void copy(void* dst, const void* src, size_t bytes) override;
    Weight load_weight(TensorType type, int64_t cols, int64_t rows, int64_t n_mats,
                       const void* host_data) override;
    void synchronize() override {}

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

  private:
    OpProfiler::Scope profile(const char* op, double bytes = 0);
    OpProfiler::Scope profile_matmul(const Weight& w);

    ThreadPool pool_;
    OpProfiler profiler_;
    StepPlan step_;
    cpu::RopeTable rope_table_;  // cos/sin of the step's positions, built by the first rope()
    bool rope_table_valid_ = false;
    cpu::MoeScratch moe_scratch_;
};

}  // namespace rf
