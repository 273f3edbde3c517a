// The server's endpoints: GET /health, GET /v1/models, GET /status (scheduler and memory:
// weights, KV cache, and the GPU's VRAM on a GPU backend), POST /v1/completions,
// /v1/chat/completions (OpenAI) and /v1/messages (Anthropic), /v1/embeddings (OpenAI); POST /tokenize, /detokenize (vLLM's)
// and /v1/messages/count_tokens (Anthropic's); GET /metrics (Prometheus); GET /models, POST
// /models/load and /models/unload (llama.cpp's router endpoints: the files of --models-dir, one model
// at a time; model_host.h). A generation request is parsed, queued on the current model's scheduler and
// answered whole or streamed as it is generated; a client that goes away cancels its request. Without a
// loaded model the model endpoints answer 503.
#pragma once

#include <cstdint>
#include <string>

#include "server/model_host.h"
#include "server/response_writer.h"

namespace rf::server {

struct HttpRequestView {
    std::string method;        // "GET", "POST", ...
    std::string target;        // path and query
    std::string body;
    std::string authorization; // the Authorization header ("Bearer KEY")
    std::string api_key;       // the x-api-key header
};

struct RouteOptions {
    std::string api_key;  // when not empty, every request but /health must carry it
    std::string pooling;  // /v1/embeddings' pooling: mean, cls, last ("": the model's, engine/embedding.h)
};

class ApiRoutes {
public:
    ApiRoutes(ModelHost& host, RouteOptions options);
    void handle(const HttpRequestView& request, ResponseWriter& out);

private:
    enum class Api { Completions, Chat, Messages };
    void generate(ServedModel& m, Api api, const std::string& body, ResponseWriter& out);
    void tokens(ServedModel& m, const std::string& path, const std::string& body, ResponseWriter& out);
    void embeddings(ServedModel& m, const std::string& body, ResponseWriter& out);
    void manage(const std::string& path, const std::string& body, ResponseWriter& out);  // /models/load, /unload
    void error(Api api, int status, const std::string& message, const std::string& param, ResponseWriter& out);
    std::string status_json(ServedModel& m);
    std::string metrics_text(ServedModel& m);  // Prometheus text format, vLLM's names where they exist
    std::string models_json(const ServedModel* m);
    std::string model_files_json();

    ModelHost& host_;
    RouteOptions options_;
};

}  // namespace rf::server
