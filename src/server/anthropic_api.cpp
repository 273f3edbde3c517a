#include "server/anthropic_api.h"

#include <fmt/format.h>

#include <limits>

#include "core/error.h"
#include "engine/chat.h"
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

std::string messages_prompt(const json& body, const Tokenizer& tokenizer) {
    refuse_field(body, "tools", "no tool use");
    if (const json* tc = find_field(body, "tool_choice"); tc != nullptr && !(tc->is_object() && tc->value("type", "") == "none"))
        throw ApiError(400, "tool_choice", "tool_choice: " + describe_value(*tc) + " is not supported by this server (no tool use)");
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
        messages.push_back({{"role", role}, {"content", text_content(m["content"], at + ".content", "content block", false)}});
    }
    // A last assistant message is a prefill: the reply continues it (as the API does).
    const bool prefill = messages.back()["role"] == "assistant";
    std::string assistant_prefix;
    if (prefill) {
        assistant_prefix = messages.back()["content"].get<std::string>();
        messages.erase(messages.size() - 1);
    }
    std::string prompt;
    try {
        prompt = render_chat(tokenizer, json{{"messages", messages}, {"add_generation_prompt", true}});
    } catch (const Error& e) {
        throw ApiError(400, "messages", std::string("messages: the model's chat template failed: ") + e.what());
    }
    return prompt + assistant_prefix;
}

ApiRequest parse_messages_request(const json& body, const Tokenizer& tokenizer) {
    ApiRequest r;
    parse_sampling(body, r.gen.sampling, 1.0);
    (void)required_field(body, "max_tokens");
    r.gen.max_tokens = static_cast<int32_t>(int_field(body, "max_tokens", 0, 1, std::numeric_limits<int32_t>::max()));
    r.gen.stop = string_list_field(body, "stop_sequences", 16);
    r.stream = bool_field(body, "stream", false);
    r.prompt_text = messages_prompt(body, tokenizer);
    r.gen.prompt = tokenizer.encode(r.prompt_text, /*add_special=*/false, /*parse_special=*/true);
    return r;
}

namespace {

class MessagesFormatter : public ResponseFormatter {
public:
    MessagesFormatter(const ApiRequest& r, ResponseContext c) : n_prompt_(static_cast<int32_t>(r.gen.prompt.size())), ctx_(std::move(c)) {}

    std::string stream_begin() override {
        json message = {{"id", ctx_.id}, {"type", "message"}, {"role", "assistant"}, {"model", ctx_.model},
                        {"content", json::array()}, {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                        {"usage", {{"input_tokens", n_prompt_}, {"output_tokens", 0}}}};
        return sse({{"type", "message_start"}, {"message", message}}, "message_start") +
               sse({{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}},
                   "content_block_start");
    }
    std::string stream_text(const StreamEvent& ev) override {
        if (ev.text.empty()) return "";
        return sse({{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "text_delta"}, {"text", ev.text}}}},
                   "content_block_delta");
    }
    std::string stream_end(const StreamEvent& f) override {
        return sse({{"type", "content_block_stop"}, {"index", 0}}, "content_block_stop") +
               sse({{"type", "message_delta"},
                    {"delta", {{"stop_reason", anthropic_stop_reason(f.finish)}, {"stop_sequence", stop_sequence(f)}}},
                    {"usage", {{"output_tokens", f.n_generated}}}},
                   "message_delta") +
               sse({{"type", "message_stop"}}, "message_stop");
    }
    std::string stream_error(const std::string& message) override { return sse(anthropic_error_body(500, message), "error"); }
    json body(const std::string& text, const std::vector<TokenOut>&, const StreamEvent& f) override {
        return {{"id", ctx_.id}, {"type", "message"}, {"role", "assistant"}, {"model", ctx_.model},
                {"content", json::array({json{{"type", "text"}, {"text", text}}})},
                {"stop_reason", anthropic_stop_reason(f.finish)}, {"stop_sequence", stop_sequence(f)},
                {"usage", {{"input_tokens", f.n_prompt}, {"output_tokens", f.n_generated}}}};
    }

private:
    static json stop_sequence(const StreamEvent& f) {
        return f.finish == FinishReason::Stop && !f.stop_string.empty() ? json(f.stop_string) : json(nullptr);
    }
    int32_t n_prompt_;
    ResponseContext ctx_;
};

}  // namespace

std::unique_ptr<ResponseFormatter> make_messages_formatter(const ApiRequest& request, ResponseContext context) {
    return std::make_unique<MessagesFormatter>(request, std::move(context));
}

}  // namespace rf::server
