// A loaded model: its GGUF file (kept mapped), configuration, weights on a backend, and the
// architecture that builds its forward pass from backend ops.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "kv/kv_cache.h"
#include "model/model_config.h"
#include "model/model_weights.h"
#include "model/workspace.h"

namespace rf {

class GgufFile;
class Model;

// One forward pass of an architecture, built from backend ops (see archs/*.cpp).
class Architecture {
public:
    virtual ~Architecture() = default;
    // Runs the step; leaves the logits of plan.output_rows in `logits` [n_out, n_vocab] (backend
    // memory).
    virtual void forward(Model& model, const StepPlan& plan, KvCache& kv, Act logits) = 0;
};

class Model {
public:
    // Loads `path` onto `backend` (which must outlive the model).
    Model(const std::string& path, Backend& backend);
    // Loads an opened file (kept by the model: weights may point into it).
    Model(std::unique_ptr<GgufFile> gguf, Backend& backend);
    ~Model();

    const ModelConfig& config() const { return config_; }
    const GgufFile& gguf() const { return *gguf_; }
    const ModelWeights& weights() const { return store_->weights(); }
    Backend& backend() { return backend_; }
    Workspace& workspace() { return workspace_; }
    int n_vocab() const { return config_.n_vocab; }

    // KV shapes of every layer (n_kv_head = 0 for layers without KV cache).
    std::vector<KvLayerShape> kv_layer_shapes() const;

    // Runs one step. When logits_host is not null it receives the logits of plan.output_rows,
    // row-major [output_rows.size(), n_vocab].
    void forward(const StepPlan& plan, KvCache& kv, float* logits_host);

private:
    std::unique_ptr<GgufFile> gguf_;
    Backend& backend_;
    ModelConfig config_;
    std::unique_ptr<WeightStore> store_;
    Workspace workspace_;
    std::unique_ptr<Architecture> arch_;
};

// The architecture implementation for config.arch (throws for unknown ones).
std::unique_ptr<Architecture> make_architecture(const ModelConfig& config);

}  // namespace rf
