#include "server/openai_api.h"

#include <fmt/format.h>

#include <limits>

#include "core/error.h"
#include "engine/chat.h"
#include "tokenizer/tokenizer.h"

namespace rf::server {
namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int32_t>::max();

// Fields both endpoints share: sampling, stop, stream, n, and the features refused by name.
void parse_common(const json& body, ApiRequest& r) {
    parse_sampling(body, r.gen.sampling, 2.0);
    r.gen.stop = string_list_field(body, "stop", 16);
    r.stream = bool_field(body, "stream", false);
    if (const json* so = find_field(body, "stream_options")) {
        if (!so->is_object())
            throw ApiError(400, "stream_options", "stream_options: expected an object, got " + describe_value(*so));
        r.include_usage = bool_field(*so, "include_usage", false);
    }
    if (int_field(body, "n", 1, 1, kMaxInt) != 1)
        throw ApiError(400, "n", fmt::format("n: {} choices asked for; this server gives one choice per request (n = 1)",
                                             describe_value(body["n"])));
    r.gen.ignore_eos = bool_field(body, "ignore_eos", false);
    refuse_field(body, "logit_bias", "no logit bias");
    refuse_field(body, "tools", "no tool calls");
    refuse_field(body, "functions", "no function calls");
    if (const json* tc = find_field(body, "tool_choice"); tc != nullptr && !(tc->is_string() && *tc == "none"))
        throw ApiError(400, "tool_choice", "tool_choice: " + describe_value(*tc) + " is not supported by this server (no tool calls)");
    if (const json* rf = find_field(body, "response_format")) {
        const bool text = rf->is_object() && rf->contains("type") && (*rf)["type"] == "text";
        if (!text)
            throw ApiError(400, "response_format",
                           "response_format: " + describe_value(*rf) + " is not supported by this server (plain text only)");
    }
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

std::string chat_prompt(const json& body, const Tokenizer& tokenizer) {
    const json& messages = required_field(body, "messages");
    if (!messages.is_array() || messages.empty())
        throw ApiError(400, "messages", "messages: expected a non-empty array, got " + describe_value(messages));
    json normalized = json::array();
    for (size_t i = 0; i < messages.size(); ++i) {
        const json& m = messages[i];
        const std::string at = fmt::format("messages[{}]", i);
        if (!m.is_object()) throw ApiError(400, "messages", at + ": expected an object, got " + describe_value(m));
        if (!m.contains("role") || !m["role"].is_string())
            throw ApiError(400, "messages", at + ".role: expected a string");
        std::string role = m["role"].get<std::string>();
        if (role == "developer") role = "system";
        if (role != "system" && role != "user" && role != "assistant")
            throw ApiError(400, "messages", fmt::format("{}.role: \"{}\" is not supported (system, developer, user, assistant)", at, role));
        if (m.contains("tool_calls") && !m["tool_calls"].is_null() && !m["tool_calls"].empty())
            throw ApiError(400, "messages", at + ".tool_calls: not supported by this server (no tool calls)");
        const std::string text = text_content(m.contains("content") ? m["content"] : json(nullptr), at + ".content", "part", true);
        normalized.push_back({{"role", role}, {"content", text}});
    }
    json context = {{"messages", normalized}, {"add_generation_prompt", true}};
    if (const json* kw = find_field(body, "chat_template_kwargs")) {
        if (!kw->is_object())
            throw ApiError(400, "chat_template_kwargs", "chat_template_kwargs: expected an object, got " + describe_value(*kw));
        for (auto it = kw->begin(); it != kw->end(); ++it) {
            if (it.key() == "messages")
                throw ApiError(400, "chat_template_kwargs", "chat_template_kwargs.messages: the messages come from \"messages\"");
            context[it.key()] = it.value();
        }
    }
    try {
        return render_chat(tokenizer, context);
    } catch (const Error& e) {
        throw ApiError(400, "messages", std::string("messages: the model's chat template failed: ") + e.what());
    }
}

ApiRequest parse_chat_request(const json& body, const Tokenizer& tokenizer) {
    ApiRequest r;
    parse_common(body, r);
    r.prompt_text = chat_prompt(body, tokenizer);
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

json usage(const StreamEvent& f) {
    return {{"prompt_tokens", f.n_prompt}, {"completion_tokens", f.n_generated}, {"total_tokens", f.n_prompt + f.n_generated}};
}

// What both OpenAI formatters share: the response header, its one choice (`key`: "text", "delta" or
// "message"), the stream's tail (the usage chunk when stream_options.include_usage asks, [DONE]) and
// its error event.
class OpenAiFormatter : public ResponseFormatter {
public:
    std::string stream_error(const std::string& message) override {
        return sse(openai_error_body(500, message, "")) + "data: [DONE]\n\n";
    }

protected:
    OpenAiFormatter(const ApiRequest& r, ResponseContext c) : req_(r), ctx_(std::move(c)) {}
    json header(const char* object) const {
        return {{"id", ctx_.id}, {"object", object}, {"created", ctx_.created}, {"model", ctx_.model}};
    }
    json with_choice(const char* object, const char* key, json value, json logprobs, const char* finish) const {
        json j = header(object);
        j["choices"] = json::array({json{{"index", 0},
                                         {key, std::move(value)},
                                         {"logprobs", std::move(logprobs)},
                                         {"finish_reason", finish ? json(finish) : json(nullptr)}}});
        return j;
    }
    // `last`: the chunk with the finish reason; `object`: the chunks' object name
    std::string stream_tail(const json& last, const char* object, const StreamEvent& f) const {
        std::string out = sse(last);
        if (req_.include_usage) {
            json u = header(object);
            u["choices"] = json::array();
            u["usage"] = usage(f);
            out += sse(u);
        }
        return out + "data: [DONE]\n\n";
    }
    json whole(json j, const StreamEvent& f) const {
        j["usage"] = usage(f);
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
    std::string stream_end(const StreamEvent& f) override {
        return stream_tail(chunk("", nullptr, openai_finish_reason(f.finish)), kObject, f);
    }
    json body(const std::string& text, const std::vector<TokenOut>& tokens, const StreamEvent& f) override {
        size_t offset = req_.echo ? req_.prompt_text.size() : 0;
        json lp = req_.n_logprobs >= 0 ? completion_logprobs(tokens, *ctx_.tokenizer, offset) : json(nullptr);
        return whole(with_choice(kObject, "text", (req_.echo ? req_.prompt_text : std::string()) + text, lp,
                                 openai_finish_reason(f.finish)),
                     f);
    }

private:
    static constexpr const char* kObject = "text_completion";  // (whole responses and chunks alike)
    json chunk(const std::string& text, const json& logprobs, const char* finish) const {
        return with_choice(kObject, "text", text, logprobs, finish);
    }
    size_t offset_ = 0;  // text_offset of the next streamed token
};

class ChatFormatter : public OpenAiFormatter {
public:
    ChatFormatter(const ApiRequest& r, ResponseContext c) : OpenAiFormatter(r, std::move(c)) {}

    std::string stream_begin() override { return sse(chunk({{"role", "assistant"}, {"content", ""}}, nullptr, nullptr)); }
    std::string stream_text(const StreamEvent& ev) override {
        if (ev.text.empty() && (req_.n_logprobs < 0 || ev.tokens.empty())) return "";
        json lp = req_.n_logprobs >= 0 ? chat_logprobs(ev.tokens, *ctx_.tokenizer) : json(nullptr);
        return sse(chunk({{"content", ev.text}}, lp, nullptr));
    }
    std::string stream_end(const StreamEvent& f) override {
        return stream_tail(chunk(json::object(), nullptr, openai_finish_reason(f.finish)), kChunk, f);
    }
    json body(const std::string& text, const std::vector<TokenOut>& tokens, const StreamEvent& f) override {
        json lp = req_.n_logprobs >= 0 ? chat_logprobs(tokens, *ctx_.tokenizer) : json(nullptr);
        return whole(with_choice("chat.completion", "message", {{"role", "assistant"}, {"content", text}}, lp,
                                 openai_finish_reason(f.finish)),
                     f);
    }

private:
    static constexpr const char* kChunk = "chat.completion.chunk";
    json chunk(const json& delta, const json& logprobs, const char* finish) const {
        return with_choice(kChunk, "delta", delta, logprobs, finish);
    }
};

}  // namespace

std::unique_ptr<ResponseFormatter> make_completion_formatter(const ApiRequest& request, ResponseContext context) {
    return std::make_unique<CompletionFormatter>(request, std::move(context));
}

std::unique_ptr<ResponseFormatter> make_chat_formatter(const ApiRequest& request, ResponseContext context) {
    return std::make_unique<ChatFormatter>(request, std::move(context));
}

}  // namespace rf::server
