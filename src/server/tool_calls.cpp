#include "server/tool_calls.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "server/api_request.h"

namespace rf::server {
namespace {

constexpr std::string_view kOpen = "<tool_call>";
constexpr std::string_view kClose = "</tool_call>";

std::string_view trim(std::string_view s) {
    const auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
}

// The call a whole block (<tool_call> ... </tool_call>) holds, if it is one.
std::optional<ToolCall> parse_block(std::string_view block) {
    const std::string_view inner = trim(block.substr(kOpen.size(), block.size() - kOpen.size() - kClose.size()));
    const nlohmann::json j = nlohmann::json::parse(inner, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return std::nullopt;
    ToolCall c;
    c.id = make_response_id("call_");
    c.name = j["name"].get<std::string>();
    if (!j.contains("arguments") || j["arguments"].is_null()) c.arguments = "{}";
    else if (j["arguments"].is_string()) c.arguments = j["arguments"].get<std::string>();  // (already JSON text)
    else c.arguments = j["arguments"].dump();
    return c;
}

// Length of the longest suffix of `s` that is a proper prefix of kOpen (text that may start a block).
size_t open_prefix_at_end(std::string_view s) {
    for (size_t n = std::min(s.size(), kOpen.size() - 1); n > 0; --n)
        if (s.substr(s.size() - n) == kOpen.substr(0, n)) return n;
    return 0;
}

}  // namespace

ToolCallText parse_tool_calls(const std::string& text) {
    ToolCallStream s;
    ToolCallText out = s.push(text);
    ToolCallText rest = s.finish();
    out.content += rest.content;
    if (!out.calls.empty()) out.content = std::string(trim(out.content));
    return out;
}

ToolCallText ToolCallStream::push(std::string_view piece) {
    ToolCallText out;
    pending_.append(piece);
    for (;;) {
        if (!std::string_view(pending_).starts_with(kOpen)) {
            const size_t at = pending_.find(kOpen);
            if (at == std::string::npos) {
                const size_t keep = open_prefix_at_end(pending_);
                out.content.append(pending_, 0, pending_.size() - keep);
                pending_.erase(0, pending_.size() - keep);
                return out;
            }
            out.content.append(pending_, 0, at);
            pending_.erase(0, at);
        }
        // an open block at the start of pending_
        const size_t close = pending_.find(kClose, kOpen.size());
        if (close == std::string::npos) return out;
        const size_t end = close + kClose.size();
        if (std::optional<ToolCall> c = parse_block(std::string_view(pending_).substr(0, end))) {
            out.calls.push_back(std::move(*c));
            ++calls_;
        } else {
            out.content.append(pending_, 0, end);
        }
        pending_.erase(0, end);
    }
}

ToolCallText ToolCallStream::finish() {
    ToolCallText out;
    out.content = std::move(pending_);
    pending_.clear();
    return out;
}

}  // namespace rf::server
