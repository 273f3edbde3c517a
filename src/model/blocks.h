// Shared building blocks of transformer forward passes, made of backend ops only. Each
// architecture file (archs/*.cpp) composes these.
#pragma once

#include "backend/backend.h"
#include "kv/kv_cache.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/workspace.h"

namespace rf {

// Workspace slots used by the blocks (slot 0 holds the logits, see Model::forward).
enum WorkspaceSlot : int {
    kSlotLogits = 0,
    kSlotResidual,   // [T, n_embd] the residual stream x
    kSlotNormed,     // [T, n_embd] normalised x / block output
    kSlotQ,          // [T, n_head * hd]
    kSlotK,          // [T, n_kv * hd]
    kSlotV,          // [T, n_kv * hd]
    kSlotAttnOut,    // [T, n_head * hd]
    kSlotGate,       // [T, n_ff]
    kSlotUp,         // [T, n_ff]
    kSlotOutRows,    // [n_out, n_embd]
    kSlotRouter,     // [T, n_expert] MoE router logits
    kSlotCount
};

struct BlockContext {
    Backend& backend;
    Workspace& ws;
    const ModelConfig& config;
    const StepPlan& plan;
    KvCache& kv;
};

// x (residual, [T, n_embd]) += attention(rms_norm(x)) of layer il (with an output gate where the layer
// has wq_gate: o * sigmoid(h . wq_gate) before the output projection).
void attention_block(BlockContext& ctx, const LayerWeights& w, int il, Act x);
// x += down(silu(gate(h)) * up(h)) with h = rms_norm(x, norm).
void swiglu_ffn_block(BlockContext& ctx, const Weight& norm, const Weight& gate, const Weight& up,
                      const Weight& down, Act x);
// x += moe(h) with h = rms_norm(x, ffn_norm): the layer's experts chosen per token by its router
// (Backend::moe_ffn), plus a shared expert scaled by sigmoid(h . ffn_gate_inp_shexp) where the layer
// has one (Qwen3.5).
void moe_ffn_block(BlockContext& ctx, const LayerWeights& w, Act x);
// x += ssm_out(gated_delta_net(...)) of rms_norm(x): a Gated DeltaNet (linear-attention) layer over the
// step's one sequence, its recurrent state in the KvCache (Qwen3.5).
void gated_delta_net_block(BlockContext& ctx, const LayerWeights& w, int il, Act x);
// logits = output(rms_norm(x[output_rows]))
void output_block(BlockContext& ctx, const ModelWeights& w, Act x, Act logits);

}  // namespace rf
