// A backend that forwards every op to another one (the CPU backend in the tests): the base of test
// backends that change one thing, a failing begin_step (server_scheduler_fault_test.cpp) or a GPU's
// device-held tokens over host memory (server_scheduler_pipeline_test.cpp). Base: Backend or one of its
// interfaces (GpuBackend); kind() is left to the derived class (GpuBackend has its own).
#pragma once

#include <string>

#include "backend/backend.h"

namespace rf::test {

template <class Base>
class ForwardingBackend : public Base {
public:
    explicit ForwardingBackend(Backend& inner) : in_(inner) {}

    std::string name() const override { return in_.name(); }
    void* alloc(size_t bytes) override { return in_.alloc(bytes); }
    void release(void* p) override { in_.release(p); }
    void upload(void* dst, const void* src, size_t bytes) override { in_.upload(dst, src, bytes); }
    void download(void* dst, const void* src, size_t bytes) override { in_.download(dst, src, bytes); }
    void fill_zero(void* dst, size_t bytes) override { in_.fill_zero(dst, bytes); }
    void copy(void* dst, const void* src, size_t bytes) override { in_.copy(dst, src, bytes); }
    Weight load_weight(TensorType t, int64_t cols, int64_t rows, int64_t n_mats, const void* host) override {
        return in_.load_weight(t, cols, rows, n_mats, host);
    }
    void synchronize() override { in_.synchronize(); }
    void begin_step(const StepPlan& plan) override { in_.begin_step(plan); }
    void embed(const Weight& table, Act out) override { in_.embed(table, out); }
    void rms_norm(Act x, const Weight& w, float eps, Act out) override { in_.rms_norm(x, w, eps, out); }
    void matmul(const Weight& w, Act x, Act y, const Weight* bias) override { in_.matmul(w, x, y, bias); }
    void rope(Act x, int n_heads, int head_dim, const RopeParams& p) override { in_.rope(x, n_heads, head_dim, p); }
    void kv_store(const KvLayerView& layer, Act k, Act v) override { in_.kv_store(layer, k, v); }
    void attention(Act q, const KvLayerView& layer, const AttentionParams& p, Act out) override { in_.attention(q, layer, p, out); }
    void swiglu(Act gate, Act up, Act out) override { in_.swiglu(gate, up, out); }
    void add(Act a, Act b, Act out) override { in_.add(a, b, out); }
    void moe_ffn(Act h, Act router, const MoeFfn& moe, Act out) override { in_.moe_ffn(h, router, moe, out); }
    void gated_delta_net(Act qkv, Act z, Act a, Act b, const GatedDeltaNet& p, float* state, Act out) override {
        in_.gated_delta_net(qkv, z, a, b, p, state, out);
    }
    void sigmoid_mul(Act x, Act gate, Act out) override { in_.sigmoid_mul(x, gate, out); }
    void gather_output_rows(Act x, Act out) override { in_.gather_output_rows(x, out); }

protected:
    Backend& in_;
};

}  // namespace rf::test
