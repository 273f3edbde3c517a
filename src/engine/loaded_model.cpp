#include "engine/loaded_model.h"

#include <algorithm>

#include "core/error.h"
#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "tokenizer/vocab_gguf.h"

namespace rf {

LoadedModel::LoadedModel(const LoadOptions& opt) {
    std::unique_ptr<GgufFile> gguf = opt.model_path.empty() ? open_default_model()
                                                            : std::make_unique<GgufFile>(opt.model_path);
    tokenizer_ = std::make_unique<Tokenizer>(vocab_from_gguf(*gguf));
    backend_ = make_backend(opt.backend);
    model_ = std::make_unique<Model>(std::move(gguf), *backend_);
    const ModelConfig& c = model_->config();
    n_ctx_ = opt.n_ctx > 0 ? opt.n_ctx : std::min(c.n_ctx_train, 4096);
    RF_CHECK(n_ctx_ >= 1, "context size {} must be positive", n_ctx_);
    RF_CHECK(opt.n_seq_max >= 1, "sequence count {} must be positive", opt.n_seq_max);
    RF_CHECK(tokenizer_->n_vocab() <= model_->n_vocab(),
             "{}: the tokenizer has {} tokens but the model's embedding only {} rows", model_->gguf().path(),
             tokenizer_->n_vocab(), model_->n_vocab());
    const int32_t blocks_per_seq = (n_ctx_ + opt.kv_block_size - 1) / opt.kv_block_size;
    KvCacheConfig kc{blocks_per_seq * opt.n_seq_max, opt.kv_block_size, opt.kv_codec};
    kv_ = std::make_unique<KvCache>(*backend_, kc, model_->kv_layer_shapes());
    description_ = fmt::format("{} ({}, {:.1f} MiB)", model_->gguf().path(), c.arch,
                               static_cast<double>(model_->weights().total_bytes) / (1024.0 * 1024.0));
}

LoadedModel::~LoadedModel() {
    kv_.reset();  // before the backend it lives on
    model_.reset();
    backend_.reset();
}

}  // namespace rf
