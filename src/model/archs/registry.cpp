// Maps general.architecture to its implementation.
#include "core/error.h"
#include "model/model.h"

namespace rf {

std::unique_ptr<Architecture> make_transformer();

std::unique_ptr<Architecture> make_architecture(const ModelConfig& config) {
    for (const char* a : {"llama", "qwen2", "qwen3", "qwen3moe", "qwen35", "qwen35moe"})
        if (config.arch == a) return make_transformer();
    fail("model: architecture '{}' has no forward pass in this build (supported: llama, qwen2, qwen3, qwen3moe, "
         "qwen35, qwen35moe)",
         config.arch);
}

}  // namespace rf
