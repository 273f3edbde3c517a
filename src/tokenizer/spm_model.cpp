#include "tokenizer/spm_model.h"

#include <algorithm>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace rf {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

}  // namespace

std::string spm_escape_whitespace(std::string_view text, bool add_prefix) {
    std::string out;
    out.reserve(text.size() + 8);
    if (add_prefix) out += kSpaceMarker;
    for (const char c : text) {
        if (c == ' ') {
            out += kSpaceMarker;
        } else {
            out += c;
        }
    }
    return out;
}

SpmModel::SpmModel(const Vocab& vocab, const TokenIndex& index) : vocab_(vocab), index_(index) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b) {
        const std::string name = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
        auto it = index.find(name);
        if (it == index.end()) it = index.find(std::string(1, static_cast<char>(b)));
        byte_tokens_[b] = it != index.end() ? it->second : -1;
    }
}

int32_t SpmModel::mergeable_token(std::string_view text) const {
    const auto it = index_.find(text);
    if (it == index_.end()) return -1;
    const TokenType type = vocab_.type_of(it->second);
    const bool mergeable = type == TokenType::normal || type == TokenType::user_defined ||
                           type == TokenType::undefined;
    return mergeable ? it->second : -1;
}

void SpmModel::append_bytes(std::string_view bytes, std::vector<int32_t>& out) const {
    for (const char c : bytes) {
        const auto b = static_cast<uint8_t>(c);
        if (byte_tokens_[b] >= 0) {
            out.push_back(byte_tokens_[b]);
        } else if (vocab_.unknown_token_id >= 0) {
            out.push_back(vocab_.unknown_token_id);
        } else {
            fail(
                "tokenizer: byte 0x{:02X} has no <0x{:02X}> token and the vocab has no unknown "
                "token",
                b, b);
        }
    }
}

void SpmModel::encode_fragment(std::string_view escaped, std::vector<int32_t>& out) const {
    struct Symbol {
        uint32_t start;
        uint32_t length;  // 0 once merged into its left neighbour
        int32_t prev;
        int32_t next;
    };
    struct Candidate {
        float score;
        int32_t left;
        int32_t right;
        uint32_t length;  // left.length + right.length when pushed
        // Max-heap order: higher score first, then the leftmost pair.
        bool operator<(const Candidate& o) const {
            return score != o.score ? score < o.score : left > o.left;
        }
    };
    std::vector<Symbol> symbols;
    std::vector<Candidate> heap;
    for (size_t pos = 0; pos < escaped.size();) {
        const auto length = static_cast<uint32_t>(utf8::symbol_length(escaped.substr(pos)));
        const auto i = static_cast<int32_t>(symbols.size());
        symbols.push_back({static_cast<uint32_t>(pos), length, i - 1, -1});
        if (i > 0) symbols[i - 1].next = i;
        pos += length;
    }
    // Appends the candidate merge of two neighbours when their concatenation is a token.
    auto add_candidate = [&](int32_t left, int32_t right) {
        if (left < 0 || right < 0) return false;
        const uint32_t length = symbols[left].length + symbols[right].length;
        const int32_t id = mergeable_token(escaped.substr(symbols[left].start, length));
        if (id < 0) return false;
        const float score = vocab_.scores.empty() ? 0.0f : vocab_.scores[id];
        heap.push_back({score, left, right, length});
        return true;
    };
    auto push_candidate = [&](int32_t left, int32_t right) {
        if (add_candidate(left, right)) std::push_heap(heap.begin(), heap.end());
    };
    for (size_t i = 1; i < symbols.size(); ++i)
        add_candidate(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
    std::make_heap(heap.begin(), heap.end());

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end());
        const Candidate c = heap.back();
        heap.pop_back();
        Symbol& left = symbols[c.left];
        Symbol& right = symbols[c.right];
        // Either side merged since the pair was pushed: its lengths no longer add up.
        if (left.length == 0 || right.length == 0 || left.length + right.length != c.length)
            continue;
        left.length += right.length;
        right.length = 0;
        left.next = right.next;
        if (right.next >= 0) symbols[right.next].prev = c.left;
        push_candidate(left.prev, c.left);
        push_candidate(c.left, left.next);
    }

    for (int32_t i = symbols.empty() ? -1 : 0; i >= 0; i = symbols[i].next) {
        const std::string_view text = escaped.substr(symbols[i].start, symbols[i].length);
        const int32_t id = mergeable_token(text);
        if (id >= 0) {
            out.push_back(id);
        } else {
            append_bytes(text, out);
        }
    }
}

}  // namespace rf
