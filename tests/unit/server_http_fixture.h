// The HTTP tests' client helpers (a request over a real socket, server-sent events) and their fixture:
// a server on 127.0.0.1 (port 0) on the CPU with the embedded default model, and that model loaded
// beside it for reference runs.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/generator.h"
#include "engine/loaded_model.h"
#include "engine/session.h"
#include "server/api_routes.h"
#include "server/http_server.h"
#include "server/model_host.h"
#include "tokenizer/tokenizer.h"

namespace rf::server::http_test {


namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using nlohmann::json;

struct Reply {
    int status = 0;
    std::string content_type;
    std::string body;
    json body_json() const { return json::parse(body); }
};

inline Reply send(uint16_t port, http::verb verb, const std::string& target, const std::string& body,
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    net::io_context io;
    tcp::socket s(io);
    s.connect({net::ip::address_v4::loopback(), port});
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = body;
    req.prepare_payload();
    http::write(s, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(s, buf, parser);
    const auto& res = parser.get();
    return {static_cast<int>(res.result_int()), std::string(res[http::field::content_type]), res.body()};
}

inline Reply post(uint16_t port, const std::string& target, const json& body,
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return send(port, http::verb::post, target, body.dump(), headers);
}

// A long streamed completion left open: the socket, once the first token's chunk has arrived (in `seen`).
inline void open_long_stream(tcp::socket& s, uint16_t port, int max_tokens, std::string& seen) {
    s.connect({net::ip::address_v4::loopback(), port});
    http::request<http::string_body> req{http::verb::post, "/v1/completions", 11};
    req.set(http::field::host, "127.0.0.1");
    req.body() = json{{"prompt", "Hello"}, {"max_tokens", max_tokens}, {"ignore_eos", true}, {"stream", true}}.dump();
    req.prepare_payload();
    http::write(s, req);
    char buf[4096];
    while (seen.find("data: ") == std::string::npos) seen.append(buf, s.read_some(net::buffer(buf)));
}

// Server-sent events: (event name, data) in order.
inline std::vector<std::pair<std::string, std::string>> parse_sse(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    std::string event;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        const std::string line = text.substr(pos, end - pos);
        pos = end + 1;
        if (line.rfind("event: ", 0) == 0) event = line.substr(7);
        if (line.rfind("data: ", 0) == 0) {
            out.emplace_back(event, line.substr(6));
            event.clear();
        }
    }
    return out;
}

class ServerHttp : public ::testing::Test {
protected:
    static LoadOptions load_options() {
        LoadOptions o;
        o.backend.device = "cpu";
        o.backend.n_threads = 2;
        o.n_ctx = 256;
        o.n_seq_max = 4;
        o.n_batch = 64;
        return o;
    }
    // (the model the references are generated with: the server's host loads its own)
    static void SetUpTestSuite() { model_ = new LoadedModel(load_options()); }
    static void TearDownTestSuite() {
        delete model_;
        model_ = nullptr;
    }
    void SetUp() override { start(""); }
    void TearDown() override { stop(); }

    void start(const std::string& key, const std::string& models_dir = "", const std::string& pooling = "") {
        ModelHostOptions ho;
        ho.load = load_options();
        ho.load.chat_template = chat_template_;
        if (n_ctx_ > 0) ho.load.n_ctx = n_ctx_;
        ho.scheduler = SchedulerOptions{4, 64};
        ho.name = "tiny";
        ho.models_dir = models_dir;
        host_ = std::make_unique<ModelHost>(ho);
        routes_ = std::make_unique<ApiRoutes>(*host_, RouteOptions{key, pooling});
        HttpOptions h;
        h.port = 0;
        server_ = std::make_unique<HttpServer>(*routes_, h);
        thread_ = std::thread([this] { server_->run(); });
    }
    std::string chat_template_;  // start(): the model's template replaced ("": the model's own)
    int32_t n_ctx_ = 0;          // start(): another context size (0: load_options()'s)
    void stop() {
        server_->stop();
        thread_.join();
        server_.reset();
        routes_.reset();
        host_.reset();
    }
    uint16_t port() const { return server_->port(); }

    static std::string alone(const std::string& prompt_text, bool add_special, int32_t max_tokens) {
        Session s(model_->model(), model_->kv(), model_->n_ctx());
        GenerateOptions g;
        g.max_tokens = max_tokens;
        g.sampling.temperature = 0.0f;
        return generate(s, model_->tokenizer(), model_->tokenizer().encode(prompt_text, add_special, true), g).text;
    }

    inline static LoadedModel* model_ = nullptr;
    std::unique_ptr<ModelHost> host_;
    std::unique_ptr<ApiRoutes> routes_;
    std::unique_ptr<HttpServer> server_;
    std::thread thread_;
};

}  // namespace rf::server::http_test
