// The chat template rendered for an API request: the template's failure as a 400 naming "messages",
// and tools (the templates' function form: {"type": "function", "function": {"name", "description",
// "parameters"}}) only where the template shows them to the model: one that renders the same prompt
// with and without them is refused with a 400 naming "tools", never ignored.
#pragma once

#include <string>

#include "server/api_fields.h"

namespace rf {
class Tokenizer;
}

namespace rf::server {

// `context`: messages, add_generation_prompt and the template's own switches; `tools`: null or an array.
std::string render_chat_request(const Tokenizer& tokenizer, json context, const json& tools);

}  // namespace rf::server
