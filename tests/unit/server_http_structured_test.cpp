// Structured output, embeddings and forced tool calls over HTTP (the fixture of server_http_fixture.h):
// response_format, /v1/embeddings, tool_choice required / named (OpenAI) and any / tool (Anthropic).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/embedding.h"
#include "server_http_fixture.h"

namespace rf::server {
namespace {

using namespace http_test;

// response_format: the reply is a document of the JSON schema (json_schema) or a JSON object
// (json_object), whole and streamed alike; what the schema subset does not take is a 400 naming it.
TEST_F(ServerHttp, ResponseFormatMakesTheReplyAJsonDocument) {
    const json person = json::parse(R"({"type": "object", "properties": {"name": {"type": "string"},
        "age": {"type": "integer"}}, "required": ["name", "age"], "additionalProperties": false})");
    json body = {{"prompt", "A person: "}, {"max_tokens", 200}, {"temperature", 0},
                 {"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "person"}, {"schema", person}, {"strict", true}}}}}};
    const Reply r = post(port(), "/v1/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body_json()["choices"][0]["finish_reason"], "stop");
    const std::string text = r.body_json()["choices"][0]["text"];
    json v;
    ASSERT_NO_THROW(v = json::parse(text)) << text;
    EXPECT_TRUE(v["name"].is_string() && v["age"].is_number_integer() && v.size() == 2) << text;
    body["stream"] = true;
    const Reply s = post(port(), "/v1/completions", body);
    std::string streamed;
    for (const auto& [event, data] : parse_sse(s.body))
        if (data != "[DONE]") streamed += json::parse(data)["choices"][0]["text"].get<std::string>();
    EXPECT_EQ(streamed, text);
    // vLLM's guided_json and llama.cpp's json_schema (here as text) are the same constraint
    body["stream"] = false;
    for (const auto& [field, value] : {std::pair<const char*, json>{"guided_json", person}, {"json_schema", person.dump()}}) {
        json b = body;
        b.erase("response_format");
        b[field] = value;
        EXPECT_EQ(post(port(), "/v1/completions", b).body_json()["choices"][0]["text"], text) << field;
    }
    json both = body;
    both["guided_json"] = person;
    const Reply twice = post(port(), "/v1/completions", both);
    EXPECT_EQ(twice.status, 400) << twice.body;
    EXPECT_NE(twice.body.find("only one of response_format, guided_json and json_schema"), std::string::npos) << twice.body;
    // plain text differs (the constraint acts)
    body.erase("response_format");
    EXPECT_NE(post(port(), "/v1/completions", body).body_json()["choices"][0]["text"], text);

    const json chat = {{"messages", {{{"role", "user"}, {"content", "A person: "}}}}, {"max_tokens", 200}, {"temperature", 0},
                       {"response_format", {{"type", "json_object"}}}};
    const Reply c = post(port(), "/v1/chat/completions", chat);
    ASSERT_EQ(c.status, 200) << c.body;
    const std::string reply = c.body_json()["choices"][0]["message"]["content"];
    if (c.body_json()["choices"][0]["finish_reason"] == "stop") {
        EXPECT_TRUE(json::parse(reply).is_object()) << reply;
    } else {  // cut by max_tokens: a prefix of an object
        EXPECT_EQ(reply.find_first_not_of(" \n"), reply.find('{')) << reply;
    }

    auto refused = [&](const json& format, const std::string& words) {
        const Reply e = post(port(), "/v1/completions", {{"prompt", "x"}, {"response_format", format}});
        EXPECT_EQ(e.status, 400) << e.body;
        EXPECT_EQ(e.body_json()["error"]["param"], "response_format") << e.body;
        EXPECT_NE(e.body.find(words), std::string::npos) << e.body;
    };
    refused({{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "object"}, {"not", {{"required", {"a"}}}}}}}}}, "\\\"not\\\"");
    refused({{"type", "json_schema"}, {"json_schema", {{"schema", {{"type", "string"}, {"pattern", "a("}}}}}}, "a(");
    refused({{"type", "json_schema"}, {"json_schema", {{"name", "x"}}}}, "json_schema.schema: required");
    refused({{"type", "yaml"}}, "\\\"yaml\\\" is not supported");
    refused("json", "expected {");
    EXPECT_EQ(post(port(), "/v1/completions", {{"prompt", "x"}, {"max_tokens", 1}, {"response_format", {{"type", "text"}}}}).status, 200);
}

// /v1/embeddings: the engine's vectors (last-token pooling, normalised) for a string, several strings
// or token ids, as floats or base64; --pooling picks another pooling; bad inputs name the field.
TEST_F(ServerHttp, EmbeddingsAreTheEnginesVectors) {
    const auto ids = model_->tokenizer().encode("The Python interpreter", true, true);
    const std::vector<float> want = embed_tokens(model_->model(), model_->kv(), ids, 256, EmbedOptions{});
    Reply r = post(port(), "/v1/embeddings", {{"input", "The Python interpreter"}, {"model", "tiny"}});
    ASSERT_EQ(r.status, 200) << r.body;
    json j = r.body_json();
    EXPECT_EQ(j["object"], "list");
    EXPECT_EQ(j["model"], "tiny");
    EXPECT_EQ(j["usage"]["prompt_tokens"], ids.size());
    const std::vector<float> got = j["data"][0]["embedding"].get<std::vector<float>>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6) << i;

    r = post(port(), "/v1/embeddings", {{"input", {"Other words", "The Python interpreter"}}});
    j = r.body_json();
    ASSERT_EQ(j["data"].size(), 2u);
    EXPECT_EQ(j["data"][1]["index"], 1);
    EXPECT_EQ(j["data"][1]["embedding"].get<std::vector<float>>(), got);
    EXPECT_NE(j["data"][0]["embedding"].get<std::vector<float>>(), got);
    r = post(port(), "/v1/embeddings", {{"input", {ids}}, {"encoding_format", "base64"}});
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string b64 = r.body_json()["data"][0]["embedding"];
    EXPECT_EQ(b64.size(), (got.size() * 4 + 2) / 3 * 4);
    // (decoded: the same floats)
    std::string bytes;
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i + 3 < b64.size(); i += 4) {
        uint32_t v = 0;
        for (int k = 0; k < 4; ++k) v = (v << 6) | static_cast<uint32_t>(b64[i + k] == '=' ? 0 : alphabet.find(b64[i + k]));
        bytes += static_cast<char>(v >> 16);
        bytes += static_cast<char>(v >> 8);
        bytes += static_cast<char>(v);
    }
    std::vector<float> decoded(got.size());
    std::memcpy(decoded.data(), bytes.data(), decoded.size() * 4);
    EXPECT_EQ(decoded, got);

    auto refused = [&](const json& body, int status, const std::string& words) {
        const Reply e = post(port(), "/v1/embeddings", body);
        EXPECT_EQ(e.status, status) << body.dump() << " -> " << e.body;
        EXPECT_NE(e.body.find(words), std::string::npos) << e.body;
    };
    refused({{"input", ""}}, 400, "an empty string has no embedding");
    refused({{"input", json::array()}}, 400, "input: expected a string or a non-empty array");
    refused({{"model", "tiny"}}, 400, "input: missing required field");
    refused({{"input", {1, 999999999}}}, 400, "input[1]: 999999999 is not a token id");
    refused({{"input", std::string(2000, 'x') + " " + std::string(2000, 'y')}}, 400, "more than the context size 256");
    refused({{"input", "x"}, {"dimensions", 7}}, 400, "dimensions: 7");
    refused({{"input", "x"}, {"encoding_format", "int8"}}, 400, "encoding_format");
    refused({{"input", "x"}, {"model", "other"}}, 404, "is not served here");

    // another pooling: another vector
    stop();
    start("", "", "mean");
    r = post(port(), "/v1/embeddings", {{"input", "The Python interpreter"}});
    ASSERT_EQ(r.status, 200) << r.body;
    EmbedOptions mean;
    mean.pooling = Pooling::Mean;
    const std::vector<float> want_mean = embed_tokens(model_->model(), model_->kv(), ids, 256, mean);
    const std::vector<float> got_mean = r.body_json()["data"][0]["embedding"].get<std::vector<float>>();
    for (size_t i = 0; i < got_mean.size(); ++i) ASSERT_NEAR(got_mean[i], want_mean[i], 1e-6) << i;
}

// tool_choice "required" / a named function: the reply is one tool call whose JSON the sampler holds to
// the tool's parameters (the embedded model's template replaced by Qwen3's, which shows tools), whole and
// streamed; refusals name tool_choice or the tool's parameters.
TEST_F(ServerHttp, ForcedToolChoiceGivesOneCallOfTheTool) {
    stop();
    std::ifstream f(std::filesystem::path(ROCMFORGE_SOURCE_DIR) / "tests" / "fixtures" / "jinja" / "templates" / "qwen3.jinja");
    std::stringstream ss;
    ss << f.rdbuf();
    chat_template_ = ss.str();
    ASSERT_FALSE(chat_template_.empty());
    n_ctx_ = 1024;  // (Qwen3's tool preamble: ~250 tokens)
    start("");
    const json tools = json::parse(R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                       "required": ["city"]}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}])");
    json body = {{"messages", {{{"role", "user"}, {"content", "What is the weather in Paris?"}}}}, {"tools", tools},
                 {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}}, {"max_tokens", 120}, {"temperature", 0}};
    Reply r = post(port(), "/v1/chat/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    json choice = r.body_json()["choices"][0];
    EXPECT_EQ(choice["finish_reason"], "tool_calls") << r.body;
    ASSERT_EQ(choice["message"]["tool_calls"].size(), 1u) << r.body;
    const json call = choice["message"]["tool_calls"][0];
    EXPECT_EQ(call["function"]["name"], "get_weather");
    const json args = json::parse(call["function"]["arguments"].get<std::string>());
    EXPECT_TRUE(args["city"].is_string()) << args.dump();
    for (const auto& [k, v] : args.items()) EXPECT_TRUE(k == "city" || (k == "days" && v.is_number_integer())) << args.dump();
    EXPECT_TRUE(choice["message"]["content"].is_null()) << r.body;

    body["stream"] = true;
    const Reply s = post(port(), "/v1/chat/completions", body);
    json streamed_call;
    std::string finish;
    for (const auto& [event, data] : parse_sse(s.body)) {
        if (data == "[DONE]") continue;
        const json c = json::parse(data);
        if (c["choices"].empty()) continue;
        const json& d = c["choices"][0]["delta"];
        if (d.contains("tool_calls")) streamed_call = d["tool_calls"][0];
        if (!c["choices"][0]["finish_reason"].is_null()) finish = c["choices"][0]["finish_reason"];
        EXPECT_TRUE(!d.contains("content") || d["content"] == "") << data;
    }
    EXPECT_EQ(finish, "tool_calls");
    EXPECT_EQ(streamed_call["function"], call["function"]);

    // cut by max_tokens: no call, the generated JSON as the content (without the block's lines), streamed alike
    json cut = body;
    cut["max_tokens"] = 4;
    cut["stream"] = false;
    r = post(port(), "/v1/chat/completions", cut);
    EXPECT_EQ(r.body_json()["choices"][0]["finish_reason"], "length") << r.body;
    const std::string cut_text = r.body_json()["choices"][0]["message"]["content"];
    EXPECT_EQ(cut_text.find("<tool_call>"), std::string::npos) << cut_text;
    EXPECT_NE(cut_text.find('{'), std::string::npos) << cut_text;
    cut["stream"] = true;
    std::string cut_streamed;
    for (const auto& [event, data] : parse_sse(post(port(), "/v1/chat/completions", cut).body)) {
        if (data == "[DONE]") continue;
        const json c = json::parse(data);
        if (!c["choices"].empty() && c["choices"][0]["delta"].contains("content"))
            cut_streamed += c["choices"][0]["delta"]["content"].get<std::string>();
    }
    EXPECT_EQ(cut_streamed, cut_text);

    body["stream"] = false;
    body["tool_choice"] = "required";
    r = post(port(), "/v1/chat/completions", body);
    ASSERT_EQ(r.status, 200) << r.body;
    // (one alternative per tool: the arguments fit the tool the model named)
    const json required_call = r.body_json()["choices"][0]["message"]["tool_calls"][0]["function"];
    const std::string name = required_call["name"];
    const json required_args = json::parse(required_call["arguments"].get<std::string>());
    if (name == "get_weather") EXPECT_TRUE(required_args["city"].is_string()) << required_args.dump();
    else EXPECT_EQ(name == "get_time" ? required_args : json(nullptr), json::object()) << name << " " << required_args.dump();

    auto refused = [&](json b, const std::string& param, const std::string& words) {
        b["stream"] = false;
        const Reply e = post(port(), "/v1/chat/completions", b);
        EXPECT_EQ(e.status, 400) << e.body;
        EXPECT_EQ(e.body_json()["error"]["param"], param) << e.body;
        EXPECT_NE(e.body.find(words), std::string::npos) << e.body;
    };
    json b = body;
    b["tool_choice"] = {{"type", "function"}, {"function", {{"name", "nope"}}}};
    refused(b, "tool_choice", "\\\"nope\\\" is not one of the request's tools");
    b["tool_choice"] = "sometimes";
    refused(b, "tool_choice", "tool_choice: \\\"sometimes\\\"");
    b = body;
    b.erase("tools");
    refused(b, "tool_choice", "needs tools");
    b = body;
    b["tool_choice"] = {{"type", "function"}, {"function", {{"name", "get_weather"}}}};
    b["tools"][0]["function"]["parameters"]["properties"]["city"]["not"] = {{"const", "Paris"}};
    refused(b, "tool_choice", "tools[0].function.parameters (forcing a call to \\\"get_weather\\\"): json schema #/properties/city: keyword \\\"not\\\"");

    // Anthropic: {"type": "tool", "name"} and {"type": "any"}; the reply is the tool_use block alone
    json msg = {{"max_tokens", 120}, {"temperature", 0}, {"messages", {{{"role", "user"}, {"content", "What is the weather in Paris?"}}}},
                {"tools", {{{"name", "get_weather"}, {"input_schema", tools[0]["function"]["parameters"]}}}},
                {"tool_choice", {{"type", "tool"}, {"name", "get_weather"}}}};
    r = post(port(), "/v1/messages", msg);
    ASSERT_EQ(r.status, 200) << r.body;
    const json m = r.body_json();
    EXPECT_EQ(m["stop_reason"], "tool_use") << r.body;
    ASSERT_EQ(m["content"].size(), 1u) << r.body;
    EXPECT_EQ(m["content"][0]["type"], "tool_use");
    EXPECT_EQ(m["content"][0]["name"], "get_weather");
    EXPECT_TRUE(m["content"][0]["input"]["city"].is_string()) << r.body;
    msg["stream"] = true;
    msg["tools"][0]["input_schema"]["properties"]["city"] = {{"enum", {"Paris", "London"}}};  // (a bounded call: never cut)
    std::vector<std::string> block_types;
    for (const auto& [event, data] : parse_sse(post(port(), "/v1/messages", msg).body)) {
        const json e = json::parse(data);
        if (e["type"] == "content_block_start") block_types.push_back(e["content_block"]["type"]);
    }
    EXPECT_EQ(block_types, std::vector<std::string>{"tool_use"});
    msg["stream"] = false;
    msg["tool_choice"] = {{"type", "any"}};  // (one tool: its schema holds the input too)
    const json any = post(port(), "/v1/messages", msg).body_json();
    EXPECT_EQ(any["content"][0]["type"], "tool_use") << any.dump();
    const json city = any["content"][0]["input"]["city"];
    EXPECT_TRUE(city == "Paris" || city == "London") << any.dump();
    json bad = msg;
    bad["messages"].push_back({{"role", "assistant"}, {"content", "Sure"}});
    Reply e = post(port(), "/v1/messages", bad);
    EXPECT_EQ(e.status, 400) << e.body;
    EXPECT_NE(e.body.find("assistant prefill"), std::string::npos) << e.body;
    bad = msg;
    bad["tool_choice"] = {{"type", "tool"}, {"name", "nope"}};
    EXPECT_EQ(post(port(), "/v1/messages", bad).status, 400);
    stop();
    chat_template_.clear();
    n_ctx_ = 0;
    start("");
}

}  // namespace
}  // namespace rf::server
