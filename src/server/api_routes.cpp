#include "server/api_routes.h"

#include <chrono>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "backend/gpu/gpu_backend.h"
#include "core/error.h"
#include "engine/embedding.h"
#include "tokenizer/tokenizer.h"
#include "server/anthropic_api.h"
#include "server/embeddings_api.h"
#include "server/openai_api.h"

namespace rf::server {
namespace {

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr const char* kJson = "application/json";

}  // namespace

ApiRoutes::ApiRoutes(ModelHost& host, RouteOptions options) : host_(host), options_(std::move(options)) {}

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
                                        {"/v1/embeddings", "POST"},
                                        {"/tokenize", "POST"},
                                        {"/detokenize", "POST"},
                                        {"/models", "GET"},
                                        {"/models/load", "POST"},
                                        {"/models/unload", "POST"}};
    const Route* route = nullptr;
    for (const Route& r : kRoutes)
        if (path == r.path) route = &r;
    if (route == nullptr) return error(style, 404, "no endpoint " + path, "", out);
    if (req.method != route->method)
        return error(style, 405, "method " + req.method + " not allowed on " + path + " (use " + route->method + ")", "", out);

    try {
        if (path == "/health") return out.reply(200, kJson, dump_json(json{{"status", "ok"}}));
        if (path == "/models") return out.reply(200, kJson, model_files_json());
        if (path == "/models/load" || path == "/models/unload") return manage(path, req.body, out);
        // the model served now, held for the whole request (an unload waits for it: model_host.h)
        const std::shared_ptr<ServedModel> m = host_.current();
        if (path == "/v1/models") return out.reply(200, kJson, models_json(m.get()));
        if (m == nullptr)
            return error(style, 503, "no model is loaded (POST /models/load with {\"model\": NAME} loads one)", "model", out);
        if (path == "/status") return out.reply(200, kJson, status_json(*m));
        if (path == "/metrics") return out.reply(200, "text/plain; version=0.0.4", metrics_text(*m));
        if (path == "/v1/completions") return generate(*m, Api::Completions, req.body, out);
        if (path == "/v1/chat/completions") return generate(*m, Api::Chat, req.body, out);
        if (path == "/v1/messages") return generate(*m, Api::Messages, req.body, out);
        if (path == "/v1/embeddings") return embeddings(*m, req.body, out);
        return tokens(*m, path, req.body, out);
    } catch (const std::exception& e) {
        spdlog::error("server: {} {}: {}", req.method, path, e.what());
        return error(style, 500, e.what(), "", out);
    }
}

std::string ApiRoutes::models_json(const ServedModel* m) {
    json data = json::array();
    if (m != nullptr)
        data.push_back({{"id", m->name},
                        {"object", "model"},
                        {"created", m->loaded_at},
                        {"owned_by", "rocmforge"},
                        {"max_model_len", m->scheduler.n_ctx()}});
    return dump_json(json{{"object", "list"}, {"data", data}});
}

std::string ApiRoutes::model_files_json() {
    // llama.cpp's router list: every file of the models directory with its status, and the model
    // served now where it is not one of them (the startup model), one entry per id: a startup model
    // of a file's name stands in that file's place (loading the id would read the file)
    const std::shared_ptr<ServedModel> m = host_.current();
    json data = json::array();
    bool listed = false;
    for (const ModelFile& f : host_.files()) {
        listed = listed || f.loaded;
        if (m != nullptr && !f.loaded && f.name == m->name) continue;
        data.push_back({{"id", f.name}, {"object", "model"}, {"path", f.path}, {"status", {{"value", f.loaded ? "loaded" : "unloaded"}}}});
    }
    if (m != nullptr && !listed)
        data.push_back({{"id", m->name}, {"object", "model"}, {"path", m->path}, {"status", {{"value", "loaded"}}}});
    return dump_json(json{{"object", "list"}, {"data", data}, {"models_dir", host_.options().models_dir}});
}

void ApiRoutes::manage(const std::string& path, const std::string& text, ResponseWriter& out) {
    json body;
    try {
        body = json::parse(text);
    } catch (const json::parse_error& e) {
        return error(Api::Completions, 400, std::string("the request body is not valid JSON: ") + e.what(), "", out);
    }
    std::string name;
    try {
        const json& model = required_field(body, "model");
        if (!model.is_string()) throw ApiError(400, "model", "model: expected a string, got " + describe_value(model));
        name = model.get<std::string>();
    } catch (const ApiError& e) {
        return error(Api::Completions, e.status(), e.what(), e.param(), out);
    }
    if (path == "/models/unload") {
        if (!host_.unload(name)) {
            const auto m = host_.current();
            return error(Api::Completions, 404,
                         "model: \"" + name + "\" is not loaded" + (m ? " (\"" + m->name + "\" is)" : std::string(" (none is)")),
                         "model", out);
        }
        return out.reply(200, kJson, dump_json(json{{"success", true}, {"model", name}, {"status", "unloaded"}}));
    }
    try {
        (void)host_.resolve(name);
    } catch (const Error& e) {  // not a model of the directory: nothing changed
        return error(Api::Completions, 404, e.what(), "model", out);
    }
    std::shared_ptr<ServedModel> m;
    try {
        m = host_.load(name);
    } catch (const Error& e) {  // the file did not load (the error names it): no model is served now
        return error(Api::Completions, 500, e.what(), "model", out);
    }
    return out.reply(200, kJson,
                     dump_json(json{{"success", true},
                                    {"model", m->name},
                                    {"status", "loaded"},
                                    {"description", m->model.description()},
                                    {"n_ctx", m->scheduler.n_ctx()}}));
}

std::string ApiRoutes::metrics_text(ServedModel& m) {
    const SchedulerStats s = m.scheduler.current_stats();
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, auto value, const std::string& labels = {}) {
        if (out.find(std::string("# TYPE rocmforge:") + name + " ") == std::string::npos)
            out += fmt::format("# HELP rocmforge:{} {}\n# TYPE rocmforge:{} {}\n", name, help, name, type);
        out += fmt::format("rocmforge:{}{{model_name=\"{}\"{}}} {}\n", name, m.name, labels, value);
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
    metric("engine_pipelined_steps_total", "counter",
           "Forward steps fed tokens still on the device, launched before the host read them.", s.pipelined_steps);
    return out;
}

std::string ApiRoutes::status_json(ServedModel& m) {
    Scheduler& scheduler = m.scheduler;
    LoadedModel& model = m.model;
    const SchedulerStats s = scheduler.current_stats();
    json j = {{"model", m.name},
              {"description", model.description()},
              {"backend", model.backend().name()},
              {"n_ctx", scheduler.n_ctx()},
              {"n_parallel", scheduler.options().n_parallel},
              {"n_batch", scheduler.options().n_batch}};
    j["scheduler"] = {{"running", s.running},         {"waiting", s.waiting},
                      {"steps", s.steps},             {"prompt_tokens", s.prompt_tokens},
                      {"generated_tokens", s.generated_tokens}, {"max_batch_sequences", s.max_batch_seqs},
                      {"pipelined_steps", s.pipelined_steps}};
    j["prefix_cache"] = {{"max_entries", scheduler.options().prefix_cache_entries},
                         {"entries", s.prefix_cache.entries},
                         {"lookups", s.prefix_cache.lookups},
                         {"hits", s.prefix_cache.hits},
                         {"reused_tokens", s.prefix_cache.reused_tokens},
                         {"evictions", s.prefix_cache.evictions}};
    json memory;
    // Device state is read on the scheduler's thread, between steps.
    scheduler.call([&] {
        const KvCache& kv = model.kv();
        const uint64_t block_bytes = KvCache::bytes_per_block(kv.config(), model.model().kv_layer_shapes());
        j["kv_cache"] = {{"block_size", kv.block_size()},
                         {"blocks_total", kv.pool().n_blocks()},
                         {"blocks_free", kv.n_free_blocks()},
                         {"blocks_reserved", s.kv_blocks_reserved},
                         {"bytes", block_bytes * static_cast<uint64_t>(kv.pool().n_blocks())}};
        memory = {{"weights_bytes", model.model().weights().total_bytes},
                  {"kv_cache_bytes", block_bytes * static_cast<uint64_t>(kv.pool().n_blocks())}};
        if (auto* gpu = dynamic_cast<GpuBackend*>(&model.backend())) {
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

void ApiRoutes::embeddings(ServedModel& m, const std::string& text, ResponseWriter& out) {
    json body;
    try {
        body = json::parse(text);
    } catch (const json::parse_error& e) {
        return error(Api::Completions, 400, std::string("the request body is not valid JSON: ") + e.what(), "", out);
    }
    EmbeddingsRequest req;
    EmbedOptions options;
    try {
        const std::string model = string_field(body, "model", m.name);
        if (model != m.name)
            return error(Api::Completions, 404, "model: \"" + model + "\" is not served here (this server serves \"" + m.name + "\")",
                         "model", out);
        req = parse_embeddings_request(body, m.model.tokenizer(), m.scheduler.n_ctx(), m.model.model().config().n_embd);
        options.pooling = options_.pooling.empty() ? default_pooling(m.model.model().config()) : parse_pooling(options_.pooling);
    } catch (const ApiError& e) {
        return error(Api::Completions, e.status(), e.what(), e.param(), out);
    } catch (const Error& e) {  // (a model whose pooling this engine does not do)
        return error(Api::Completions, 400, e.what(), "model", out);
    }
    std::vector<std::vector<float>> vectors;
    try {
        vectors = m.scheduler.embed(req.inputs, options);
    } catch (const Error& e) {  // no room in the KV cache, or the model was unloaded
        return error(Api::Completions, 503, e.what(), "", out);
    }
    out.reply(200, kJson, dump_json(embeddings_response(vectors, req, m.name)));
}

void ApiRoutes::tokens(ServedModel& m, const std::string& path, const std::string& text, ResponseWriter& out) {
    const Api api = path == "/v1/messages/count_tokens" ? Api::Messages : Api::Completions;
    json body;
    try {
        body = json::parse(text);
    } catch (const json::parse_error& e) {
        return error(api, 400, std::string("the request body is not valid JSON: ") + e.what(), "", out);
    }
    const Tokenizer& tok = m.model.tokenizer();
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
                             dump_json(json{{"count", ids.size()}, {"max_model_len", m.scheduler.n_ctx()}, {"tokens", ids}}));
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

void ApiRoutes::generate(ServedModel& m, Api api, const std::string& text, ResponseWriter& out) {
    json body;
    try {
        body = json::parse(text);
    } catch (const json::parse_error& e) {
        return error(api, 400, std::string("the request body is not valid JSON: ") + e.what(), "", out);
    }
    ApiRequest req;
    ResponseContext ctx;
    try {
        const std::string model = string_field(body, "model", m.name);
        if (model != m.name)
            return error(api, 404, "model: \"" + model + "\" is not served here (this server serves \"" + m.name + "\")",
                         "model", out);
        const Tokenizer& tok = m.model.tokenizer();
        ctx = ResponseContext{&tok, m.name, "", unix_now()};
        switch (api) {
            case Api::Completions:
                req = parse_completion_request(body, tok);
                ctx.id = make_response_id("cmpl-");
                break;
            case Api::Chat:
                req = parse_chat_request(body, tok);
                ctx.id = make_response_id("chatcmpl-");
                break;
            case Api::Messages:
                req = parse_messages_request(body, tok);
                ctx.id = make_response_id("msg_");
                break;
        }
    } catch (const ApiError& e) {
        return error(api, e.status(), e.what(), e.param(), out);
    }
    // One request and formatter per choice (OpenAI's n; one elsewhere), the same response id.
    const int n = req.n;
    std::vector<std::unique_ptr<ResponseFormatter>> fmts;
    for (int i = 0; i < n; ++i) {
        ResponseContext c = ctx;
        c.index = i;
        fmts.push_back(api == Api::Completions ? make_completion_formatter(req, c)
                       : api == Api::Chat      ? make_chat_formatter(req, c)
                                               : make_messages_formatter(req, c));
    }
    std::vector<std::shared_ptr<RequestStream>> streams;
    auto cancel_all = [&] {
        for (auto& s : streams) s->cancel();
    };
    try {
        for (int i = 0; i < n; ++i) {
            GenerationParams g = req.gen;
            if (g.sampling.seed != kRandomSeed) g.sampling.seed += static_cast<uint64_t>(i);  // (each choice its own draws)
            streams.push_back(m.scheduler.submit(std::move(g)));
        }
    } catch (const Error& e) {
        cancel_all();
        // (a model unloaded since this request took it: the server, not the request, is at fault)
        return error(api, m.scheduler.stopped() ? 503 : 400, e.what(), "", out);
    }

    std::vector<std::string> texts(static_cast<size_t>(n));
    std::vector<std::vector<TokenOut>> tokens(static_cast<size_t>(n));
    std::vector<StreamEvent> ends(static_cast<size_t>(n));
    std::vector<bool> done(static_cast<size_t>(n), false);
    if (req.stream) {
        bool ok = out.begin_stream();
        for (int i = 0; i < n && ok; ++i) ok = out.write_chunk(fmts[static_cast<size_t>(i)]->stream_begin());
        if (!ok) return cancel_all();
    }
    const auto wait = std::chrono::milliseconds(n == 1 ? 100 : 5);
    for (int remaining = n; remaining > 0;) {
        bool any = false;
        for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
            StreamEvent ev;
            if (done[i] || !streams[i]->pop(ev, wait)) continue;
            any = true;
            ResponseFormatter& fmt = *fmts[i];
            switch (ev.kind) {
                case StreamEvent::Kind::Text:
                    if (req.stream) {
                        const std::string chunk = fmt.stream_text(ev);
                        if (!chunk.empty() && !out.write_chunk(chunk)) return cancel_all();
                    } else {
                        texts[i] += ev.text;
                        for (auto& t : ev.tokens) tokens[i].push_back(std::move(t));
                    }
                    break;
                case StreamEvent::Kind::Finished:
                    done[i] = true;
                    --remaining;
                    if (req.stream && !out.write_chunk(fmt.stream_choice_end(ev))) return cancel_all();
                    ends[i] = std::move(ev);
                    break;
                case StreamEvent::Kind::Failed:
                    cancel_all();
                    if (req.stream) {
                        (void)out.write_chunk(fmt.stream_error(ev.error));
                        out.end_stream();
                    } else {
                        error(api, 500, ev.error, "", out);
                    }
                    return;
            }
        }
        if (!any && out.client_gone()) return cancel_all();
    }
    int32_t generated = 0;
    for (const StreamEvent& e : ends) generated += e.n_generated;
    if (req.stream) {
        (void)out.write_chunk(fmts[0]->stream_close(ends[0].n_prompt, generated));
        out.end_stream();
        return;
    }
    json whole = fmts[0]->body(texts[0], tokens[0], ends[0]);
    for (size_t i = 1; i < static_cast<size_t>(n); ++i)
        whole["choices"].push_back(fmts[i]->body(texts[i], tokens[i], ends[i])["choices"][0]);
    if (n > 1) whole["usage"] = {{"prompt_tokens", ends[0].n_prompt}, {"completion_tokens", generated},
                                 {"total_tokens", ends[0].n_prompt + generated}};
    out.reply(200, kJson, dump_json(whole));
}

}  // namespace rf::server
