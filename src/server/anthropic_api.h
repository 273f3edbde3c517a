// The Anthropic Messages API (/v1/messages): the request (system, messages of text content,
// max_tokens, stop_sequences, sampling) rendered with the model's chat template, and the
// response as a message object or its event stream (message_start, content_block_start,
// content_block_delta, content_block_stop, message_delta, message_stop).
#pragma once

#include <memory>

#include "server/api_request.h"

namespace rf::server {

ApiRequest parse_messages_request(const json& body, const Tokenizer& tokenizer);
// The prompt a Messages request's system and messages render to (what /v1/messages/count_tokens counts).
std::string messages_prompt(const json& body, const Tokenizer& tokenizer);
std::unique_ptr<ResponseFormatter> make_messages_formatter(const ApiRequest& request, ResponseContext context);

// "end_turn", "max_tokens" or "stop_sequence".
const char* anthropic_stop_reason(FinishReason reason);

// {"type": "error", "error": {"type", "message"}}
json anthropic_error_body(int status, const std::string& message);

}  // namespace rf::server
