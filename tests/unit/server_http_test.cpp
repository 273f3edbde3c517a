// The server end to end over real sockets (port 0 on 127.0.0.1), on the CPU with the embedded
// default model: each API's whole and streamed responses (the stream's text equals the whole
// response's), errors that name the field and value, the API key, a client that goes away
// mid-stream, stopping with connections open, and loading / unloading models (--models-dir).
// (Structured output, embeddings and forced tool calls: server_http_structured_test.cpp.)
#include <gtest/gtest.h>

#include <cstring>

#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "engine/generator.h"
#include "engine/loaded_model.h"
#include "engine/session.h"
#include "server/api_routes.h"
#include "server/http_server.h"
#include "server/model_host.h"
#include "server/scheduler.h"
#include "server_http_fixture.h"
#include "tokenizer/tokenizer.h"

namespace rf::server {
namespace {

using namespace http_test;


TEST_F(ServerHttp, CompletionsWholeAndStreamedGiveTheSameText) {
    const std::string expected = alone("The Python interpreter", true, 16);
    const Reply r = post(port(), "/v1/completions", {{"model", "tiny"}, {"prompt", "The Python interpreter"}, {"max_tokens", 16}, {"temperature", 0}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    const json j = r.body_json();
    EXPECT_EQ(j["object"], "text_completion");
    EXPECT_EQ(j["model"], "tiny");
    EXPECT_EQ(j["choices"][0]["text"], expected);
    EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(j["usage"]["completion_tokens"], 16);
    EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"].get<int>() + 16);

    const Reply s = post(port(), "/v1/completions",
                         {{"prompt", "The Python interpreter"}, {"max_tokens", 16}, {"temperature", 0}, {"stream", true},
                          {"stream_options", {{"include_usage", true}}}});
    ASSERT_EQ(s.status, 200);
    EXPECT_EQ(s.content_type, "text/event-stream");
    const auto events = parse_sse(s.body);
    ASSERT_GE(events.size(), 4u);
    EXPECT_EQ(events.back().second, "[DONE]");
    std::string text;
    std::string finish;
    for (size_t i = 0; i + 1 < events.size(); ++i) {
        const json c = json::parse(events[i].second);
        if (c["choices"].empty()) {
            EXPECT_EQ(c["usage"]["completion_tokens"], 16);  // the include_usage chunk
            continue;
        }
        text += c["choices"][0]["text"].get<std::string>();
        if (!c["choices"][0]["finish_reason"].is_null()) finish = c["choices"][0]["finish_reason"];
    }
    EXPECT_EQ(text, expected);
    EXPECT_EQ(finish, "length");

    // Token ids as the prompt, logprobs and echo.
    const auto ids = model_->tokenizer().encode("The Python interpreter", true, true);
    const Reply t = post(port(), "/v1/completions", {{"prompt", ids}, {"max_tokens", 4}, {"temperature", 0}, {"logprobs", 3}, {"echo", true}});
    ASSERT_EQ(t.status, 200) << t.body;
    const json tj = t.body_json();
    EXPECT_EQ(tj["choices"][0]["text"], "The Python interpreter" + expected.substr(0, tj["choices"][0]["text"].get<std::string>().size() - 22));
    const json lp = tj["choices"][0]["logprobs"];
    ASSERT_EQ(lp["tokens"].size(), 4u);
    EXPECT_EQ(lp["top_logprobs"][0].size(), 3u);
    EXPECT_LE(lp["token_logprobs"][0].get<double>(), 0.0);
    EXPECT_EQ(lp["text_offset"][0], 22);  // after the echoed prompt
}

// logit_bias: a banned greedy first token changes the completion (the same as the CLI's --logit-bias).
TEST_F(ServerHttp, LogitBiasChangesTheCompletion) {
    const json body = {{"prompt", "The Python interpreter"}, {"max_tokens", 4}, {"temperature", 0}};
    const Reply plain = post(port(), "/v1/completions", body);
    json banned_body = body;
    banned_body["logit_bias"] = {{"305", -100}};
    const Reply banned = post(port(), "/v1/completions", banned_body);
    ASSERT_EQ(plain.status, 200) << plain.body;
    ASSERT_EQ(banned.status, 200) << banned.body;
    EXPECT_EQ(plain.body_json()["choices"][0]["text"].get<std::string>().rfind(" is", 0), 0u);
    EXPECT_NE(banned.body_json()["choices"][0]["text"].get<std::string>().rfind(" is", 0), 0u) << banned.body;
}

// n > 1: one request per choice, run together; greedy choices are the same text, sampled ones follow
// seed, seed + 1, ...; streamed, each chunk names its choice and the stream ends once, after the last.
TEST_F(ServerHttp, SeveralChoicesWholeAndStreamed) {
    const json greedy = {{"prompt", "The Python interpreter"}, {"max_tokens", 6}, {"temperature", 0}, {"n", 3}};
    const Reply r = post(port(), "/v1/completions", greedy);
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = r.body_json();
    ASSERT_EQ(j["choices"].size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(j["choices"][i]["index"], i);
        EXPECT_EQ(j["choices"][i]["text"], j["choices"][0]["text"]);
    }
    EXPECT_EQ(j["usage"]["completion_tokens"], 18);
    EXPECT_EQ(j["usage"]["total_tokens"], j["usage"]["prompt_tokens"].get<int>() + 18);

    json streamed = greedy;
    streamed["stream"] = true;
    streamed["stream_options"] = {{"include_usage", true}};
    const Reply s = post(port(), "/v1/completions", streamed);
    ASSERT_EQ(s.status, 200) << s.body;
    std::vector<std::string> texts(3);
    int finished = 0, usage_chunks = 0, done = 0;
    for (const auto& [event, data] : parse_sse(s.body)) {
        if (data == "[DONE]") {
            ++done;
            continue;
        }
        const json c = json::parse(data);
        if (c.contains("usage") && !c["usage"].is_null()) {
            ++usage_chunks;
            EXPECT_EQ(c["usage"]["completion_tokens"], 18);
            continue;
        }
        const int i = c["choices"][0]["index"];
        texts.at(static_cast<size_t>(i)) += c["choices"][0]["text"].get<std::string>();
        if (!c["choices"][0]["finish_reason"].is_null()) ++finished;
    }
    EXPECT_EQ(finished, 3);
    EXPECT_EQ(usage_chunks, 1);
    EXPECT_EQ(done, 1);
    for (const std::string& t : texts) EXPECT_EQ(t, j["choices"][0]["text"].get<std::string>());

    // sampled: each choice its own seed (the same two texts again for the same request)
    const json sampled = {{"messages", json::array({{{"role", "user"}, {"content", "Tell me a story."}}})},
                          {"max_tokens", 12}, {"temperature", 1.0}, {"seed", 42}, {"n", 2}};
    const json a = post(port(), "/v1/chat/completions", sampled).body_json();
    ASSERT_EQ(a["choices"].size(), 2u) << a.dump();
    EXPECT_NE(a["choices"][0]["message"]["content"], a["choices"][1]["message"]["content"]);
    EXPECT_EQ(a["choices"][1]["index"], 1);
}

TEST_F(ServerHttp, ChatStreamEqualsTheWholeReply) {
    const json body = {{"messages", {{{"role", "system"}, {"content", "Be brief."}},
                                     {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Hello"}}}}}}},
                       {"max_tokens", 12}, {"temperature", 0}, {"logprobs", true}, {"top_logprobs", 2}};
    const Reply r = post(port(), "/v1/chat/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = r.body_json();
    EXPECT_EQ(j["object"], "chat.completion");
    EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
    const std::string whole = j["choices"][0]["message"]["content"];
    EXPECT_FALSE(whole.empty());
    EXPECT_EQ(j["choices"][0]["logprobs"]["content"][0]["top_logprobs"].size(), 2u);

    json sb = body;
    sb["stream"] = true;
    const Reply s = post(port(), "/v1/chat/completions", sb);
    ASSERT_EQ(s.status, 200);
    const auto events = parse_sse(s.body);
    ASSERT_GE(events.size(), 3u);
    EXPECT_EQ(json::parse(events[0].second)["choices"][0]["delta"]["role"], "assistant");
    std::string text;
    for (size_t i = 1; i + 1 < events.size(); ++i) {
        const json c = json::parse(events[i].second);
        EXPECT_EQ(c["object"], "chat.completion.chunk");
        if (c["choices"][0]["delta"].contains("content")) text += c["choices"][0]["delta"]["content"].get<std::string>();
    }
    EXPECT_EQ(text, whole);
    EXPECT_EQ(events.back().second, "[DONE]");
}

TEST_F(ServerHttp, AnthropicMessagesAndTheirEventStream) {
    const json body = {{"model", "tiny"}, {"max_tokens", 10}, {"temperature", 0},
                       {"system", {{{"type", "text"}, {"text", "Be brief."}}}},
                       {"messages", {{{"role", "user"}, {"content", "Hello"}}}}};
    const Reply r = post(port(), "/v1/messages", body);
    ASSERT_EQ(r.status, 200) << r.body;
    const json j = r.body_json();
    EXPECT_EQ(j["type"], "message");
    EXPECT_EQ(j["role"], "assistant");
    EXPECT_EQ(j["content"][0]["type"], "text");
    EXPECT_EQ(j["usage"]["output_tokens"], 10);
    EXPECT_EQ(j["stop_reason"], "max_tokens");
    const std::string whole = j["content"][0]["text"];

    json sb = body;
    sb["stream"] = true;
    const auto events = parse_sse(post(port(), "/v1/messages", sb).body);
    ASSERT_GE(events.size(), 5u);
    EXPECT_EQ(events[0].first, "message_start");
    EXPECT_EQ(json::parse(events[0].second)["message"]["usage"]["input_tokens"], j["usage"]["input_tokens"]);
    EXPECT_EQ(events[1].first, "content_block_start");
    std::string text;
    size_t i = 2;
    for (; i < events.size() && events[i].first == "content_block_delta"; ++i)
        text += json::parse(events[i].second)["delta"]["text"].get<std::string>();
    EXPECT_EQ(text, whole);
    ASSERT_EQ(events.size(), i + 3);
    EXPECT_EQ(events[i].first, "content_block_stop");
    EXPECT_EQ(events[i + 1].first, "message_delta");
    EXPECT_EQ(json::parse(events[i + 1].second)["delta"]["stop_reason"], "max_tokens");
    EXPECT_EQ(events[i + 2].first, "message_stop");

    // A stop sequence ends the message and is named.
    ASSERT_GE(whole.size(), 3u);
    json stop = body;
    stop["stop_sequences"] = {whole.substr(1, 2)};
    const json sj = post(port(), "/v1/messages", stop).body_json();
    EXPECT_EQ(sj["stop_reason"], "stop_sequence");
    EXPECT_EQ(sj["stop_sequence"], whole.substr(1, 2));
    EXPECT_EQ(sj["content"][0]["text"], whole.substr(0, whole.find(whole.substr(1, 2))));
}

TEST_F(ServerHttp, BadRequestsNameTheFieldAndValue) {
    auto expect_error = [&](const std::string& target, const std::string& body, int status, const std::string& words) {
        const Reply r = send(port(), http::verb::post, target, body);
        EXPECT_EQ(r.status, status) << body << " -> " << r.body;
        const std::string message = r.body_json()["error"]["message"];  // (both APIs' error bodies)
        EXPECT_NE(message.find(words), std::string::npos) << body << " -> " << message;
    };
    expect_error("/v1/completions", R"({"prompt": "x",)", 400, "not valid JSON");
    expect_error("/v1/completions", R"([1, 2])", 400, "must be a JSON object");
    expect_error("/v1/completions", R"({"max_tokens": 4})", 400, "prompt: missing required field");
    expect_error("/v1/completions", R"({"prompt": "x", "temperature": 5})", 400, "temperature: 5 is out of range [0, 2]");
    expect_error("/v1/completions", R"({"prompt": "x", "max_tokens": "ten"})", 400, "max_tokens: expected an integer, got \"ten\"");
    expect_error("/v1/completions", R"({"prompt": "x", "max_tokens": 1000})", 400, "above the context size 256");
    expect_error("/v1/completions", R"({"prompt": "x", "n": 17})", 400, "n: 17 is out of range [1, 16]");
    expect_error("/v1/completions", R"({"prompt": [1, 99999999]})", 400, "prompt[1]: token id 99999999 out of range");
    expect_error("/v1/completions", R"({"prompt": "x", "model": "gpt-4"})", 404, "\"gpt-4\" is not served here");
    expect_error("/v1/chat/completions", R"({"messages": []})", 400, "messages: expected a non-empty array");
    expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", 400,
                 "messages[0].content[0].type: \"image_url\" is not supported");
    expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})",
                 400, "tools[0].function: expected an object");
    // (the embedded model's template shows no tools: refused, not ignored; server_tool_calls_test.cpp has a template that does)
    expect_error("/v1/chat/completions",
                 R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f"}}]})",
                 400, "this model's chat template does not show tools to the model");
    expect_error("/v1/completions", R"({"prompt": "x", "logit_bias": {"abc": 1}})", 400,
                 "logit_bias: key \"abc\" is not a token id");
    expect_error("/v1/chat/completions", R"({"messages": [{"role": "user", "content": "x"}], "logit_bias": {"12": 200}})", 400,
                 "logit_bias[\"12\"]: 200 (a number in [-100, 100])");
    expect_error("/v1/completions", R"({"prompt": "x", "tools": [{"type": "function", "function": {"name": "f"}}]})", 400,
                 "no tool calls on /v1/completions");
    expect_error("/v1/chat/completions", R"({"messages": [{"role": "wizard", "content": "x"}]})", 400, "messages[0].role");
    expect_error("/v1/messages", R"({"messages": [{"role": "user", "content": "x"}]})", 400, "max_tokens: missing required field");
    expect_error("/v1/messages", R"({"max_tokens": 4, "temperature": 1.5, "messages": [{"role": "user", "content": "x"}]})", 400,
                 "temperature: 1.5 is out of range [0, 1]");
    const Reply anth = send(port(), http::verb::post, "/v1/messages", R"({"max_tokens": 4})");
    EXPECT_EQ(anth.body_json()["type"], "error");
    EXPECT_EQ(anth.body_json()["error"]["type"], "invalid_request_error");

    const Reply missing = send(port(), http::verb::get, "/v1/nothing", "");
    EXPECT_EQ(missing.status, 404);
    const Reply method = send(port(), http::verb::get, "/v1/completions", "");
    EXPECT_EQ(method.status, 405);
    EXPECT_NE(method.body.find("use POST"), std::string::npos) << method.body;
}

TEST_F(ServerHttp, ModelsStatusAndTheApiKey) {
    const Reply m = send(port(), http::verb::get, "/v1/models", "");
    ASSERT_EQ(m.status, 200);
    EXPECT_EQ(m.body_json()["data"][0]["id"], "tiny");
    EXPECT_EQ(m.body_json()["data"][0]["max_model_len"], 256);
    const json st = send(port(), http::verb::get, "/status", "").body_json();
    EXPECT_EQ(st["kv_cache"]["blocks_total"], 64);  // 4 x 256 / 16
    EXPECT_GT(st["memory"]["weights_bytes"].get<int64_t>(), 1000000);
    EXPECT_EQ(st["backend"].get<std::string>().rfind("cpu", 0), 0u);

    stop();
    start("secret");
    const json body = {{"prompt", "x"}, {"max_tokens", 1}};
    EXPECT_EQ(post(port(), "/v1/completions", body).status, 401);
    EXPECT_EQ(post(port(), "/v1/completions", body, {{"Authorization", "Bearer wrong"}}).status, 401);
    EXPECT_EQ(post(port(), "/v1/completions", body, {{"Authorization", "Bearer secret"}}).status, 200);
    EXPECT_EQ(post(port(), "/v1/messages", {{"max_tokens", 1}, {"messages", {{{"role", "user"}, {"content", "x"}}}}},
                   {{"x-api-key", "secret"}}).status, 200);
    EXPECT_EQ(send(port(), http::verb::get, "/health", "").status, 200);  // (open: a load balancer's probe)
}

// vLLM's /tokenize and /detokenize, Anthropic's /v1/messages/count_tokens: the same tokens the
// generation endpoints feed.
TEST_F(ServerHttp, TokenizeDetokenizeAndCountTokens) {
    const Tokenizer& tok = model_->tokenizer();
    const json t = post(port(), "/tokenize", {{"prompt", "The Python interpreter"}}).body_json();
    const auto ids = tok.encode("The Python interpreter", true, true);
    EXPECT_EQ(t["tokens"].get<std::vector<int32_t>>(), ids);
    EXPECT_EQ(t["count"], ids.size());
    EXPECT_EQ(t["max_model_len"], 256);
    const json d = post(port(), "/detokenize", {{"tokens", ids}}).body_json();
    EXPECT_EQ(d["prompt"], "The Python interpreter");
    // chat messages: as many tokens as the chat completion reports for its prompt
    const json msgs = json::array({{{"role", "user"}, {"content", "Hello"}}});
    const json chat = post(port(), "/tokenize", {{"messages", msgs}}).body_json();
    const json usage = post(port(), "/v1/chat/completions", {{"messages", msgs}, {"max_tokens", 1}}).body_json()["usage"];
    EXPECT_EQ(chat["count"], usage["prompt_tokens"]);
    const json count = post(port(), "/v1/messages/count_tokens", {{"messages", msgs}, {"system", "Be brief."}}).body_json();
    const json msg = post(port(), "/v1/messages", {{"messages", msgs}, {"system", "Be brief."}, {"max_tokens", 1}}).body_json();
    EXPECT_EQ(count["input_tokens"], msg["usage"]["input_tokens"]);
    const Reply bad = post(port(), "/detokenize", {{"tokens", {1, -4}}});
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body_json()["error"]["message"].get<std::string>().find("tokens[1]: -4 is not a token id"), std::string::npos)
        << bad.body;
    EXPECT_EQ(post(port(), "/tokenize", json::object()).status, 400);  // neither prompt nor messages
}

// GET /metrics: Prometheus text with the counters of what ran.
TEST_F(ServerHttp, MetricsCountWhatRan) {
    const std::string prompt = "Hello world, this is a test";
    ASSERT_EQ(post(port(), "/v1/completions", {{"prompt", prompt}, {"max_tokens", 5}, {"temperature", 0}, {"ignore_eos", true}}).status,
              200);
    ASSERT_EQ(post(port(), "/v1/completions", {{"prompt", prompt}, {"max_tokens", 3}, {"stop", "zzzz"}, {"ignore_eos", true}}).status,
              200);
    const Reply m = send(port(), http::verb::get, "/metrics", "");
    ASSERT_EQ(m.status, 200);
    EXPECT_EQ(m.content_type.rfind("text/plain", 0), 0u) << m.content_type;
    const auto value = [&](const std::string& series) {
        const size_t at = m.body.find(series + " ");
        if (at == std::string::npos) return -1.0;
        return std::stod(m.body.substr(at + series.size() + 1));
    };
    EXPECT_EQ(value("rocmforge:generation_tokens_total{model_name=\"tiny\"}"), 8.0) << m.body;
    EXPECT_EQ(value("rocmforge:request_success_total{model_name=\"tiny\",finished_reason=\"length\"}"), 2.0) << m.body;
    EXPECT_EQ(value("rocmforge:num_requests_running{model_name=\"tiny\"}"), 0.0) << m.body;
    EXPECT_GT(value("rocmforge:kv_cache_usage_perc{model_name=\"tiny\"}"), 0.0) << "(the kept prefixes hold blocks)";
    EXPECT_EQ(value("rocmforge:prefix_cache_hits_total{model_name=\"tiny\"}"), 1.0) << m.body;
    EXPECT_NE(m.body.find("# TYPE rocmforge:request_success_total counter"), std::string::npos);
}

// Requests from several connections at once run in shared steps and each gets its own text (its
// first 8 tokens as when it runs alone: later, batched steps may round a near tie the other way;
// server_scheduler_test.cpp).
TEST_F(ServerHttp, ConcurrentClientsGetTheirOwnText) {
    const std::vector<std::string> prompts = {"The Python interpreter", "Hello world", "Once upon a time", "import numpy"};
    std::vector<std::string> expected, got(prompts.size());
    for (const auto& p : prompts) {
        Session s(model_->model(), model_->kv(), model_->n_ctx());
        GenerateOptions g;
        g.max_tokens = 8;
        g.sampling.temperature = 0.0f;
        expected.push_back(generate(s, model_->tokenizer(), model_->tokenizer().encode(p, true, true), g).text);
    }
    std::vector<std::thread> clients;
    for (size_t i = 0; i < prompts.size(); ++i)
        clients.emplace_back([&, i] {
            const Reply r = post(port(), "/v1/completions", {{"prompt", prompts[i]}, {"max_tokens", 20}, {"temperature", 0}});
            got[i] = r.status == 200 ? r.body_json()["choices"][0]["text"].get<std::string>() : r.body;
        });
    for (auto& c : clients) c.join();
    for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(got[i].substr(0, expected[i].size()), expected[i]) << prompts[i];
}

// A client that closes its connection mid-stream cancels its request: the KV cache is whole again.
TEST_F(ServerHttp, AClientGoneMidStreamCancelsItsRequest) {
    {
        net::io_context io;
        tcp::socket s(io);
        std::string seen;
        open_long_stream(s, port(), 250, seen);
    }  // (closed mid-stream)
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    json st;
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        st = send(port(), http::verb::get, "/status", "").body_json();
    } while ((st["scheduler"]["running"] != 0 || st["scheduler"]["waiting"] != 0) &&
             std::chrono::steady_clock::now() < deadline);
    EXPECT_EQ(st["scheduler"]["running"], 0);
    EXPECT_GT(st["scheduler"]["generated_tokens"].get<int>(), 0);
    EXPECT_EQ(st["kv_cache"]["blocks_free"], st["kv_cache"]["blocks_total"]);
    EXPECT_LT(st["scheduler"]["generated_tokens"].get<int>(), 250) << "the request ran to its end";
}

// llama.cpp's router endpoints over a models directory: GET /models lists its files, POST
// /models/load swaps the served model (a request running on the old one ends with an error naming
// the unload, its KV and memory freed), /models/unload leaves none (the model endpoints answer 503
// naming how to load one); names that are not files of the directory, and a file that does not
// load, are refused with the model named.
TEST_F(ServerHttp, ModelsLoadAndUnloadFromTheModelsDirectory) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("rf_models_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(fs::path(ROCMFORGE_SOURCE_DIR) / "models" / "tiny-qwen3-q8_0.gguf", dir / "tiny-a.gguf",
                  fs::copy_options::overwrite_existing);
    std::ofstream(dir / "broken.gguf") << "GGUF but not one";
    stop();
    start("", dir.string());

    json list = send(port(), http::verb::get, "/models", "").body_json();
    ASSERT_EQ(list["data"].size(), 3u) << list.dump();  // broken, tiny-a, and the startup model "tiny"
    EXPECT_EQ(list["data"][0]["id"], "broken");
    EXPECT_EQ(list["data"][1]["id"], "tiny-a");
    EXPECT_EQ(list["data"][1]["status"]["value"], "unloaded");
    EXPECT_EQ(list["data"][2]["id"], "tiny");
    EXPECT_EQ(list["data"][2]["status"]["value"], "loaded");

    // a long request on the startup model, then a load in its place
    net::io_context io;
    tcp::socket s(io);
    std::string seen;
    open_long_stream(s, port(), 200, seen);

    const Reply loaded = post(port(), "/models/load", {{"model", "tiny-a"}});
    ASSERT_EQ(loaded.status, 200) << loaded.body;
    EXPECT_EQ(loaded.body_json()["model"], "tiny-a");
    boost::system::error_code ec;
    char buf[4096];
    for (;;) {  // the old model's stream ended with the unload's error
        const size_t n = s.read_some(net::buffer(buf), ec);
        if (ec) break;
        seen.append(buf, n);
        if (seen.find("[DONE]") != std::string::npos) break;
    }
    EXPECT_NE(seen.find("model \\\"tiny\\\" was unloaded"), std::string::npos) << seen.substr(seen.size() > 400 ? seen.size() - 400 : 0);

    list = send(port(), http::verb::get, "/models", "").body_json();
    ASSERT_EQ(list["data"].size(), 2u) << list.dump();
    EXPECT_EQ(list["data"][1]["status"]["value"], "loaded");
    EXPECT_EQ(send(port(), http::verb::get, "/v1/models", "").body_json()["data"][0]["id"], "tiny-a");
    const std::string expected = alone("The Python interpreter", true, 8);
    Reply r = post(port(), "/v1/completions", {{"model", "tiny-a"}, {"prompt", "The Python interpreter"}, {"max_tokens", 8}, {"temperature", 0}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body_json()["choices"][0]["text"], expected);
    EXPECT_EQ(post(port(), "/v1/completions", {{"model", "tiny"}, {"prompt", "x"}, {"max_tokens", 1}}).status, 404);
    const json st = send(port(), http::verb::get, "/status", "").body_json();
    EXPECT_EQ(st["model"], "tiny-a");
    EXPECT_EQ(st["scheduler"]["running"], 0);
    EXPECT_EQ(st["kv_cache"]["blocks_reserved"], 0);  // (the finished request's blocks kept by the prefix cache)

    // refusals name the model; nothing changes
    for (const char* bad : {"nope", "../tiny-a", "/etc/passwd"}) {
        r = post(port(), "/models/load", {{"model", bad}});
        EXPECT_EQ(r.status, 404) << bad;
        EXPECT_NE(r.body.find(bad), std::string::npos) << r.body;
    }
    EXPECT_EQ(post(port(), "/models/load", {{"modle", "tiny-a"}}).status, 400);
    r = post(port(), "/models/unload", {{"model", "tiny"}});
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("\\\"tiny-a\\\" is"), std::string::npos) << r.body;

    // unload: no model; then a file that does not load leaves none, and a good one serves again
    r = post(port(), "/models/unload", {{"model", "tiny-a"}});
    ASSERT_EQ(r.status, 200) << r.body;
    r = post(port(), "/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {"max_tokens", 1}});
    EXPECT_EQ(r.status, 503);
    EXPECT_NE(r.body.find("/models/load"), std::string::npos) << r.body;
    EXPECT_EQ(send(port(), http::verb::get, "/v1/models", "").body_json()["data"].size(), 0u);
    EXPECT_EQ(send(port(), http::verb::get, "/health", "").status, 200);
    r = post(port(), "/models/load", {{"model", "broken"}});
    EXPECT_EQ(r.status, 500);
    EXPECT_NE(r.body.find("broken.gguf"), std::string::npos) << r.body;
    ASSERT_EQ(post(port(), "/models/load", {{"model", "tiny-a.gguf"}}).status, 200);
    r = post(port(), "/v1/completions", {{"prompt", "The Python interpreter"}, {"max_tokens", 8}, {"temperature", 0}});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body_json()["choices"][0]["text"], expected);
    // unload takes the file name as load does
    r = post(port(), "/models/unload", {{"model", "tiny-a.gguf"}});
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(post(port(), "/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}}).status, 503);

    // without --models-dir loading is off
    stop();
    start("");
    r = post(port(), "/models/load", {{"model", "tiny-a"}});
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("--models-dir"), std::string::npos) << r.body;
    fs::remove_all(dir);
}

// A startup model named as a file of the models directory: the list holds one entry of that id, the
// model served (its own path), not a second, unloaded one for the file.
TEST_F(ServerHttp, ModelsListOneEntryPerId) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("rf_models_same_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    fs::copy_file(fs::path(ROCMFORGE_SOURCE_DIR) / "models" / "tiny-qwen3-q8_0.gguf", dir / "tiny.gguf",
                  fs::copy_options::overwrite_existing);
    fs::copy_file(fs::path(ROCMFORGE_SOURCE_DIR) / "models" / "tiny-qwen3-q8_0.gguf", dir / "other.gguf",
                  fs::copy_options::overwrite_existing);
    stop();
    start("", dir.string());
    const json list = send(port(), http::verb::get, "/models", "").body_json();
    ASSERT_EQ(list["data"].size(), 2u) << list.dump();
    EXPECT_EQ(list["data"][0]["id"], "other");
    EXPECT_EQ(list["data"][0]["status"]["value"], "unloaded");
    EXPECT_EQ(list["data"][1]["id"], "tiny");
    EXPECT_EQ(list["data"][1]["status"]["value"], "loaded");
    EXPECT_NE(list["data"][1]["path"], (dir / "tiny.gguf").string()) << "the served model's entry, not the file's";
    stop();
    start("");
    fs::remove_all(dir);
}

// stop() returns promptly although a client keeps an idle keep-alive connection open.
TEST_F(ServerHttp, StopClosesIdleConnections) {
    net::io_context io;
    tcp::socket s(io);
    s.connect({net::ip::address_v4::loopback(), port()});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const auto t0 = std::chrono::steady_clock::now();
    stop();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    start("");  // (TearDown stops again)
}

}  // namespace
}  // namespace rf::server
