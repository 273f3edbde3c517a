// Tool calls on /v1/chat/completions and tool use on /v1/messages: the <tool_call> blocks of a reply (tool_calls.h) taken out whole
// and while streaming at any split, the chat prompt showing tools and tool turns through a template
// that renders them (Qwen3's), refused through one that does not, and the formatter's tool_calls,
// streamed deltas and finish reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "server/anthropic_api.h"
#include "server/openai_api.h"
#include "server/tool_calls.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf::server {
namespace {

const std::string kReply =
    "Let me check both.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n"
    "<tool_call>\n{\"name\": \"get_time\"}\n</tool_call>\n<tool_call>\nnot json\n</tool_call>";

TEST(ToolCalls, BlocksAreTakenOutOfTheReply) {
    const ToolCallText t = parse_tool_calls(kReply);
    ASSERT_EQ(t.calls.size(), 2u);
    EXPECT_EQ(t.calls[0].name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(t.calls[0].arguments), (nlohmann::json{{"city", "Paris"}}));
    EXPECT_EQ(t.calls[1].name, "get_time");
    EXPECT_EQ(t.calls[1].arguments, "{}");
    EXPECT_EQ(t.calls[0].id.rfind("call_", 0), 0u);
    EXPECT_NE(t.calls[0].id, t.calls[1].id);
    // the block that is not a call stays, as written; the text around the calls is kept, trimmed
    EXPECT_EQ(t.content, "Let me check both.\n\n\n<tool_call>\nnot json\n</tool_call>");
    // arguments given as JSON text; a name that is not a string; an unclosed block; no block
    EXPECT_EQ(parse_tool_calls("<tool_call>{\"name\": \"f\", \"arguments\": \"{\\\"a\\\": 1}\"}</tool_call>").calls.at(0).arguments,
              "{\"a\": 1}");
    EXPECT_TRUE(parse_tool_calls("<tool_call>{\"name\": 3}</tool_call>").calls.empty());
    const ToolCallText open = parse_tool_calls("text <tool_call>{\"name\": \"f\"");
    EXPECT_TRUE(open.calls.empty());
    EXPECT_EQ(open.content, "text <tool_call>{\"name\": \"f\"");
    EXPECT_EQ(parse_tool_calls("a < b, <tool").content, "a < b, <tool");
}

TEST(ToolCalls, StreamedAtAnySplitGivesTheSameCalls) {
    for (size_t step : {1u, 2u, 3u, 5u, 7u, 11u, 64u}) {
        ToolCallStream s;
        std::string content;
        std::vector<ToolCall> calls;
        for (size_t i = 0; i < kReply.size(); i += step) {
            ToolCallText t = s.push(std::string_view(kReply).substr(i, step));
            content += t.content;
            for (auto& c : t.calls) calls.push_back(std::move(c));
        }
        content += s.finish().content;
        ASSERT_EQ(calls.size(), 2u) << step;
        EXPECT_EQ(calls[0].name, "get_weather") << step;
        EXPECT_EQ(calls[1].name, "get_time") << step;
        EXPECT_EQ(content, "Let me check both.\n\n\n<tool_call>\nnot json\n</tool_call>") << step;
        EXPECT_TRUE(s.any_call());
    }
    // text that only looks like a block start is given out once it cannot be one
    ToolCallStream s;
    EXPECT_EQ(s.push("x <tool").content, "x ");
    EXPECT_EQ(s.push("box>").content, "<toolbox>");
}

// The embedded model's tokenizer with another chat template.
Tokenizer tokenizer_with_template(const std::string& template_file) {
    const auto gguf = open_default_model();
    Vocab v = vocab_from_gguf(*gguf);
    if (!template_file.empty()) {
        std::ifstream f(std::filesystem::path(ROCMFORGE_SOURCE_DIR) / "tests" / "fixtures" / "jinja" / "templates" / template_file);
        std::stringstream ss;
        ss << f.rdbuf();
        v.chat_template = ss.str();
        EXPECT_FALSE(v.chat_template.empty()) << template_file;
    }
    return Tokenizer(std::move(v));
}

const json kTools = json::array({{{"type", "function"},
                                  {"function",
                                   {{"name", "get_weather"},
                                    {"description", "The weather of a city"},
                                    {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});

json conversation() {
    return json::array({{{"role", "user"}, {"content", "Weather in Paris?"}},
                        {{"role", "assistant"},
                         {"content", nullptr},
                         {"tool_calls", json::array({{{"id", "call_1"},
                                                      {"type", "function"},
                                                      {"function", {{"name", "get_weather"}, {"arguments", "{\"city\": \"Paris\"}"}}}}})}},
                        {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "{\"temp\": 21}"}}});
}

TEST(ToolCalls, TheChatPromptShowsToolsThroughATemplateThatRendersThem) {
    const Tokenizer qwen3 = tokenizer_with_template("qwen3.jinja");
    const std::string p = chat_prompt({{"messages", conversation()}, {"tools", kTools}}, qwen3);
    EXPECT_NE(p.find("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\""), std::string::npos) << p;
    EXPECT_NE(p.find("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"), std::string::npos) << p;
    EXPECT_NE(p.find("<tool_response>\n{\"temp\": 21}\n</tool_response>"), std::string::npos) << p;
    // tool_choice "none": the tools are not shown; "required" shows them as "auto" does (the call is
    // forced by the sampler: ServerHttp.ForcedToolChoiceGivesOneCallOfTheTool); other values are refused
    const std::string none = chat_prompt({{"messages", conversation()}, {"tools", kTools}, {"tool_choice", "none"}}, qwen3);
    EXPECT_EQ(none.find("<tools>"), std::string::npos);
    EXPECT_EQ(chat_prompt({{"messages", conversation()}, {"tools", kTools}, {"tool_choice", "required"}}, qwen3), p);
    try {
        (void)chat_prompt({{"messages", conversation()}, {"tools", kTools}, {"tool_choice", "always"}}, qwen3);
        FAIL() << "tool_choice always was taken";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.param(), "tool_choice");
    }
    // the embedded model's template shows no tools: refused, not ignored
    const Tokenizer plain = tokenizer_with_template("");
    try {
        (void)chat_prompt({{"messages", conversation()}, {"tools", kTools}}, plain);
        FAIL() << "tools through a template that ignores them";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.param(), "tools");
        EXPECT_NE(std::string(e.what()).find("does not show tools to the model"), std::string::npos) << e.what();
    }
    try {
        (void)chat_prompt({{"messages", conversation()}, {"tools", json::array({{{"type", "function"}, {"function", {{"name", 7}}}}})}}, qwen3);
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_NE(std::string(e.what()).find("tools[0].function.name: expected a non-empty string, got 7"), std::string::npos) << e.what();
    }
}

TEST(ToolCalls, TheChatFormatterGivesToolCallsWholeAndStreamed) {
    const Tokenizer qwen3 = tokenizer_with_template("qwen3.jinja");
    const ApiRequest req = parse_chat_request({{"messages", conversation()}, {"tools", kTools}}, qwen3);
    ASSERT_TRUE(req.tool_calls);
    StreamEvent fin;
    fin.kind = StreamEvent::Kind::Finished;
    fin.finish = FinishReason::EndOfGeneration;
    const std::string reply = "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\"}}\n</tool_call>";

    const json whole = make_chat_formatter(req, {&qwen3, "m", "chatcmpl-1", 0})->body(reply, {}, fin);
    const json& msg = whole["choices"][0]["message"];
    EXPECT_EQ(msg["content"], "Checking.");
    ASSERT_EQ(msg["tool_calls"].size(), 1u);
    EXPECT_EQ(msg["tool_calls"][0]["type"], "function");
    EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "get_weather");
    EXPECT_EQ(json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>()), (json{{"city", "Lyon"}}));
    EXPECT_EQ(whole["choices"][0]["finish_reason"], "tool_calls");

    auto f = make_chat_formatter(req, {&qwen3, "m", "chatcmpl-1", 0});
    std::string sse_text = f->stream_begin();
    for (size_t i = 0; i < reply.size(); i += 4) {
        StreamEvent ev;
        ev.text = reply.substr(i, 4);
        sse_text += f->stream_text(ev);
    }
    sse_text += f->stream_end(fin);
    std::string content;
    json calls = json::array();
    std::string finish;
    std::istringstream lines(sse_text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("data: {", 0) != 0) continue;
        const json c = json::parse(line.substr(6));
        const json& d = c["choices"][0]["delta"];
        if (d.contains("content")) content += d["content"].get<std::string>();
        if (d.contains("tool_calls")) calls.insert(calls.end(), d["tool_calls"].begin(), d["tool_calls"].end());
        if (!c["choices"][0]["finish_reason"].is_null()) finish = c["choices"][0]["finish_reason"];
    }
    EXPECT_EQ(content, "Checking.\n");
    ASSERT_EQ(calls.size(), 1u) << sse_text;
    EXPECT_EQ(calls[0]["index"], 0);
    EXPECT_EQ(calls[0]["function"]["name"], "get_weather");
    EXPECT_EQ(finish, "tool_calls");

    // without tools the same reply is text, finished by "stop"
    const ApiRequest plain = parse_chat_request({{"messages", json::array({{{"role", "user"}, {"content", "x"}}})}}, qwen3);
    const json text = make_chat_formatter(plain, {&qwen3, "m", "chatcmpl-2", 0})->body(reply, {}, fin);
    EXPECT_EQ(text["choices"][0]["message"]["content"], reply);
    EXPECT_FALSE(text["choices"][0]["message"].contains("tool_calls"));
    EXPECT_EQ(text["choices"][0]["finish_reason"], "stop");
}

// Anthropic's tool use: tools and tool_use / tool_result blocks rendered through the template, the
// reply's calls as tool_use blocks (whole, and streamed as their own content blocks).
TEST(ToolCalls, AnthropicToolUseWholeAndStreamed) {
    const Tokenizer qwen3 = tokenizer_with_template("qwen3.jinja");
    const json tools = json::array({{{"name", "get_weather"},
                                     {"description", "The weather of a city"},
                                     {"input_schema", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}});
    const json messages = json::array(
        {{{"role", "user"}, {"content", "Weather in Paris?"}},
         {{"role", "assistant"},
          {"content", json::array({{{"type", "text"}, {"text", "Checking."}},
                                   {{"type", "tool_use"}, {"id", "toolu_1"}, {"name", "get_weather"}, {"input", {{"city", "Paris"}}}}})}},
         {{"role", "user"},
          {"content", json::array({{{"type", "tool_result"}, {"tool_use_id", "toolu_1"}, {"content", "21 C"}}})}}});
    const json body = {{"max_tokens", 32}, {"tools", tools}, {"messages", messages}};
    const std::string p = messages_prompt(body, qwen3);
    EXPECT_NE(p.find("{\"type\": \"function\", \"function\": {\"name\": \"get_weather\""), std::string::npos) << p;
    EXPECT_NE(p.find("Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}"), std::string::npos) << p;
    EXPECT_NE(p.find("<tool_response>\n21 C\n</tool_response>"), std::string::npos) << p;
    try {
        (void)messages_prompt(body, tokenizer_with_template(""));
        FAIL() << "tools through a template that ignores them";
    } catch (const ApiError& e) {
        EXPECT_EQ(e.param(), "tools");
    }
    {  // {"type": "any"}: the prompt ends with the call block's opening line (forced_tool_call.h)
        json any = body;
        any["tool_choice"] = {{"type", "any"}};
        const ApiRequest forced = parse_messages_request(any, qwen3);
        EXPECT_TRUE(forced.forced_tool_call);
        EXPECT_TRUE(forced.gen.sampling.json_schema != nullptr);
        EXPECT_EQ(forced.prompt_text, messages_prompt(body, qwen3) + "<tool_call>\n");
        any["tool_choice"] = {{"type", "sometimes"}};
        try {
            (void)parse_messages_request(any, qwen3);
            FAIL() << "tool_choice sometimes was taken";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.param(), "tool_choice");
        }
    }

    const ApiRequest req = parse_messages_request(body, qwen3);
    ASSERT_TRUE(req.tool_calls);
    StreamEvent fin;
    fin.kind = StreamEvent::Kind::Finished;
    fin.finish = FinishReason::EndOfGeneration;
    const std::string reply = "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Lyon\"}}\n</tool_call>";
    const json whole = make_messages_formatter(req, {&qwen3, "m", "msg_1", 0})->body(reply, {}, fin);
    ASSERT_EQ(whole["content"].size(), 2u) << whole.dump();
    EXPECT_EQ(whole["content"][0], (json{{"type", "text"}, {"text", "Let me look."}}));
    EXPECT_EQ(whole["content"][1]["type"], "tool_use");
    EXPECT_EQ(whole["content"][1]["id"].get<std::string>().rfind("toolu_", 0), 0u);
    EXPECT_EQ(whole["content"][1]["name"], "get_weather");
    EXPECT_EQ(whole["content"][1]["input"], (json{{"city", "Lyon"}}));
    EXPECT_EQ(whole["stop_reason"], "tool_use");

    auto f = make_messages_formatter(req, {&qwen3, "m", "msg_1", 0});
    std::string events = f->stream_begin();
    for (size_t i = 0; i < reply.size(); i += 3) {
        StreamEvent ev;
        ev.text = reply.substr(i, 3);
        events += f->stream_text(ev);
    }
    events += f->stream_end(fin);
    std::vector<json> seq;
    std::istringstream lines(events);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("data: {", 0) == 0) seq.push_back(json::parse(line.substr(6)));
    std::string text, input;
    std::vector<std::string> kinds;
    std::string stop_reason;
    for (const json& e : seq) {
        const std::string t = e["type"];
        if (t == "content_block_start") kinds.push_back(std::to_string(e["index"].get<int>()) + ":" + e["content_block"]["type"].get<std::string>());
        if (t == "content_block_delta" && e["delta"]["type"] == "text_delta") text += e["delta"]["text"].get<std::string>();
        if (t == "content_block_delta" && e["delta"]["type"] == "input_json_delta") input += e["delta"]["partial_json"].get<std::string>();
        if (t == "message_delta") stop_reason = e["delta"]["stop_reason"];
    }
    EXPECT_EQ(kinds, (std::vector<std::string>{"0:text", "1:tool_use"})) << events;
    EXPECT_EQ(text, "Let me look.\n");
    EXPECT_EQ(json::parse(input), (json{{"city", "Lyon"}}));
    EXPECT_EQ(stop_reason, "tool_use");
}

}  // namespace
}  // namespace rf::server
