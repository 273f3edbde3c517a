#include "server/api_routes.h"

#include <chrono>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "backend/gpu/gpu_backend.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "server/anthropic_api.h"
#include "server/openai_api.h"

namespace rf::server {
namespace {

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kJson = "application/json";

}  // namespace

ApiRoutes::ApiRoutes(Scheduler& scheduler, LoadedModel& model, RouteOptions options)
    : scheduler_(scheduler), model_(model), options_(std::move(options)), started_(unix_now()) {}

void ApiRoutes::error(Api api, int status, const std::string& message, const std::string& param, ResponseWriter& out) {
    const json body = api == Api::Messages ? anthropic_error_body(status, message) : openai_error_body(status, message, param);
    out.reply(status, kJson, dump_json(body));
}

void ApiRoutes::handle(const HttpRequestView& req, ResponseWriter& out) {
    const std::string path = req.target.substr(0, req.target.find('?'));
    const bool is_messages = path.rfind("/v1/messages", 0) == 0;
    const Api style = is_messages ? Api::Messages : Api::Completions;
    if (!options_.api_key.empty() && path != "/health") {
        const bool ok = req.authorization == "Bearer " + options_.api_key || req.api_key == options_.api_key;
        if (!ok) return error(style, 401, "a valid API key is required (Authorization: Bearer KEY, or x-api-key: KEY)", "", out);
    }
    struct Route {
        const char* path;
        const char* method;
    };
    static constexpr Route kRoutes[] = {{"/health", "GET"},
                                        {"/v1/models", "GET"},
                                        {"/status", "GET"},
                                        {"/metrics", "GET"},
                                        {"/v1/completions", "POST"},
                                        {"/v1/chat/completions", "POST"},
                                        {"/v1/messages", "POST"},
                                        {"/v1/messages/count_tokens", "POST"},
                                        {"/tokenize", "POST"},
                                        {"/detokenize", "POST"}};
    const Route* route = nullptr;
    for (const Route& r : kRoutes)
        if (path == r.path) route = &r;
    if (route == nullptr) return error(style, 404, "no endpoint " + path, "", out);
    if (req.method != route->method)
        return error(style, 405, "method " + req.method + " not allowed on " + path + " (use " + route->method + ")", "", out);

    try {
        if (path == "/health") return out.reply(200, kJson, dump_json(json{{"status", "ok"}}));
        if (path == "/v1/models") return out.reply(200, kJson, models_json());
        if (path == "/status") return out.reply(200, kJson, status_json());
        if (path == "/metrics") return out.reply(200, "text/plain; version=0.0.4", metrics_text());
        if (path == "/v1/completions") return generate(Api::Completions, req.body, out);
        if (path == "/v1/chat/completions") return generate(Api::Chat, req.body, out);
        if (path == "/v1/messages") return generate(Api::Messages, req.body, out);
        return tokens(path, req.body, out);
    } catch (const std::exception& e) {
        spdlog::error("server: {} {}: {}", req.method, path, e.what());
        return error(style, 500, e.what(), "", out);
    }
}

std::string ApiRoutes::models_json() {
    const json model = {{"id", options_.model_name},
                        {"object", "model"},
                        {"created", started_},
                        {"owned_by", "rocmforge"},
                        {"max_model_len", scheduler_.n_ctx()}};
    return dump_json(json{{"object", "list"}, {"data", json::array({model})}});
}

std::string ApiRoutes::metrics_text() {
    const SchedulerStats s = scheduler_.current_stats();
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, auto value, const std::string& labels = {}) {
        if (out.find(std::string("# TYPE rocmforge:") + name + " ") == std::string::npos)
            out += fmt::format("# HELP rocmforge:{} {}\n# TYPE rocmforge:{} {}\n", name, help, name, type);
        out += fmt::format("rocmforge:{}{{model_name=\"{}\"{}}} {}\n", name, options_.model_name, labels, value);
    };
    metric("num_requests_running", "gauge", "Requests generating now.", s.running);
    metric("num_requests_waiting", "gauge", "Requests queued for admission.", s.waiting);
    const double used = s.kv_blocks_total > 0 ? 1.0 - static_cast<double>(s.kv_blocks_free) / s.kv_blocks_total : 0.0;
    metric("kv_cache_usage_perc", "gauge", "Fraction of the KV cache's blocks in use (running and kept prefixes).", used);
    metric("prompt_tokens_total", "counter", "Prompt tokens computed (those reused from the prefix cache not counted).",
           s.prompt_tokens);
    metric("generation_tokens_total", "counter", "Tokens sampled.", s.generated_tokens);
    const FinishReason reasons[] = {FinishReason::Length, FinishReason::Stop, FinishReason::EndOfGeneration,
                                    FinishReason::ContextFull, FinishReason::Cancelled};
    for (FinishReason r : reasons)
        metric("request_success_total", "counter", "Requests ended, by reason.", s.finished[static_cast<int>(r)],
               fmt::format(",finished_reason=\"{}\"", finish_reason_name(r)));
    metric("request_failure_total", "counter", "Requests ended by an error.", s.failed);
    metric("prefix_cache_queries_total", "counter", "Admitted prompts looked up in the prefix cache.", s.prefix_cache.lookups);
    metric("prefix_cache_hits_total", "counter", "Lookups that reused a kept prefix.", s.prefix_cache.hits);
    metric("prefix_cache_reused_tokens_total", "counter", "Prompt tokens taken from kept prefixes.", s.prefix_cache.reused_tokens);
    metric("engine_steps_total", "counter", "Forward steps run.", s.steps);
    return out;
}

std::string ApiRoutes::status_json() {
    const SchedulerStats s = scheduler_.current_stats();
    json j = {{"model", options_.model_name},
              {"description", model_.description()},
              {"backend", model_.backend().name()},
              {"n_ctx", scheduler_.n_ctx()},
              {"n_parallel", scheduler_.options().n_parallel},
              {"n_batch", scheduler_.options().n_batch}};
    j["scheduler"] = {{"running", s.running},         {"waiting", s.waiting},
                      {"steps", s.steps},             {"prompt_tokens", s.prompt_tokens},
                      {"generated_tokens", s.generated_tokens}, {"max_batch_sequences", s.max_batch_seqs}};
    j["prefix_cache"] = {{"max_entries", scheduler_.options().prefix_cache_entries},
                         {"entries", s.prefix_cache.entries},
                         {"lookups", s.prefix_cache.lookups},
                         {"hits", s.prefix_cache.hits},
                         {"reused_tokens", s.prefix_cache.reused_tokens},
                         {"evictions", s.prefix_cache.evictions}};
    json memory;
    // Device state is read on the scheduler's thread, between steps.
    scheduler_.call([&] {
        const KvCache& kv = model_.kv();
        const uint64_t block_bytes = KvCache::bytes_per_block(kv.config(), model_.model().kv_layer_shapes());
        j["kv_cache"] = {{"block_size", kv.block_size()},
                         {"blocks_total", kv.pool().n_blocks()},
                         {"blocks_free", kv.n_free_blocks()},
                         {"blocks_reserved", s.kv_blocks_reserved},
                         {"bytes", block_bytes * static_cast<uint64_t>(kv.pool().n_blocks())}};
        memory = {{"weights_bytes", model_.model().weights().total_bytes},
                  {"kv_cache_bytes", block_bytes * static_cast<uint64_t>(kv.pool().n_blocks())}};
        if (auto* gpu = dynamic_cast<GpuBackend*>(&model_.backend())) {
            const GpuDeviceInfo d = gpu->device_info();
            memory["vram"] = {{"device", d.name},
                              {"arch", d.arch},
                              {"total_bytes", d.total_bytes},
                              {"free_bytes", d.free_bytes},
                              {"used_bytes", d.total_bytes - d.free_bytes}};
            const GpuGraphStats g = gpu->graph_stats();
            j["gpu_steps"] = {{"steps", g.steps},
                              {"graph_launches", g.graph_launches},
                              {"fast_replays", g.fast_replays},
                              {"graph_updates", g.graph_updates},
                              {"graph_instantiations", g.graph_instantiations},
                              {"eager_steps", g.eager_flushes},
                              {"flush_ms", static_cast<double>(g.flush_ns) * 1e-6},
                              {"graph_build_ms", static_cast<double>(g.graph_build_ns) * 1e-6},
                              {"wait_ms", static_cast<double>(g.wait_ns) * 1e-6}};
        }
    });
    j["memory"] = memory;
    return dump_json(j);
}

void ApiRoutes::tokens(const std::string& path, const std::string& text, ResponseWriter& out) {
    const Api api = path == "/v1/messages/count_tokens" ? Api::Messages : Api::Completions;
    json body;
    try {
        body = json::parse(text);
    } catch (const json::parse_error& e) {
        return error(api, 400, std::string("the request body is not valid JSON: ") + e.what(), "", out);
    }
    const Tokenizer& tok = model_.tokenizer();
    try {
        if (path == "/v1/messages/count_tokens") {
            const auto ids = tok.encode(messages_prompt(body, tok), /*add_special=*/false, /*parse_special=*/true);
            return out.reply(200, kJson, dump_json(json{{"input_tokens", ids.size()}}));
        }
        if (path == "/tokenize") {
            // vLLM's: a prompt (add_special_tokens, default true) or chat messages through the template
            std::vector<int32_t> ids;
            if (find_field(body, "messages") != nullptr) {
                ids = tok.encode(chat_prompt(body, tok), /*add_special=*/false, /*parse_special=*/true);
            } else {
                const json& prompt = required_field(body, "prompt");
                if (!prompt.is_string()) throw ApiError(400, "prompt", "prompt: expected a string, got " + describe_value(prompt));
                ids = tok.encode(prompt.get<std::string>(), bool_field(body, "add_special_tokens", true), /*parse_special=*/true);
            }
            return out.reply(200, kJson,
                             dump_json(json{{"count", ids.size()}, {"max_model_len", scheduler_.n_ctx()}, {"tokens", ids}}));
        }
        // /detokenize
        const json& ids = required_field(body, "tokens");
        if (!ids.is_array()) throw ApiError(400, "tokens", "tokens: expected an array of token ids, got " + describe_value(ids));
        std::vector<int32_t> v;
        for (size_t i = 0; i < ids.size(); ++i) {
            if (!ids[i].is_number_integer() || ids[i].get<int64_t>() < 0 || ids[i].get<int64_t>() >= tok.n_vocab())
                throw ApiError(400, "tokens",
                               fmt::format("tokens[{}]: {} is not a token id in [0, {})", i, describe_value(ids[i]), tok.n_vocab()));
            v.push_back(ids[i].get<int32_t>());
        }
        return out.reply(200, kJson, dump_json(json{{"prompt", tok.decode(v)}}));
    } catch (const ApiError& e) {
        return error(api, e.status(), e.what(), e.param(), out);
    }
}

void ApiRoutes::generate(Api api, const std::string& text, ResponseWriter& out) {
    json body;
    try {
        body = json::parse(text);
    } catch (const json::parse_error& e) {
        return error(api, 400, std::string("the request body is not valid JSON: ") + e.what(), "", out);
    }
    ApiRequest req;
    std::unique_ptr<ResponseFormatter> fmt;
    try {
        const std::string model = string_field(body, "model", options_.model_name);
        if (model != options_.model_name)
            return error(api, 404, "model: \"" + model + "\" is not served here (this server serves \"" + options_.model_name + "\")",
                         "model", out);
        const Tokenizer& tok = model_.tokenizer();
        ResponseContext ctx{&tok, options_.model_name, "", unix_now()};
        switch (api) {
            case Api::Completions:
                req = parse_completion_request(body, tok);
                ctx.id = make_response_id("cmpl-");
                fmt = make_completion_formatter(req, ctx);
                break;
            case Api::Chat:
                req = parse_chat_request(body, tok);
                ctx.id = make_response_id("chatcmpl-");
                fmt = make_chat_formatter(req, ctx);
                break;
            case Api::Messages:
                req = parse_messages_request(body, tok);
                ctx.id = make_response_id("msg_");
                fmt = make_messages_formatter(req, ctx);
                break;
        }
    } catch (const ApiError& e) {
        return error(api, e.status(), e.what(), e.param(), out);
    }
    std::shared_ptr<RequestStream> stream;
    try {
        stream = scheduler_.submit(req.gen);
    } catch (const Error& e) {
        return error(api, 400, e.what(), "", out);
    }

    std::string all_text;
    std::vector<TokenOut> all_tokens;
    if (req.stream && !(out.begin_stream() && out.write_chunk(fmt->stream_begin()))) {
        stream->cancel();
        return;
    }
    for (;;) {
        StreamEvent ev;
        if (!stream->pop(ev, std::chrono::milliseconds(100))) {
            if (out.client_gone()) {
                stream->cancel();
                return;
            }
            continue;
        }
        switch (ev.kind) {
            case StreamEvent::Kind::Text:
                if (req.stream) {
                    const std::string chunk = fmt->stream_text(ev);
                    if (!chunk.empty() && !out.write_chunk(chunk)) {
                        stream->cancel();
                        return;
                    }
                } else {
                    all_text += ev.text;
                    for (auto& t : ev.tokens) all_tokens.push_back(std::move(t));
                }
                break;
            case StreamEvent::Kind::Finished:
                if (req.stream) {
                    (void)out.write_chunk(fmt->stream_end(ev));
                    out.end_stream();
                } else {
                    out.reply(200, kJson, dump_json(fmt->body(all_text, all_tokens, ev)));
                }
                return;
            case StreamEvent::Kind::Failed:
                if (req.stream) {
                    (void)out.write_chunk(fmt->stream_error(ev.error));
                    out.end_stream();
                } else {
                    error(api, 500, ev.error, "", out);
                }
                return;
        }
    }
}

}  // namespace rf::server
