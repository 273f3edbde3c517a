// The Qwen3.5 hybrid's ops on the GPU backend, recorded for the step's graph: Gated DeltaNet (its
// launches in gated_delta_net.cu, emitted by gpu_emit.cpp) and the sigmoid gate.
#include "backend/gpu/gated_delta_net.cuh"
#include "backend/gpu/gpu_backend_impl.h"
#include "core/error.h"

namespace rf::gpu {

void GpuBackendImpl::gated_delta_net(Act qkv, Act z, Act a, Act b, const GatedDeltaNet& p, float* state, Act out) {
    RF_CHECK(p.conv != nullptr && p.a_neg != nullptr && p.dt_bias != nullptr && p.norm != nullptr && state != nullptr,
             "gated_delta_net: missing weights or state");
    const int64_t T = qkv.rows, C = p.channels(), NV = p.n_v_heads, DV = p.d_v;
    RF_CHECK(p.n_k_heads > 0 && NV % p.n_k_heads == 0 && qkv.cols == C && p.conv->rows == C &&
                 p.conv->type == TensorType::F32 && z.rows == T && z.cols == NV * DV && a.rows == T && a.cols == NV &&
                 b.rows == T && b.cols == NV && out.rows == T && out.cols == NV * DV && p.a_neg->cols == NV &&
                 p.dt_bias->cols == NV && p.norm->cols == DV,
             "gated_delta_net: qkv [{}, {}] for {} channels, z [{}, {}], a [{}, {}], b [{}, {}], out [{}, {}] ({} value heads of {})",
             qkv.rows, qkv.cols, C, z.rows, z.cols, a.rows, a.cols, b.rows, b.cols, out.rows, out.cols, NV, DV);
    RF_CHECK(gated_delta_net_supported(p.d_k, p.d_v), "gpu: Gated DeltaNet heads of {} / {} are not supported (key "
             "head dim 64 or 128, value head dim a multiple of 32 up to 1024)", p.d_k, p.d_v);
    Op op;
    op.kind = OpKind::GatedDeltaNet;
    op.a = qkv;
    op.b = z;
    op.a2 = a;
    op.b2 = b;
    op.c = out;
    op.w = *p.conv;
    op.bias = *p.a_neg;
    op.w2 = *p.dt_bias;
    op.w3 = *p.norm;
    op.n_heads = p.n_v_heads;
    op.head_dim = p.d_v;
    op.gdn_nk = p.n_k_heads;
    op.gdn_dk = p.d_k;
    op.eps = p.eps;
    op.state = state;
    record(op);
}

void GpuBackendImpl::sigmoid_mul(Act x, Act gate, Act out) {
    RF_CHECK(gate.rows == x.rows && (gate.cols == x.cols || gate.cols == 1) && out.rows == x.rows && out.cols == x.cols,
             "sigmoid_mul: x [{}, {}], gate [{}, {}], out [{}, {}]", x.rows, x.cols, gate.rows, gate.cols, out.rows,
             out.cols);
    Op op;
    op.kind = OpKind::SigmoidMul;
    op.a = x;
    op.b = gate;
    op.c = out;
    record(op);
}

}  // namespace rf::gpu
