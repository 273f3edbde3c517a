// The decoder-only transformers, one loop over layers built from the shared blocks (blocks.h):
//   llama, qwen2 (QKV bias), qwen3 (per-head q/k RMSNorm): attention + dense SwiGLU;
//   qwen3moe: qwen3's attention + experts;
//   qwen35, qwen35moe (Qwen3.5 / 3.6): Gated DeltaNet layers with a gated full attention every
//   full_attention_interval-th layer, a dense SwiGLU or experts with a sigmoid-gated shared expert.
// They differ by which optional weights exist (biases, q/k norms, the attention's output gate, the
// shared expert), the RoPE pairing and dimensions, each layer's kind and the feed-forward kind, all
// read from the configuration and the weights.
#include "model/blocks.h"
#include "model/model.h"

namespace rf {
namespace {

class Transformer final : public Architecture {
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
            if (c.layer_kind(il) == LayerKind::LinearAttention) {
                gated_delta_net_block(ctx, L, il, x);
            } else {
                attention_block(ctx, L, il, x);
            }
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

std::unique_ptr<Architecture> make_transformer() { return std::make_unique<Transformer>(); }

}  // namespace rf
