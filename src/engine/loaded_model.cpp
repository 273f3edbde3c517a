#include "engine/loaded_model.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <limits>

#include "backend/gpu/gpu_backend.h"
#include "backend/gpu/gpu_weight_layout.h"
#include "core/error.h"
#include "engine/chat.h"
#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "tokenizer/vocab_gguf.h"

namespace rf {

namespace {

// Device memory the model will take on a GPU backend, computed before anything is allocated:
// weights in the GPU's own layout, the KV cache, and the activation workspace of a
// n_batch-token step (the 8 largest buffers of blocks.h plus the logits rows).
VramNeed vram_need(const GgufFile& gguf, const ModelConfig& c, const KvCacheConfig& kc,
                   const std::vector<KvLayerShape>& shapes, int64_t n_batch, int64_t n_vocab, int64_t n_seq) {
    VramNeed need;
    for (const auto& t : gguf.tensors()) {
        if (t.ne.size() >= 2) {
            const int64_t mats = t.ne.size() > 2 ? t.ne[2] : 1;
            need.weights += gpu::matrix_layout(t.type, t.ne[1], t.ne[0]).mat_stride * static_cast<uint64_t>(mats);
        } else {
            need.weights += static_cast<uint64_t>(t.ne[0]) * 4;  // vectors are f32 on the device
        }
    }
    need.kv = KvCache::bytes_per_block(kc, shapes) * static_cast<uint64_t>(kc.n_blocks) +
              static_cast<uint64_t>(n_seq) * c.recurrent_state_floats() * sizeof(float);  // (linear-attention layers)
    const int64_t widest = std::max<int64_t>({c.n_embd, int64_t{c.n_head} * c.head_dim, c.n_ff, c.n_ff_exp});
    need.workspace = static_cast<uint64_t>(n_batch) * static_cast<uint64_t>(8 * widest + n_vocab) * 4 +
                     (64ull << 20);  // + BLAS workspace and step buffers
    return need;
}

// A KV cache in host memory larger than the machine's RAM cannot work: refused before it is
// allocated, naming the context size.
void check_host_kv_memory(uint64_t kv_bytes, int32_t n_ctx) {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return;  // unknown: the allocation itself reports
    const uint64_t ram = static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
    const auto gib = [](uint64_t b) { return static_cast<double>(b) / double(1ull << 30); };
    RF_CHECK(kv_bytes <= ram, "context size {} (--ctx-size) needs a {:.2f} GiB KV cache; this machine has {:.2f} GiB of memory",
             n_ctx, gib(kv_bytes), gib(ram));
}

}  // namespace

LoadedModel::LoadedModel(const LoadOptions& opt) {
    std::unique_ptr<GgufFile> gguf = opt.model_path.empty() ? open_default_model()
                                                            : std::make_unique<GgufFile>(opt.model_path);
    if (opt.chat_template.empty()) {
        tokenizer_ = std::make_unique<Tokenizer>(tokenizer_from_gguf(*gguf));
    } else {
        Vocab vocab = vocab_from_gguf(*gguf);
        vocab.chat_template = opt.chat_template;
        try {
            tokenizer_ = std::make_unique<Tokenizer>(std::move(vocab));
        } catch (const Error& e) {
            fail("gguf {}: {}", gguf->path(), e.what());
        }
        try {  // a template that cannot render a user turn fails here, not at the first request
            (void)render_chat(*tokenizer_, nlohmann::ordered_json{
                                               {"messages", nlohmann::ordered_json::array({{{"role", "user"}, {"content", "Hello"}}})},
                                               {"add_generation_prompt", true}});
        } catch (const Error& e) {
            fail("{}: {}", opt.chat_template_source.empty() ? std::string("chat template") : opt.chat_template_source, e.what());
        }
    }
    const ModelConfig c = read_model_config(*gguf);
    n_ctx_ = opt.n_ctx > 0 ? opt.n_ctx : std::min(c.n_ctx_train, 4096);
    RF_CHECK(n_ctx_ >= 1, "context size {} must be positive", n_ctx_);
    RF_CHECK(n_ctx_ <= kMaxContext, "context size {} (--ctx-size) is above the largest supported, {}", n_ctx_, kMaxContext);
    RF_CHECK(opt.n_seq_max >= 1, "sequence count {} must be positive", opt.n_seq_max);
    RF_CHECK(opt.n_batch >= 1, "batch size {} must be positive", opt.n_batch);
    if (c.n_ctx_train > 0 && n_ctx_ > c.n_ctx_train)
        spdlog::warn("context size {} is above the model's training context {}: positions past it are untrained", n_ctx_,
                     c.n_ctx_train);
    const int64_t blocks_per_seq = (int64_t{n_ctx_} + opt.kv_block_size - 1) / opt.kv_block_size;
    const int64_t n_blocks = blocks_per_seq * opt.n_seq_max;
    RF_CHECK(n_blocks <= std::numeric_limits<int32_t>::max(), "context size {} x {} sequences needs {} KV blocks, above {}",
             n_ctx_, opt.n_seq_max, n_blocks, std::numeric_limits<int32_t>::max());
    const KvCacheConfig kc{static_cast<int32_t>(n_blocks), opt.kv_block_size, opt.kv_codec};

    // KV shapes as the model will report them (the model is not loaded yet).
    std::vector<KvLayerShape> shapes(static_cast<size_t>(c.n_layer));
    for (int il = 0; il < c.n_layer; ++il)
        if (c.layer_kind(il) == LayerKind::Attention) shapes[static_cast<size_t>(il)] = {c.n_head_kv, c.head_dim};
    backend_ = make_backend(opt.backend);
    if (auto* gpu = dynamic_cast<GpuBackend*>(backend_.get())) {
        const auto* embd = gguf->find_tensor("token_embd.weight");
        const int64_t n_vocab = embd != nullptr && embd->ne.size() == 2 ? embd->ne[1] : 0;
        gpu->check_vram(vram_need(*gguf, c, kc, shapes, opt.n_batch, n_vocab, opt.n_seq_max));
    } else {
        check_host_kv_memory(KvCache::bytes_per_block(kc, shapes) * static_cast<uint64_t>(kc.n_blocks) +
                                 static_cast<uint64_t>(opt.n_seq_max) * c.recurrent_state_floats() * sizeof(float),
                             n_ctx_);
    }
    model_ = std::make_unique<Model>(std::move(gguf), *backend_);
    RF_CHECK(tokenizer_->n_vocab() <= model_->n_vocab(),
             "{}: the tokenizer has {} tokens but the model's embedding only {} rows", model_->gguf().path(),
             tokenizer_->n_vocab(), model_->n_vocab());
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
