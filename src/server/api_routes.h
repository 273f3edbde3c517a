// The server's endpoints: GET /health, GET /v1/models, GET /status (scheduler and memory:
// weights, KV cache, and the GPU's VRAM on a GPU backend), POST /v1/completions,
// /v1/chat/completions (OpenAI) and /v1/messages (Anthropic); POST /tokenize, /detokenize (vLLM's)
// and /v1/messages/count_tokens (Anthropic's); GET /metrics (Prometheus). A generation request is parsed,
// queued on the scheduler and answered whole or streamed as it is generated; a client that goes
// away cancels its request.
#pragma once

#include <cstdint>
#include <string>

#include "engine/loaded_model.h"
#include "server/response_writer.h"
#include "server/scheduler.h"

namespace rf::server {

struct HttpRequestView {
    std::string method;        // "GET", "POST", ...
    std::string target;        // path and query
    std::string body;
    std::string authorization; // the Authorization header ("Bearer KEY")
    std::string api_key;       // the x-api-key header
};

struct RouteOptions {
    std::string model_name;  // the id clients send and responses carry
    std::string api_key;     // when not empty, every request but /health must carry it
};

class ApiRoutes {
public:
    ApiRoutes(Scheduler& scheduler, LoadedModel& model, RouteOptions options);
    void handle(const HttpRequestView& request, ResponseWriter& out);

private:
    enum class Api { Completions, Chat, Messages };
    void generate(Api api, const std::string& body, ResponseWriter& out);
    void tokens(const std::string& path, const std::string& body, ResponseWriter& out);
    void error(Api api, int status, const std::string& message, const std::string& param, ResponseWriter& out);
    std::string status_json();
    std::string metrics_text();  // Prometheus text format, vLLM's names where they exist
    std::string models_json();

    Scheduler& scheduler_;
    LoadedModel& model_;
    RouteOptions options_;
    int64_t started_;  // unix seconds
};

}  // namespace rf::server
