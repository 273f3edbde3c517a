#include "model/model.h"

#include "core/error.h"
#include "formats/gguf/gguf_file.h"

namespace rf {

Model::Model(const std::string& path, Backend& backend) : Model(std::make_unique<GgufFile>(path), backend) {}

Model::Model(std::unique_ptr<GgufFile> gguf, Backend& backend)
    : gguf_(std::move(gguf)), backend_(backend), workspace_(backend) {
    config_ = read_model_config(*gguf_);
    arch_ = make_architecture(config_);  // fails early for an architecture without a forward pass
    store_ = std::make_unique<WeightStore>(backend_, *gguf_, config_);
    config_.n_vocab = static_cast<int>(store_->weights().tok_embd.rows);
}

Model::~Model() = default;

std::vector<KvLayerShape> Model::kv_layer_shapes() const {
    std::vector<KvLayerShape> shapes(static_cast<size_t>(config_.n_layer));
    for (int il = 0; il < config_.n_layer; ++il) {
        if (config_.layer_kind(il) == LayerKind::Attention) {
            RF_CHECK(config_.head_dim == config_.head_dim_v,
                     "model: key head dim {} != value head dim {} is not supported by the KV cache",
                     config_.head_dim, config_.head_dim_v);
            shapes[static_cast<size_t>(il)] = {config_.n_head_kv, config_.head_dim};
        }
    }
    return shapes;
}

void Model::forward(const StepPlan& plan, KvCache& kv, float* logits_host) {
    RF_CHECK(plan.n_tokens() > 0, "model: empty step");
    const int64_t n_out = static_cast<int64_t>(plan.output_rows.size());
    // Slot 0 of the workspace is reserved for the logits (or the hidden states, plan.hidden_output).
    const int64_t cols = plan.hidden_output ? config_.n_embd : config_.n_vocab;
    Act logits = workspace_.get(0, n_out > 0 ? n_out : 1, cols);
    logits.rows = n_out;
    arch_->forward(*this, plan, kv, logits);
    if (logits_host != nullptr && n_out > 0) {
        backend_.download(logits_host, logits.data, static_cast<size_t>(logits.size()) * sizeof(float));
    }
}

}  // namespace rf
