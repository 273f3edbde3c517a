// Maps general.architecture to its implementation.
#include "core/error.h"
#include "model/model.h"

namespace rf {

std::unique_ptr<Architecture> make_dense_transformer();
std::unique_ptr<Architecture> make_qwen35();

std::unique_ptr<Architecture> make_architecture(const ModelConfig& config) {
    if (config.arch == "llama" || config.arch == "qwen2" || config.arch == "qwen3" || config.arch == "qwen3moe")
        return make_dense_transformer();
    if (config.arch == "qwen35" || config.arch == "qwen35moe") return make_qwen35();
    fail("model: architecture '{}' has no forward pass in this build yet (supported: llama, qwen2, qwen3, qwen3moe, "
         "qwen35, qwen35moe)",
         config.arch);
}

}  // namespace rf
