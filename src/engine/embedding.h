// Text embeddings from a decoder model (OpenAI /v1/embeddings, llama.cpp's llama-embedding): the final
// RMS-normed hidden states of the input's tokens pooled into one vector of n_embd floats, L2-normalised
// unless asked not to. Pooling: the model's <arch>.pooling_type when it has one (embedding models such
// as Qwen3-Embedding: last), else the last token's state (a causal model's only state that has seen the
// whole input); mean and cls (the first token) on request.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rf {

class KvCache;
class Model;
struct ModelConfig;

enum class Pooling { Mean, Cls, Last };

// "mean", "cls", "last" (throws rf::Error naming the value otherwise).
Pooling parse_pooling(const std::string& name);
const char* pooling_name(Pooling p);
// The model's pooling (llama.cpp's numbering: 1 mean, 2 cls, 3 last), else Last; throws for a
// pooling this engine does not do (0 none: per-token vectors, 4 rank: a reranker's score).
Pooling default_pooling(const ModelConfig& config);

struct EmbedOptions {
    Pooling pooling = Pooling::Last;
    bool normalize = true;  // L2 (Euclidean) norm 1, as OpenAI's embeddings
    int32_t n_batch = 512;
};

// The embedding [n_embd] of `tokens` (at least one), computed in a sequence of its own in `kv`
// (freed after). Throws rf::Error when the tokens do not fit the context or the KV cache.
std::vector<float> embed_tokens(Model& model, KvCache& kv, std::span<const int32_t> tokens, int32_t n_ctx,
                                const EmbedOptions& options);

}  // namespace rf
