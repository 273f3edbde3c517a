// Decoder-only transformers of attention layers: llama, qwen2 (QKV bias), qwen3 (per-head q/k
// RMSNorm) with a dense SwiGLU feed-forward, and qwen3moe (qwen3's attention, a mixture-of-experts
// feed-forward). They differ only by which optional weights exist, the RoPE pairing and the
// feed-forward kind, all handled by the shared blocks and the configuration.
#include "model/blocks.h"
#include "model/model.h"

namespace rf {
namespace {

class DenseTransformer final : public Architecture {
public:
    void forward(Model& model, const StepPlan& plan, KvCache& kv, Act logits) override {
        const ModelConfig& c = model.config();
        const ModelWeights& w = model.weights();
        Backend& be = model.backend();
        BlockContext ctx{be, model.workspace(), c, plan, kv};

        be.begin_step(plan);
        Act x = ctx.ws.get(kSlotResidual, plan.n_tokens(), c.n_embd);
        be.embed(w.tok_embd, x);
        for (int il = 0; il < c.n_layer; ++il) {
            const LayerWeights& L = w.layers[static_cast<size_t>(il)];
            attention_block(ctx, L, il, x);
            if (c.is_moe()) {
                moe_ffn_block(ctx, L, x);
            } else {
                swiglu_ffn_block(ctx, L.ffn_norm, L.ffn_gate, L.ffn_up, L.ffn_down, x);
            }
        }
        output_block(ctx, w, x, logits);
    }
};

}  // namespace

std::unique_ptr<Architecture> make_dense_transformer() { return std::make_unique<DenseTransformer>(); }

}  // namespace rf
