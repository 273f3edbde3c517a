#include "server/anthropic_api.h"

#include <fmt/format.h>

#include <limits>
#include <optional>

#include "core/error.h"
#include "server/chat_render.h"
#include "server/forced_tool_call.h"
#include "server/tool_calls.h"
#include "tokenizer/tokenizer.h"

namespace rf::server {

const char* anthropic_stop_reason(FinishReason reason) {
    switch (reason) {
        case FinishReason::Length:
        case FinishReason::ContextFull: return "max_tokens";
        case FinishReason::Stop: return "stop_sequence";
        default: return "end_turn";
    }
}

json anthropic_error_body(int status, const std::string& message) {
    const char* type = status == 400 ? "invalid_request_error" : status == 404 ? "not_found_error"
                     : status == 503 ? "overloaded_error" : "api_error";
    return json{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}};
}

namespace {

// The tool tool_choice forces: none for {"type": "auto"} / {"type": "none"} / absent, "" (any of them) for
// {"type": "any"}, else the named tool's name ({"type": "tool", "name": ...}).
std::optional<std::string> anthropic_forced_tool(const json& body) {
    const json* choice = find_field(body, "tool_choice");
    if (choice == nullptr) return std::nullopt;
    const std::string kind = choice->is_object() && choice->contains("type") && (*choice)["type"].is_string()
                                 ? (*choice)["type"].get<std::string>() : "";
    if (kind == "auto" || kind == "none") return std::nullopt;
    if (kind == "any") return std::string();
    if (kind == "tool" && choice->contains("name") && (*choice)["name"].is_string() && !(*choice)["name"].get<std::string>().empty())
        return (*choice)["name"].get<std::string>();
    throw ApiError(400, "tool_choice",
                   "tool_choice: " + describe_value(*choice) +
                       " ({\"type\": \"auto\"}, {\"type\": \"any\"}, {\"type\": \"tool\", \"name\": NAME} or {\"type\": \"none\"})");
}

// The request's tools in the templates' function form, or null (none, or tool_choice {"type": "none"}).
// tool_choice {"type": "auto"} (the default) lets the model choose; "any" and a named tool force a call
// (forced_tool_call.h).
json anthropic_tools(const json& body) {
    const json* tools = find_field(body, "tools");
    const json* choice = find_field(body, "tool_choice");
    const std::string kind = choice != nullptr && choice->is_object() ? choice->value("type", "") : "";
    if (anthropic_forced_tool(body) && (tools == nullptr || !tools->is_array() || tools->empty()))
        throw ApiError(400, "tool_choice", "tool_choice: " + describe_value(*choice) + " needs tools");
    if (tools == nullptr) return nullptr;
    if (!tools->is_array()) throw ApiError(400, "tools", "tools: expected an array, got " + describe_value(*tools));
    json out = json::array();
    for (size_t i = 0; i < tools->size(); ++i) {
        const json& t = (*tools)[i];
        const std::string at = fmt::format("tools[{}]", i);
        if (!t.is_object()) throw ApiError(400, "tools", at + ": expected an object, got " + describe_value(t));
        if (t.contains("type") && t["type"] != "custom")
            throw ApiError(400, "tools", at + ".type: " + describe_value(t["type"]) + " is not supported by this server (client tools only)");
        if (!t.contains("name") || !t["name"].is_string() || t["name"].get<std::string>().empty())
            throw ApiError(400, "tools", at + ".name: expected a non-empty string, got " + describe_value(t.value("name", json(nullptr))));
        if (!t.contains("input_schema") || !t["input_schema"].is_object())
            throw ApiError(400, "tools", at + ".input_schema: expected a JSON Schema object");
        json f = {{"name", t["name"]}, {"parameters", t["input_schema"]}};
        if (t.contains("description")) f["description"] = t["description"];
        out.push_back({{"type", "function"}, {"function", std::move(f)}});
    }
    if (out.empty() || kind == "none") return nullptr;
    return out;
}

// A message's content as the templates' messages: text blocks joined; an assistant's tool_use blocks
// as its tool_calls; a user's tool_result blocks as tool turns (before the text the message adds).
void append_message(json& messages, const std::string& role, const json& content, const std::string& at) {
    if (!content.is_array()) {
        messages.push_back({{"role", role}, {"content", text_content(content, at, "content block", false)}});
        return;
    }
    std::string text;
    json calls = json::array();
    for (size_t j = 0; j < content.size(); ++j) {
        const json& b = content[j];
        const std::string bj = fmt::format("{}[{}]", at, j);
        if (!b.is_object() || !b.contains("type"))
            throw ApiError(400, "messages", bj + ": expected a content block with a type, got " + describe_value(b));
        const std::string type = b["type"].is_string() ? b["type"].get<std::string>() : "";
        if (type == "tool_use" && role == "assistant") {
            if (!b.contains("name") || !b["name"].is_string()) throw ApiError(400, "messages", bj + ".name: expected a string");
            const json input = b.value("input", json::object());
            if (!input.is_object()) throw ApiError(400, "messages", bj + ".input: expected an object, got " + describe_value(input));
            calls.push_back({{"id", b.value("id", "")}, {"type", "function"}, {"function", {{"name", b["name"]}, {"arguments", input}}}});
        } else if (type == "tool_result" && role == "user") {
            const json result = b.value("content", json(""));
            json tool = {{"role", "tool"}, {"content", text_content(result, bj + ".content", "content block", false)}};
            if (b.contains("tool_use_id")) tool["tool_call_id"] = b["tool_use_id"];
            messages.push_back(std::move(tool));
        } else {
            text += text_content(json::array({b}), at, "content block", false);
        }
    }
    if (!calls.empty()) messages.push_back({{"role", role}, {"content", text}, {"tool_calls", calls}});
    else if (!text.empty() || messages.empty() || messages.back()["role"] != "tool") messages.push_back({{"role", role}, {"content", text}});
}

}  // namespace

std::string messages_prompt(const json& body, const Tokenizer& tokenizer) {
    const json tools = anthropic_tools(body);
    if (const json* th = find_field(body, "thinking"); th != nullptr && !(th->is_object() && th->value("type", "") == "disabled"))
        throw ApiError(400, "thinking", "thinking: " + describe_value(*th) +
                                            " is not supported by this server (use the chat template's own thinking switch, e.g. a system prompt)");

    json messages = json::array();
    if (const json* system = find_field(body, "system")) messages.push_back({{"role", "system"}, {"content", text_content(*system, "system", "content block", false)}});
    const json& in = required_field(body, "messages");
    if (!in.is_array() || in.empty())
        throw ApiError(400, "messages", "messages: expected a non-empty array, got " + describe_value(in));
    for (size_t i = 0; i < in.size(); ++i) {
        const json& m = in[i];
        const std::string at = fmt::format("messages[{}]", i);
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            throw ApiError(400, "messages", at + ": expected an object with a role, got " + describe_value(m));
        const std::string role = m["role"].get<std::string>();
        if (role != "user" && role != "assistant")
            throw ApiError(400, "messages", fmt::format("{}.role: \"{}\" (user or assistant; the system prompt is \"system\")", at, role));
        if (!m.contains("content")) throw ApiError(400, "messages", at + ".content: missing required field");
        append_message(messages, role, m["content"], at + ".content");
    }
    // A last assistant message of text is a prefill: the reply continues it (as the API does).
    const bool prefill = messages.back()["role"] == "assistant" && !messages.back().contains("tool_calls");
    std::string assistant_prefix;
    if (prefill) {
        assistant_prefix = messages.back()["content"].get<std::string>();
        messages.erase(messages.size() - 1);
    }
    return render_chat_request(tokenizer, json{{"messages", messages}, {"add_generation_prompt", true}}, tools) + assistant_prefix;
}

ApiRequest parse_messages_request(const json& body, const Tokenizer& tokenizer) {
    ApiRequest r;
    parse_sampling(body, r.gen.sampling, 1.0);
    (void)required_field(body, "max_tokens");
    r.gen.max_tokens = static_cast<int32_t>(int_field(body, "max_tokens", 0, 1, std::numeric_limits<int32_t>::max()));
    r.gen.stop = string_list_field(body, "stop_sequences", 16);
    r.stream = bool_field(body, "stream", false);
    r.prompt_text = messages_prompt(body, tokenizer);
    const json tools = anthropic_tools(body);
    r.tool_calls = !tools.is_null();
    if (const std::optional<std::string> forced = anthropic_forced_tool(body)) {
        const json& last = body["messages"].back();
        if (last.is_object() && last.value("role", "") == "assistant")
            throw ApiError(400, "tool_choice", "tool_choice: a forced tool call cannot continue an assistant prefill (the last message)");
        r.forced_tool_call = true;
        r.gen.sampling.json_schema = forced_tool_call_schema(tools, *forced, "tool_choice");
        r.prompt_text += kToolCallOpen;
    }
    r.gen.prompt = tokenizer.encode(r.prompt_text, /*add_special=*/false, /*parse_special=*/true);
    return r;
}

namespace {

// A tool_use content block of a call ("toolu_" ids; the input as an object).
json tool_use_block(const ToolCall& c) {
    json input = json::parse(c.arguments, nullptr, /*allow_exceptions=*/false);
    if (!input.is_object()) input = json::object();
    return {{"type", "tool_use"}, {"id", "toolu_" + c.id.substr(5)}, {"name", c.name}, {"input", std::move(input)}};
}

// The Messages API's reply. With tools (ApiRequest::tool_calls) the reply's <tool_call> blocks become
// tool_use content blocks (streamed: the text block closed, the call as its own block with one
// input_json_delta, a new text block for text after it) and the stop reason "tool_use".
class MessagesFormatter : public ResponseFormatter {
public:
    MessagesFormatter(const ApiRequest& r, ResponseContext c)
        : n_prompt_(static_cast<int32_t>(r.gen.prompt.size())), tools_(r.tool_calls), forced_(r.forced_tool_call), ctx_(std::move(c)) {}

    std::string stream_begin() override {
        json message = {{"id", ctx_.id}, {"type", "message"}, {"role", "assistant"}, {"model", ctx_.model},
                        {"content", json::array()}, {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                        {"usage", {{"input_tokens", n_prompt_}, {"output_tokens", 0}}}};
        // (a forced call's reply is its tool_use block: a text block only for text that is not one)
        return sse({{"type", "message_start"}, {"message", message}}, "message_start") + (forced_ ? "" : open_text());
    }
    std::string stream_text(const StreamEvent& ev) override {
        if (ev.text.empty()) return "";
        if (!tools_) return text_delta(ev.text);
        if (forced_ && !opened_) {  // (the block's opening line ended the prompt)
            opened_ = true;
            (void)calls_.push(kToolCallOpen);
        }
        return text_and_calls(calls_.push(ev.text));
    }
    // the text of t into the text block, then each call as its own tool_use block
    std::string text_and_calls(const ToolCallText& t) {
        std::string out = text_delta(t.content);
        for (const ToolCall& c : t.calls) {
            if (text_open_) out += close_block();
            json start = tool_use_block(c);
            const std::string input = start["input"].dump();
            start["input"] = json::object();
            out += sse({{"type", "content_block_start"}, {"index", index_}, {"content_block", start}}, "content_block_start");
            out += sse({{"type", "content_block_delta"}, {"index", index_}, {"delta", {{"type", "input_json_delta"}, {"partial_json", input}}}},
                       "content_block_delta");
            out += close_block();
        }
        return out;
    }
    std::string stream_end(const StreamEvent& f) override {
        std::string out;
        if (forced_) {
            if (!opened_) (void)calls_.push(kToolCallOpen);
            opened_ = true;
            ToolCallText t = calls_.push(kToolCallClose);
            t.content = forced_tool_call_text(t.content);  // (a block that did not parse comes back here)
            out += text_and_calls(t);
        }
        if (tools_) out += text_delta(unwrap_forced(calls_.finish().content));
        if (text_open_) out += close_block();
        return out +
               sse({{"type", "message_delta"},
                    {"delta", {{"stop_reason", stop_reason(f, calls_.any_call())}, {"stop_sequence", stop_sequence(f)}}},
                    {"usage", {{"output_tokens", f.n_generated}}}},
                   "message_delta") +
               sse({{"type", "message_stop"}}, "message_stop");
    }
    std::string stream_error(const std::string& message) override { return sse(anthropic_error_body(500, message), "error"); }
    json body(const std::string& text, const std::vector<TokenOut>&, const StreamEvent& f) override {
        json content = json::array();
        bool called = false;
        if (tools_) {
            ToolCallText t = parse_tool_calls(forced_ ? forced_tool_call_block(text) : text);
            t.content = unwrap_forced(t.content);
            called = !t.calls.empty();
            if (!t.content.empty() || !called) content.push_back({{"type", "text"}, {"text", t.content}});
            for (const ToolCall& c : t.calls) content.push_back(tool_use_block(c));
        } else {
            content.push_back({{"type", "text"}, {"text", text}});
        }
        return {{"id", ctx_.id}, {"type", "message"}, {"role", "assistant"}, {"model", ctx_.model},
                {"content", std::move(content)},
                {"stop_reason", stop_reason(f, called)}, {"stop_sequence", stop_sequence(f)},
                {"usage", {{"input_tokens", f.n_prompt}, {"output_tokens", f.n_generated}}}};
    }

private:
    static json stop_sequence(const StreamEvent& f) {
        return f.finish == FinishReason::Stop && !f.stop_string.empty() ? json(f.stop_string) : json(nullptr);
    }
    // "tool_use" when the reply called a tool and ended by itself
    static const char* stop_reason(const StreamEvent& f, bool called) {
        return called && f.finish == FinishReason::EndOfGeneration ? "tool_use" : anthropic_stop_reason(f.finish);
    }
    std::string open_text() {
        text_open_ = true;
        return sse({{"type", "content_block_start"}, {"index", index_}, {"content_block", {{"type", "text"}, {"text", ""}}}},
                   "content_block_start");
    }
    std::string close_block() {
        text_open_ = false;
        return sse({{"type", "content_block_stop"}, {"index", index_++}}, "content_block_stop");
    }
    // text into the open text block (a new one after a tool_use block)
    std::string text_delta(const std::string& text) {
        if (text.empty()) return "";
        std::string out = text_open_ ? "" : open_text();
        return out + sse({{"type", "content_block_delta"}, {"index", index_}, {"delta", {{"type", "text_delta"}, {"text", text}}}},
                         "content_block_delta");
    }
    std::string unwrap_forced(std::string s) const { return forced_ ? forced_tool_call_text(std::move(s)) : s; }
    int32_t n_prompt_;
    bool tools_;
    bool forced_;
    bool opened_ = false;  // (forced call) the block's opening line given to calls_
    ResponseContext ctx_;
    ToolCallStream calls_;
    int index_ = 0;          // the current (or next) content block
    bool text_open_ = false;
};

}  // namespace

std::unique_ptr<ResponseFormatter> make_messages_formatter(const ApiRequest& request, ResponseContext context) {
    return std::make_unique<MessagesFormatter>(request, std::move(context));
}

}  // namespace rf::server
