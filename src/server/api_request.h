// What an API request asks for, whichever API it came through (OpenAI completions / chat,
// Anthropic messages), and how its response is written: a ResponseFormatter turns the
// scheduler's events into the API's JSON body or its server-sent events.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/api_fields.h"
#include "server/request_stream.h"

namespace rf {
class Tokenizer;
}

namespace rf::server {

struct ApiRequest {
    GenerationParams gen;
    bool stream = false;
    bool include_usage = false;  // OpenAI stream_options.include_usage: a last chunk with the usage
    int n_logprobs = -1;         // -1: none; else the chosen token's and this many alternatives
    bool echo = false;           // completions: the prompt's text before the completion
    std::string prompt_text;     // (for echo)
    bool tool_calls = false;     // chat with tools: <tool_call> blocks of the reply become tool_calls (tool_calls.h)
    bool forced_tool_call = false;  // tool_choice forces a call: the reply is the JSON of one block (forced_tool_call.h)
    int n = 1;                   // OpenAI: choices, each its own request (seeds seed, seed + 1, ... when one is given)
};

// The sampling fields the APIs share (temperature, top_p, top_k, min_p, seed, penalties), with the
// OpenAI defaults (temperature 1, every filter off). max_temperature: 2 (OpenAI) or 1 (Anthropic).
void parse_sampling(const json& body, SamplingParams& s, double max_temperature);

struct ResponseContext {
    const Tokenizer* tokenizer = nullptr;
    std::string model;   // the name requests and responses use
    std::string id;      // the response's id ("cmpl-...", "chatcmpl-...", "msg_...")
    int64_t created = 0; // unix seconds
    int index = 0;       // OpenAI: the choice this formatter writes (n > 1)
};

class ResponseFormatter {
public:
    virtual ~ResponseFormatter() = default;
    // Server-sent events: what goes before the first token, for each text event ("" = nothing),
    // at the end, and instead of the end when generation failed.
    virtual std::string stream_begin() = 0;
    virtual std::string stream_text(const StreamEvent& text) = 0;
    virtual std::string stream_end(const StreamEvent& finished) = 0;
    virtual std::string stream_error(const std::string& message) = 0;
    // Several choices in one stream (OpenAI n > 1): a choice's end without the stream's tail, and the
    // tail once every choice has ended (n_generated: all choices' tokens).
    virtual std::string stream_choice_end(const StreamEvent& finished) { return stream_end(finished); }
    virtual std::string stream_close(int32_t n_prompt, int32_t n_generated) { (void)n_prompt, (void)n_generated; return ""; }
    // The whole response at once (not streaming).
    virtual json body(const std::string& text, const std::vector<TokenOut>& tokens, const StreamEvent& finished) = 0;
};

// "data: <json>\n\n" (and "event: <name>\n" before it when name is not empty).
std::string sse(const json& data, const std::string& event = {});
// A fresh id with this prefix (hex digits of a random 96-bit number).
std::string make_response_id(const std::string& prefix);

}  // namespace rf::server
