// A forced tool call (OpenAI tool_choice "required" or {"type": "function", "function": {"name"}};
// Anthropic {"type": "any"} or {"type": "tool", "name"}): the reply is one Hermes block
// "<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>" (the form tool_calls.h parses and the
// Qwen templates ask for). The prompt ends with the block's opening line, the sampler's JSON schema
// (engine/json_schema.h) holds the JSON to {"name": the tool, "arguments": its parameters} (for "required" /
// "any": one such alternative per tool, up to JsonSchema::kMaxAlternatives tools; past that a name of
// them and any object), and generation ends with the JSON; the formatters put the block's lines around
// the generated text.
#pragma once

#include <memory>
#include <string>

#include "server/api_fields.h"

namespace rf {
class JsonSchema;
}

namespace rf::server {

inline constexpr const char* kToolCallOpen = "<tool_call>\n";
inline constexpr const char* kToolCallClose = "\n</tool_call>";

// tools: the request's tools in the templates' function form ([{"type": "function", "function": {"name",
// "parameters"}}]); forced: the forced tool ("": any of them). Throws ApiError (400, param `param`) for a
// name that is not a tool, or parameters outside the schema subset (naming the tool and the keyword).
std::shared_ptr<const JsonSchema> forced_tool_call_schema(const json& tools, const std::string& forced, const char* param);

// The generated text of a forced call as the block the tool-call parser reads.
inline std::string forced_tool_call_block(const std::string& generated) {
    return kToolCallOpen + generated + kToolCallClose;
}

// A forced call's block that did not parse (cut by max_tokens) as the reply's text: the generated JSON
// without the block's lines, which the model never wrote.
inline std::string forced_tool_call_text(std::string s) {
    const std::string open = kToolCallOpen, close = kToolCallClose;
    if (s.rfind(open, 0) == 0) s.erase(0, open.size());
    if (s.size() >= close.size() && s.compare(s.size() - close.size(), close.size(), close) == 0) s.resize(s.size() - close.size());
    return s;
}

}  // namespace rf::server
