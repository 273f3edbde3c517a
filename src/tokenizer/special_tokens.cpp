#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace rf {

SpecialTokenMatcher::SpecialTokenMatcher(const Vocab& vocab) : nodes_(1) {
    for (int32_t id = 0; id < vocab.n_tokens(); ++id) {
        const TokenType type = vocab.type_of(id);
        if (type != TokenType::control && type != TokenType::user_defined &&
            type != TokenType::unknown)
            continue;
        const std::string& text = vocab.tokens[id];
        if (text.empty()) continue;
        int32_t node = 0;
        for (const char c : text) {
            const auto byte = static_cast<uint8_t>(c);
            int32_t next = child(node, byte);
            if (next < 0) {
                next = static_cast<int32_t>(nodes_.size());
                auto& children = nodes_[node].children;
                children.insert(std::upper_bound(children.begin(), children.end(),
                                                 std::make_pair(byte, int32_t{-1})),
                                {byte, next});
                nodes_
                    .emplace_back();  // invalidates references into nodes_, hence the lookup above
            }
            node = next;
        }
        if (nodes_[node].token < 0) {  // duplicates are rejected by validate_vocab
            nodes_[node].token = id;
            nodes_[node].always = type == TokenType::user_defined;
            ++n_tokens_;
        }
        first_byte_[static_cast<uint8_t>(text[0])] = true;
    }
}

int32_t SpecialTokenMatcher::child(int32_t node, uint8_t byte) const {
    const auto& children = nodes_[node].children;
    const auto it =
        std::lower_bound(children.begin(), children.end(), std::make_pair(byte, int32_t{-1}));
    return it != children.end() && it->first == byte ? it->second : -1;
}

std::pair<size_t, int32_t> SpecialTokenMatcher::longest_match(std::string_view text,
                                                              bool parse_special) const {
    std::pair<size_t, int32_t> best{0, -1};
    int32_t node = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        node = child(node, static_cast<uint8_t>(text[i]));
        if (node < 0) break;
        const Node& n = nodes_[node];
        if (n.token >= 0 && (parse_special || n.always)) best = {i + 1, n.token};
    }
    return best;
}

void SpecialTokenMatcher::split(std::string_view text, bool parse_special,
                                std::vector<TextFragment>& out) const {
    size_t start = 0;  // start of the pending text fragment
    size_t i = 0;
    while (i < text.size()) {
        if (!first_byte_[static_cast<uint8_t>(text[i])]) {
            ++i;
            continue;
        }
        const auto [length, token] = longest_match(text.substr(i), parse_special);
        if (token < 0) {
            ++i;
            continue;
        }
        if (i > start) out.push_back({text.substr(start, i - start), -1});
        out.push_back({text.substr(i, length), token});
        i += length;
        start = i;
    }
    if (start < text.size()) out.push_back({text.substr(start), -1});
}

}  // namespace rf
