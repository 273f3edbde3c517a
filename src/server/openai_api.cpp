#include "server/openai_api.h"

#include <fmt/format.h>

#include <limits>
#include <optional>

#include "core/error.h"
#include "server/chat_render.h"
#include "server/forced_tool_call.h"
#include "server/response_format.h"
#include "server/tool_calls.h"
#include "tokenizer/tokenizer.h"

namespace rf::server {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();

// Fields both endpoints share: sampling, stop, stream, n, and the features refused by name (the
// completions endpoint also refuses tools; the chat endpoint takes them, chat_tools).
void parse_common(const json& body, ApiRequest& r) {
    parse_sampling(body, r.gen.sampling, 2.0);
    r.gen.stop = string_list_field(body, "stop", 16);
    r.stream = bool_field(body, "stream", false);
    if (const json* so = find_field(body, "stream_options")) {
        if (!so->is_object())
            throw ApiError(400, "stream_options", "stream_options: expected an object, got " + describe_value(*so));
        r.include_usage = bool_field(*so, "include_usage", false);
    }
    r.n = static_cast<int>(int_field(body, "n", 1, 1, 16));
    r.gen.ignore_eos = bool_field(body, "ignore_eos", false);
    refuse_field(body, "functions", "the deprecated function calls (use tools)");
    r.gen.sampling.json_schema = response_format_schema(body);
}

// OpenAI's logit_bias: {"token id": bias in [-100, 100]} (at most 300), added to the logits.
std::vector<std::pair<int32_t, float>> logit_bias(const json& body, int32_t n_vocab) {
    std::vector<std::pair<int32_t, float>> out;
    const json* lb = find_field(body, "logit_bias");
    if (lb == nullptr) return out;
    if (!lb->is_object()) throw ApiError(400, "logit_bias", "logit_bias: expected an object of token id -> bias, got " + describe_value(*lb));
    if (lb->size() > 300) throw ApiError(400, "logit_bias", fmt::format("logit_bias: {} entries (at most 300)", lb->size()));
    for (auto it = lb->begin(); it != lb->end(); ++it) {
        const std::string& key = it.key();
        int64_t id = -1;
        const bool digits = !key.empty() && key.size() < 10 && key.find_first_not_of("0123456789") == std::string::npos;
        if (digits) id = std::stoll(key);
        if (!digits || id >= n_vocab)
            throw ApiError(400, "logit_bias", fmt::format("logit_bias: key \"{}\" is not a token id in [0, {})", key, n_vocab));
        if (!it.value().is_number() || !(it.value().get<double>() >= -100.0 && it.value().get<double>() <= 100.0))
            throw ApiError(400, "logit_bias", fmt::format("logit_bias[\"{}\"]: {} (a number in [-100, 100])", key, describe_value(it.value())));
        out.emplace_back(static_cast<int32_t>(id), static_cast<float>(it.value().get<double>()));
    }
    return out;
}

std::vector<int32_t> prompt_tokens(const json& prompt, const Tokenizer& tokenizer, std::string& text) {
    auto ids_from = [&](const json& arr, const std::string& where) {
        std::vector<int32_t> ids;
        for (size_t i = 0; i < arr.size(); ++i) {
            if (!arr[i].is_number_integer())
                throw ApiError(400, "prompt", fmt::format("{}[{}]: expected a token id, got {}", where, i, describe_value(arr[i])));
            const int64_t id = arr[i].get<int64_t>();
            if (id < 0 || id >= tokenizer.n_vocab())
                throw ApiError(400, "prompt", fmt::format("{}[{}]: token id {} out of range [0, {})", where, i, id, tokenizer.n_vocab()));
            ids.push_back(static_cast<int32_t>(id));
        }
        text = tokenizer.decode(ids);
        return ids;
    };
    if (prompt.is_string()) {
        text = prompt.get<std::string>();
        return tokenizer.encode(text, /*add_special=*/true, /*parse_special=*/true);
    }
    if (prompt.is_array() && !prompt.empty() && prompt[0].is_number_integer()) return ids_from(prompt, "prompt");
    if (prompt.is_array() && prompt.size() == 1) {
        if (prompt[0].is_string()) return prompt_tokens(prompt[0], tokenizer, text);
        if (prompt[0].is_array()) return ids_from(prompt[0], "prompt[0]");
    }
    if (prompt.is_array() && prompt.size() > 1 && (prompt[0].is_string() || prompt[0].is_array()))
        throw ApiError(400, "prompt", fmt::format("prompt: {} prompts in one request; this server takes one (send one request each)",
                                                  prompt.size()));
    throw ApiError(400, "prompt", "prompt: expected a string, an array of token ids, or one of either in an array; got " +
                                      describe_value(prompt));
}

}  // namespace

const char* openai_finish_reason(FinishReason reason) {
    switch (reason) {
        case FinishReason::Length:
        case FinishReason::ContextFull: return "length";
        default: return "stop";
    }
}

json openai_error_body(int status, const std::string& message, const std::string& param) {
    const char* type = status == 400 ? "invalid_request_error" : status == 404 ? "not_found_error"
                     : status == 503 ? "server_overloaded" : "server_error";
    json err = {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)}, {"code", status}};
    return json{{"error", err}};
}

ApiRequest parse_completion_request(const json& body, const Tokenizer& tokenizer) {
    ApiRequest r;
    parse_common(body, r);
    refuse_field(body, "tools", "no tool calls on /v1/completions (use /v1/chat/completions)");
    r.gen.sampling.logit_bias = logit_bias(body, tokenizer.n_vocab());
    if (const json* tc = find_field(body, "tool_choice"); tc != nullptr && !(tc->is_string() && *tc == "none"))
        throw ApiError(400, "tool_choice", "tool_choice: " + describe_value(*tc) + " is not supported on /v1/completions");
    r.gen.prompt = prompt_tokens(required_field(body, "prompt"), tokenizer, r.prompt_text);
    r.gen.max_tokens = static_cast<int32_t>(int_field(body, "max_tokens", 16, 0, kMaxInt));
    r.echo = bool_field(body, "echo", false);
    if (find_field(body, "logprobs") != nullptr) {
        r.n_logprobs = static_cast<int>(int_field(body, "logprobs", 0, 0, 20));
        r.gen.sampling.n_logprobs = r.n_logprobs;
    }
    if (int_field(body, "best_of", 1, 1, kMaxInt) != 1)
        throw ApiError(400, "best_of", "best_of: only 1 is supported by this server");
    if (find_field(body, "suffix") && body["suffix"].is_string() && !body["suffix"].get<std::string>().empty())
        throw ApiError(400, "suffix", "suffix: not supported by this server (no insertion)");
    return r;
}

namespace {

// The tool tool_choice forces: none for "auto" / "none" / absent, "" (any of them) for "required", else
// the named function's name ({"type": "function", "function": {"name": ...}}).
std::optional<std::string> forced_tool(const json& body) {
    const json* choice = find_field(body, "tool_choice");
    if (choice == nullptr || (choice->is_string() && (*choice == "none" || *choice == "auto"))) return std::nullopt;
    if (choice->is_string() && *choice == "required") return std::string();
    if (choice->is_object() && choice->value("type", json()) == "function" && choice->contains("function") &&
        (*choice)["function"].is_object() && (*choice)["function"].contains("name") && (*choice)["function"]["name"].is_string() &&
        !(*choice)["function"]["name"].get<std::string>().empty())
        return (*choice)["function"]["name"].get<std::string>();
    throw ApiError(400, "tool_choice",
                   "tool_choice: " + describe_value(*choice) +
                       " (\"auto\", \"none\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": NAME}})");
}

// The request's tools for the chat template ({"type": "function", "function": {"name", "description",
// "parameters"}} each), or null when there are none or tool_choice is "none". tool_choice "auto" (the
// default) lets the model choose; "required" and a named function force a call (forced_tool_call.h).
json chat_tools(const json& body) {
    const json* tools = find_field(body, "tools");
    const json* choice = find_field(body, "tool_choice");
    if (forced_tool(body) && (tools == nullptr || !tools->is_array() || tools->empty()))
        throw ApiError(400, "tool_choice", "tool_choice: " + describe_value(*choice) + " needs tools");
    if (tools == nullptr) return nullptr;
    if (!tools->is_array()) throw ApiError(400, "tools", "tools: expected an array, got " + describe_value(*tools));
    for (size_t i = 0; i < tools->size(); ++i) {
        const json& t = (*tools)[i];
        const std::string at = fmt::format("tools[{}]", i);
        if (!t.is_object()) throw ApiError(400, "tools", at + ": expected an object, got " + describe_value(t));
        if (!t.contains("type") || t["type"] != "function")
            throw ApiError(400, "tools", at + ".type: expected \"function\", got " + describe_value(t.value("type", json(nullptr))));
        if (!t.contains("function") || !t["function"].is_object())
            throw ApiError(400, "tools", at + ".function: expected an object");
        const json& f = t["function"];
        if (!f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>().empty())
            throw ApiError(400, "tools", at + ".function.name: expected a non-empty string, got " +
                                             describe_value(f.value("name", json(nullptr))));
        if (f.contains("parameters") && !f["parameters"].is_object() && !f["parameters"].is_null())
            throw ApiError(400, "tools", at + ".function.parameters: expected a JSON Schema object, got " + describe_value(f["parameters"]));
    }
    if (tools->empty() || (choice != nullptr && *choice == "none")) return nullptr;
    return *tools;
}

// An assistant message's tool_calls as the templates read them ({"type", "function": {"name",
// "arguments"}}, arguments a JSON text or an object).
json message_tool_calls(const json& calls, const std::string& at) {
    if (!calls.is_array()) throw ApiError(400, "messages", at + ".tool_calls: expected an array, got " + describe_value(calls));
    json out = json::array();
    for (size_t k = 0; k < calls.size(); ++k) {
        const json& c = calls[k];
        const std::string ck = fmt::format("{}.tool_calls[{}]", at, k);
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object())
            throw ApiError(400, "messages", ck + ".function: expected an object");
        const json& f = c["function"];
        if (!f.contains("name") || !f["name"].is_string())
            throw ApiError(400, "messages", ck + ".function.name: expected a string");
        const json args = f.value("arguments", json("{}"));
        if (!args.is_string() && !args.is_object())
            throw ApiError(400, "messages", ck + ".function.arguments: expected a JSON string or an object, got " + describe_value(args));
        json call = {{"type", "function"}, {"function", {{"name", f["name"]}, {"arguments", args}}}};
        if (c.contains("id")) call["id"] = c["id"];
        out.push_back(std::move(call));
    }
    return out;
}

}  // namespace

std::string chat_prompt(const json& body, const Tokenizer& tokenizer) {
    const json& messages = required_field(body, "messages");
    if (!messages.is_array() || messages.empty())
        throw ApiError(400, "messages", "messages: expected a non-empty array, got " + describe_value(messages));
    const json tools = chat_tools(body);
    json normalized = json::array();
    for (size_t i = 0; i < messages.size(); ++i) {
        const json& m = messages[i];
        const std::string at = fmt::format("messages[{}]", i);
        if (!m.is_object()) throw ApiError(400, "messages", at + ": expected an object, got " + describe_value(m));
        if (!m.contains("role") || !m["role"].is_string())
            throw ApiError(400, "messages", at + ".role: expected a string");
        std::string role = m["role"].get<std::string>();
        if (role == "developer") role = "system";
        if (role != "system" && role != "user" && role != "assistant" && role != "tool")
            throw ApiError(400, "messages",
                           fmt::format("{}.role: \"{}\" is not supported (system, developer, user, assistant, tool)", at, role));
        const bool has_calls = role == "assistant" && m.contains("tool_calls") && !m["tool_calls"].is_null() && !m["tool_calls"].empty();
        if (!has_calls && m.contains("tool_calls") && !m["tool_calls"].is_null() && !m["tool_calls"].empty())
            throw ApiError(400, "messages", at + ".tool_calls: only assistant messages carry tool calls");
        const json& content = m.contains("content") ? m["content"] : json(nullptr);
        const std::string text = content.is_null() && has_calls ? std::string() : text_content(content, at + ".content", "part", true);
        json msg = {{"role", role}, {"content", text}};
        if (has_calls) msg["tool_calls"] = message_tool_calls(m["tool_calls"], at);
        if (role == "tool" && m.contains("tool_call_id")) msg["tool_call_id"] = m["tool_call_id"];
        normalized.push_back(std::move(msg));
    }
    json context = {{"messages", normalized}, {"add_generation_prompt", true}};
    if (const json* kw = find_field(body, "chat_template_kwargs")) {
        if (!kw->is_object())
            throw ApiError(400, "chat_template_kwargs", "chat_template_kwargs: expected an object, got " + describe_value(*kw));
        for (auto it = kw->begin(); it != kw->end(); ++it) {
            if (it.key() == "messages" || it.key() == "tools")
                throw ApiError(400, "chat_template_kwargs", "chat_template_kwargs." + it.key() + ": it comes from \"" + it.key() + "\"");
            context[it.key()] = it.value();
        }
    }
    return render_chat_request(tokenizer, std::move(context), tools);
}

ApiRequest parse_chat_request(const json& body, const Tokenizer& tokenizer) {
    ApiRequest r;
    parse_common(body, r);
    r.prompt_text = chat_prompt(body, tokenizer);
    const json tools = chat_tools(body);
    r.tool_calls = !tools.is_null();
    if (r.tool_calls && r.gen.sampling.json_schema)
        throw ApiError(400, "response_format",
                       "response_format: a JSON reply leaves no room for tool calls (send tool_choice \"none\" or no tools)");
    if (const std::optional<std::string> forced = forced_tool(body)) {
        r.forced_tool_call = true;
        r.gen.sampling.json_schema = forced_tool_call_schema(tools, *forced, "tool_choice");
        r.prompt_text += kToolCallOpen;
    }
    r.gen.sampling.logit_bias = logit_bias(body, tokenizer.n_vocab());
    r.gen.prompt = tokenizer.encode(r.prompt_text, /*add_special=*/false, /*parse_special=*/true);
    const int64_t max_tokens = find_field(body, "max_completion_tokens") != nullptr
                                   ? int_field(body, "max_completion_tokens", -1, 0, kMaxInt)
                                   : int_field(body, "max_tokens", -1, 0, kMaxInt);
    r.gen.max_tokens = static_cast<int32_t>(max_tokens);
    if (bool_field(body, "logprobs", false)) {
        r.n_logprobs = static_cast<int>(int_field(body, "top_logprobs", 0, 0, 20));
        r.gen.sampling.n_logprobs = r.n_logprobs;
    } else if (find_field(body, "top_logprobs") != nullptr) {
        throw ApiError(400, "top_logprobs", "top_logprobs: needs \"logprobs\": true");
    }
    return r;
}

namespace {

// The completions API's logprobs object over some tokens; text_offset continues from `offset`.
json completion_logprobs(const std::vector<TokenOut>& tokens, const Tokenizer& tok, size_t& offset) {
    json pieces = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
    for (const TokenOut& t : tokens) {
        const std::string& piece = tok.token_to_piece(t.token);
        pieces.push_back(piece);
        lps.push_back(t.logprob);
        json top = json::object();
        for (const TokenLogprob& alt : t.top) top[tok.token_to_piece(alt.token)] = alt.logprob;
        tops.push_back(top);
        offsets.push_back(offset);
        offset += piece.size();
    }
    return {{"tokens", pieces}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

json piece_bytes(const std::string& piece) {
    json b = json::array();
    for (unsigned char c : piece) b.push_back(static_cast<int>(c));
    return b;
}

// The chat API's logprobs "content" entries.
json chat_logprobs(const std::vector<TokenOut>& tokens, const Tokenizer& tok) {
    json content = json::array();
    for (const TokenOut& t : tokens) {
        const std::string& piece = tok.token_to_piece(t.token);
        json top = json::array();
        for (const TokenLogprob& alt : t.top) {
            const std::string& p = tok.token_to_piece(alt.token);
            top.push_back({{"token", p}, {"logprob", alt.logprob}, {"bytes", piece_bytes(p)}});
        }
        content.push_back({{"token", piece}, {"logprob", t.logprob}, {"bytes", piece_bytes(piece)}, {"top_logprobs", top}});
    }
    return {{"content", content}};
}

json usage(int32_t n_prompt, int32_t n_generated) {
    return {{"prompt_tokens", n_prompt}, {"completion_tokens", n_generated}, {"total_tokens", n_prompt + n_generated}};
}

// What both OpenAI formatters share: the response header, its one choice (`key`: "text", "delta" or
// "message"), the stream's tail (the usage chunk when stream_options.include_usage asks, [DONE]) and
// its error event.
class OpenAiFormatter : public ResponseFormatter {
public:
    std::string stream_error(const std::string& message) override {
        return sse(openai_error_body(500, message, "")) + "data: [DONE]\n\n";
    }
    std::string stream_end(const StreamEvent& f) override { return stream_choice_end(f) + stream_close(f.n_prompt, f.n_generated); }
    // the usage chunk when stream_options.include_usage asks, then [DONE]
    std::string stream_close(int32_t n_prompt, int32_t n_generated) override {
        std::string out;
        if (req_.include_usage) {
            json u = header(chunk_object());
            u["choices"] = json::array();
            u["usage"] = usage(n_prompt, n_generated);
            out += sse(u);
        }
        return out + "data: [DONE]\n\n";
    }

protected:
    OpenAiFormatter(const ApiRequest& r, ResponseContext c) : req_(r), ctx_(std::move(c)) {}
    json header(const char* object) const {
        return {{"id", ctx_.id}, {"object", object}, {"created", ctx_.created}, {"model", ctx_.model}};
    }
    virtual const char* chunk_object() const = 0;  // the stream chunks' object name
    json with_choice(const char* object, const char* key, json value, json logprobs, const char* finish) const {
        json j = header(object);
        j["choices"] = json::array({json{{"index", ctx_.index},
                                         {key, std::move(value)},
                                         {"logprobs", std::move(logprobs)},
                                         {"finish_reason", finish ? json(finish) : json(nullptr)}}});
        return j;
    }
    json whole(json j, const StreamEvent& f) const {
        j["usage"] = usage(f.n_prompt, f.n_generated);
        return j;
    }
    ApiRequest req_;
    ResponseContext ctx_;
};

class CompletionFormatter : public OpenAiFormatter {
public:
    CompletionFormatter(const ApiRequest& r, ResponseContext c) : OpenAiFormatter(r, std::move(c)) {}

    std::string stream_begin() override { return req_.echo ? sse(chunk(req_.prompt_text, nullptr, nullptr)) : ""; }
    std::string stream_text(const StreamEvent& ev) override {
        if (ev.text.empty() && (req_.n_logprobs < 0 || ev.tokens.empty())) return "";
        json lp = req_.n_logprobs >= 0 ? completion_logprobs(ev.tokens, *ctx_.tokenizer, offset_) : json(nullptr);
        return sse(chunk(ev.text, lp, nullptr));
    }
    std::string stream_choice_end(const StreamEvent& f) override { return sse(chunk("", nullptr, openai_finish_reason(f.finish))); }
    json body(const std::string& text, const std::vector<TokenOut>& tokens, const StreamEvent& f) override {
        size_t offset = req_.echo ? req_.prompt_text.size() : 0;
        json lp = req_.n_logprobs >= 0 ? completion_logprobs(tokens, *ctx_.tokenizer, offset) : json(nullptr);
        return whole(with_choice(kObject, "text", (req_.echo ? req_.prompt_text : std::string()) + text, lp,
                                 openai_finish_reason(f.finish)),
                     f);
    }

private:
    static constexpr const char* kObject = "text_completion";  // (whole responses and chunks alike)
    const char* chunk_object() const override { return kObject; }
    json chunk(const std::string& text, const json& logprobs, const char* finish) const {
        return with_choice(kObject, "text", text, logprobs, finish);
    }
    size_t offset_ = 0;  // text_offset of the next streamed token
};

json tool_call_json(const ToolCall& c) {
    return {{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}};
}

// The chat endpoint. With tools (ApiRequest::tool_calls) the reply's <tool_call> blocks become the
// message's tool_calls (streamed: each call as one delta once its block has closed, the text around
// them as content) and the finish reason "tool_calls".
class ChatFormatter : public OpenAiFormatter {
public:
    ChatFormatter(const ApiRequest& r, ResponseContext c) : OpenAiFormatter(r, std::move(c)) {}

    std::string stream_begin() override { return sse(chunk({{"role", "assistant"}, {"content", ""}}, nullptr, nullptr)); }
    std::string stream_text(const StreamEvent& ev) override {
        if (ev.text.empty() && (req_.n_logprobs < 0 || ev.tokens.empty())) return "";
        json lp = req_.n_logprobs >= 0 ? chat_logprobs(ev.tokens, *ctx_.tokenizer) : json(nullptr);
        if (!req_.tool_calls) return sse(chunk({{"content", ev.text}}, lp, nullptr));
        if (req_.forced_tool_call && !opened_) {  // (the block's opening line ended the prompt)
            opened_ = true;
            (void)calls_.push(kToolCallOpen);
        }
        const ToolCallText t = calls_.push(ev.text);
        std::string out;
        if (!t.content.empty() || !lp.is_null()) out += sse(chunk({{"content", t.content}}, lp, nullptr));
        for (const ToolCall& c : t.calls) out += sse(call_chunk(c));
        return out;
    }
    std::string stream_choice_end(const StreamEvent& f) override {
        std::string out;
        if (req_.tool_calls) {
            if (req_.forced_tool_call) {
                if (!opened_) (void)calls_.push(kToolCallOpen);
                const ToolCallText t = calls_.push(kToolCallClose);
                // (a block that did not parse comes back here as text: the generated JSON)
                const std::string text = forced_tool_call_text(t.content);
                if (!text.empty()) out += sse(chunk({{"content", text}}, nullptr, nullptr));
                for (const ToolCall& c : t.calls) out += sse(call_chunk(c));
            }
            ToolCallText rest = calls_.finish();
            if (req_.forced_tool_call) rest.content = forced_tool_call_text(rest.content);  // (a call cut short: its JSON as text)
            if (!rest.content.empty()) out += sse(chunk({{"content", rest.content}}, nullptr, nullptr));
        }
        return out + sse(chunk(json::object(), nullptr, finish(f, calls_.any_call())));
    }
    json body(const std::string& text, const std::vector<TokenOut>& tokens, const StreamEvent& f) override {
        json lp = req_.n_logprobs >= 0 ? chat_logprobs(tokens, *ctx_.tokenizer) : json(nullptr);
        json message = {{"role", "assistant"}, {"content", text}};
        bool called = false;
        if (req_.tool_calls) {
            ToolCallText t = parse_tool_calls(req_.forced_tool_call ? forced_tool_call_block(text) : text);
            if (req_.forced_tool_call) t.content = forced_tool_call_text(t.content);
            if (!t.calls.empty()) {
                called = true;
                message["content"] = t.content.empty() ? json(nullptr) : json(t.content);
                message["tool_calls"] = json::array();
                for (const ToolCall& c : t.calls) message["tool_calls"].push_back(tool_call_json(c));
            }
        }
        return whole(with_choice("chat.completion", "message", message, lp, finish(f, called)), f);
    }

private:
    static constexpr const char* kChunk = "chat.completion.chunk";
    const char* chunk_object() const override { return kChunk; }
    json chunk(const json& delta, const json& logprobs, const char* finish) const {
        return with_choice(kChunk, "delta", delta, logprobs, finish);
    }
    json call_chunk(const ToolCall& c) {
        json call = tool_call_json(c);
        call["index"] = streamed_calls_++;
        return chunk({{"tool_calls", json::array({call})}}, nullptr, nullptr);
    }
    // "tool_calls" when the reply called a tool and ended by itself
    static const char* finish(const StreamEvent& f, bool called) {
        const bool ended = f.finish == FinishReason::Stop || f.finish == FinishReason::EndOfGeneration;
        return called && ended ? "tool_calls" : openai_finish_reason(f.finish);
    }
    ToolCallStream calls_;
    int streamed_calls_ = 0;
    bool opened_ = false;  // (forced call) the block's opening line given to calls_
};

}  // namespace

std::unique_ptr<ResponseFormatter> make_completion_formatter(const ApiRequest& request, ResponseContext context) {
    return std::make_unique<CompletionFormatter>(request, std::move(context));
}

std::unique_ptr<ResponseFormatter> make_chat_formatter(const ApiRequest& request, ResponseContext context) {
    return std::make_unique<ChatFormatter>(request, std::move(context));
}

}  // namespace rf::server
