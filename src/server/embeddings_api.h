// OpenAI's POST /v1/embeddings: {"input": a string, strings, token ids or lists of token ids, "model",
// "encoding_format": "float" | "base64", "dimensions"} -> {"object": "list", "data": [{"object":
// "embedding", "index", "embedding"}], "model", "usage"}. The vectors are engine/embedding.h's.
#pragma once

#include <string>
#include <vector>

#include "server/api_fields.h"

namespace rf {
class Tokenizer;
}

namespace rf::server {

struct EmbeddingsRequest {
    std::vector<std::vector<int32_t>> inputs;  // token ids of each input
    bool base64 = false;                       // encoding_format "base64": little-endian float32 bytes
};

// Throws ApiError (400) naming the field: no input, an empty input, a token id out of range, an
// input longer than n_ctx tokens, more than 2048 inputs, dimensions other than n_embd.
EmbeddingsRequest parse_embeddings_request(const json& body, const Tokenizer& tokenizer, int32_t n_ctx, int32_t n_embd);

json embeddings_response(const std::vector<std::vector<float>>& vectors, const EmbeddingsRequest& request,
                         const std::string& model);

}  // namespace rf::server
