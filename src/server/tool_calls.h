// Tool calls in generated text, in the Hermes form the Qwen2.5 / Qwen3 chat templates ask for
// (vLLM's "hermes" tool parser):
//   <tool_call>
//   {"name": "get_weather", "arguments": {"city": "Paris"}}
//   </tool_call>
// A block whose JSON is not an object with a string "name" stays in the text, as written.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rf::server {

struct ToolCall {
    std::string id;         // "call_" + 24 hex digits
    std::string name;
    std::string arguments;  // the arguments as JSON text ("{}" when absent)
};

struct ToolCallText {
    std::string content;          // the text outside the blocks (trimmed where blocks were taken out)
    std::vector<ToolCall> calls;
};

// Every well-formed block of `text` taken out.
ToolCallText parse_tool_calls(const std::string& text);

// The same while text streams in: push() returns the content safe to show now (text that cannot be
// the start of a block) and the calls whose blocks have closed; finish() the rest (an unclosed
// block as content).
class ToolCallStream {
public:
    ToolCallText push(std::string_view piece);
    ToolCallText finish();
    bool any_call() const { return calls_ > 0; }

private:
    std::string pending_;  // text not yet given out: a possible block start, or an open block
    size_t calls_ = 0;
};

}  // namespace rf::server
