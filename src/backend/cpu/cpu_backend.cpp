#include "backend/cpu/cpu_backend.h"
#include "backend/rope_freqs.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "backend/cpu/cpu_ops.h"
#include "core/error.h"

namespace rf {

CpuBackend::CpuBackend(int n_threads) : pool_(n_threads) {}

std::string CpuBackend::name() const {
    return fmt::format("cpu ({} threads)", pool_.size());
}

void* CpuBackend::alloc(size_t bytes) {
    // 64-byte alignment for SIMD loads; aligned_alloc wants a multiple of the alignment.
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded > 0 ? rounded : 64);
    if (p == nullptr) fail("cpu: out of memory allocating {} bytes", bytes);
    return p;
}

void CpuBackend::release(void* ptr) {
    std::free(ptr);
}
void CpuBackend::upload(void* dst, const void* src, size_t bytes) {
    std::memcpy(dst, src, bytes);
}
void CpuBackend::download(void* dst, const void* src, size_t bytes) {
    std::memcpy(dst, src, bytes);
}
void CpuBackend::fill_zero(void* dst, size_t bytes) {
    std::memset(dst, 0, bytes);
}
void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
    std::memmove(dst, src, bytes);
}

Weight CpuBackend::load_weight(TensorType type, int64_t cols, int64_t rows, int64_t n_mats,
                               const void* host_data) {
    return Weight::view(type, cols, rows, n_mats, host_data);
}

OpProfiler::Scope CpuBackend::profile(const char* op, double bytes) {
    return {profiler_.enabled() ? &profiler_ : nullptr, profiler_.enabled() ? op : "", bytes};
}

OpProfiler::Scope CpuBackend::profile_matmul(const Weight& w) {
    if (!profiler_.enabled()) return {nullptr, "", 0};
    return {&profiler_, fmt::format("matmul {} [{} x {}]", type_name(w.type), w.rows, w.cols),
            static_cast<double>(w.mat_bytes())};
}

void CpuBackend::begin_step(const StepPlan& plan) {
    RF_CHECK(
        plan.positions.size() == plan.tokens.size() && plan.kv_slots.size() == plan.tokens.size() &&
            plan.token_seq.size() == plan.tokens.size(),
        "step plan: {} tokens but {} positions, {} KV slots, {} sequence indices",
        plan.tokens.size(), plan.positions.size(), plan.kv_slots.size(), plan.token_seq.size());
    RF_CHECK(!plan.first_token_from_device && plan.device_rows.empty(),
             "step plan: a token id held on a device, given to the CPU backend");
    step_ = plan;
    rope_table_valid_ = false;
}

void CpuBackend::embed(const Weight& table, Act out) {
    const auto p = profile("embed");
    cpu::embed(pool_, table, step_.tokens.data(), out);
}

void CpuBackend::rms_norm(Act x, const Weight& w, float eps, Act out) {
    const auto p = profile("rms_norm");
    RF_CHECK(w.type == TensorType::F32 && w.cols == x.cols,
             "rms_norm: weight of {} {} values for rows of {}", w.cols, type_name(w.type), x.cols);
    cpu::rms_norm(pool_, x, static_cast<const float*>(w.data), eps, out);
}

void CpuBackend::matmul(const Weight& w, Act x, Act y, const Weight* bias) {
    const auto p = profile_matmul(w);
    const float* b = nullptr;
    if (bias != nullptr && *bias) {
        RF_CHECK(bias->type == TensorType::F32 && bias->cols == w.rows,
                 "matmul: bias of {} values for {} rows", bias->cols, w.rows);
        b = static_cast<const float*>(bias->data);
    }
    cpu::matmul(pool_, w, x, y, b);
}

void CpuBackend::rope(Act x, int n_heads, int head_dim, const RopeParams& p) {
    const auto prof = profile("rope");
    RF_CHECK(x.rows == step_.n_tokens(), "rope: {} rows for a step of {} tokens", x.rows,
             step_.n_tokens());
    if (!rope_table_valid_ || !same_rope(rope_table_.params, p)) {
        cpu::build_rope_table(pool_, step_.positions.data(), x.rows, p, rope_table_);
        rope_table_valid_ = true;
    }
    cpu::rope_apply(pool_, x, rope_table_, n_heads, head_dim);
}

void CpuBackend::kv_store(const KvLayerView& layer, Act k, Act v) {
    const auto p = profile("kv_store");
    cpu::kv_store(pool_, layer, step_.kv_slots.data(), k, v);
}

void CpuBackend::attention(Act q, const KvLayerView& layer, const AttentionParams& p, Act out) {
    // K and V bytes of the step's sequences (each task reads its sequence's blocks once)
    double kv_bytes = 0;
    if (profiler_.enabled())
        for (const SeqStep& s : step_.seqs)
            kv_bytes += 2.0 * (s.n_past + s.n_tokens) * layer.n_kv_head *
                        static_cast<double>(layer.row_bytes());
    const auto prof = profile("attention", kv_bytes);
    cpu::attention(pool_, q, layer, step_, p, out);
}

void CpuBackend::swiglu(Act gate, Act up, Act out) {
    const auto p = profile("swiglu");
    cpu::swiglu(pool_, gate, up, out);
}

void CpuBackend::add(Act a, Act b, Act out) {
    const auto p = profile("add");
    cpu::add(pool_, a, b, out);
}

void CpuBackend::moe_ffn(Act h, Act router_logits, const MoeFfn& moe, Act out) {
    const auto p = profile("moe_ffn");
    cpu::moe_ffn(pool_, h, router_logits, moe, out, moe_scratch_);
}

void CpuBackend::gated_delta_net(Act qkv, Act z, Act a, Act b, const GatedDeltaNet& p, float* state, Act out) {
    const auto prof = profile("gated_delta_net");
    cpu::gated_delta_net(pool_, qkv, z, a, b, p, state, out);
}

void CpuBackend::sigmoid_mul(Act x, Act gate, Act out) {
    const auto prof = profile("sigmoid_mul");
    cpu::sigmoid_mul(pool_, x, gate, out);
}

void CpuBackend::gather_output_rows(Act x, Act out) {
    RF_CHECK(out.rows == static_cast<int64_t>(step_.output_rows.size()) && out.cols == x.cols,
             "gather_output_rows: output is [{}, {}], step wants {} rows of {}", out.rows, out.cols,
             step_.output_rows.size(), x.cols);
    for (size_t i = 0; i < step_.output_rows.size(); ++i) {
        const int32_t r = step_.output_rows[i];
        RF_CHECK(r >= 0 && r < x.rows, "gather_output_rows: row {} out of range [0, {})", r,
                 x.rows);
        std::memcpy(out.data + static_cast<int64_t>(i) * out.cols,
                    x.data + static_cast<int64_t>(r) * x.cols, static_cast<size_t>(x.cols) * 4);
    }
}

}  // namespace rf
