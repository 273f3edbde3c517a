// Everything a command needs to run a model: the backend (--device), the model weights on it,
// a KV cache sized for the context, and the tokenizer and chat template from the GGUF file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backend/backend.h"
#include "backend/backend_factory.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace rf {

struct LoadOptions {
    std::string model_path;        // empty: the embedded default model
    BackendChoice backend;
    int32_t n_ctx = 0;             // tokens of context; 0: min(training context, 4096)
    int32_t n_seq_max = 1;         // sequences the KV cache must hold at n_ctx each
    KvCodec kv_codec = KvCodec::F16;
    int32_t kv_block_size = 16;
    int32_t n_batch = 512;         // the largest step's tokens: a GPU backend's workspace is budgeted for it
    std::string chat_template;     // a Jinja chat template in place of the model's tokenizer.chat_template
                                   // ("": the model's); checked by rendering one user message at load
    std::string chat_template_source;  // where it came from, for errors ("--chat-template-file F")
};

class LoadedModel {
public:
    explicit LoadedModel(const LoadOptions& options);
    ~LoadedModel();

    Backend& backend() { return *backend_; }
    Model& model() { return *model_; }
    KvCache& kv() { return *kv_; }
    const Tokenizer& tokenizer() const { return *tokenizer_; }
    const std::string& chat_template() const { return tokenizer_->vocab().chat_template; }
    int32_t n_ctx() const { return n_ctx_; }
    const std::string& description() const { return description_; }  // "file (arch, size)"

private:
    std::unique_ptr<Backend> backend_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<KvCache> kv_;
    std::unique_ptr<Tokenizer> tokenizer_;
    int32_t n_ctx_ = 0;
    std::string description_;
};

}  // namespace rf
