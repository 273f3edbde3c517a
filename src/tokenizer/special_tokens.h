// Splits text at special tokens before any other tokenization step: control tokens
// (<|im_start|>) when parse_special is on, user-defined tokens (<think>) always, as llama.cpp
// and Hugging Face do. At each position the longest matching token wins, scanning left to right
// (Hugging Face's leftmost-longest rule).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace rf {

// A piece of input: either text still to be tokenized (token < 0) or one special token.
struct TextFragment {
    std::string_view text;  // the matched token text for a special token
    int32_t token = -1;
};

class SpecialTokenMatcher {
  public:
    // Collects the non-empty control, user-defined and unknown tokens of the vocab.
    explicit SpecialTokenMatcher(const Vocab& vocab);

    // Appends the fragments of `text` to `out`; text fragments are never empty.
    void split(std::string_view text, bool parse_special, std::vector<TextFragment>& out) const;

    size_t size() const { return n_tokens_; }

  private:
    // Byte trie. Node 0 is the root; a node's children are a sorted list of (byte, node).
    struct Node {
        std::vector<std::pair<uint8_t, int32_t>> children;
        int32_t token = -1;
        bool always = false;  // user-defined: matched even without parse_special
    };
    int32_t child(int32_t node, uint8_t byte) const;
    // Length and id of the longest allowed token starting at text[0]; {0, -1} when none.
    std::pair<size_t, int32_t> longest_match(std::string_view text, bool parse_special) const;

    std::vector<Node> nodes_;
    bool first_byte_[256] = {};
    size_t n_tokens_ = 0;
};

}  // namespace rf
