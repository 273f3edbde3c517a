// The OpenAI API's /v1/completions and /v1/chat/completions: request bodies parsed into an
// ApiRequest (the prompt tokenized, chat messages rendered with the model's chat template), and
// the responses and stream chunks formatted as the API documents them (vLLM's extensions
// top_k, min_p, repetition_penalty, ignore_eos and chat_template_kwargs included).
#pragma once

#include <memory>

#include "server/api_request.h"

namespace rf::server {

ApiRequest parse_completion_request(const json& body, const Tokenizer& tokenizer);
ApiRequest parse_chat_request(const json& body, const Tokenizer& tokenizer);
// The prompt a chat request's messages render to with the model's chat template.
std::string chat_prompt(const json& body, const Tokenizer& tokenizer);

std::unique_ptr<ResponseFormatter> make_completion_formatter(const ApiRequest& request, ResponseContext context);
std::unique_ptr<ResponseFormatter> make_chat_formatter(const ApiRequest& request, ResponseContext context);

// "stop" for a stop string or an end of generation, "length" for max_tokens or a full context.
const char* openai_finish_reason(FinishReason reason);

// {"error": {"message", "type", "param", "code"}}
json openai_error_body(int status, const std::string& message, const std::string& param);

}  // namespace rf::server
