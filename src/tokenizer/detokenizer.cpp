#include "tokenizer/detokenizer.h"

#include "tokenizer/utf8.h"

namespace rf {

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(tokenizer),
      skip_special_(skip_special),
      strip_leading_space_(tokenizer.strips_space_prefix()) {}

std::string StreamingDetokenizer::push(int32_t id) {
    std::string text = std::move(pending_);
    pending_.clear();
    tokenizer_.append_piece(id, skip_special_, strip_leading_space_, text);
    const size_t held = utf8::incomplete_tail_length(text);
    pending_.assign(text, text.size() - held, held);
    text.resize(text.size() - held);
    return text;
}

std::string StreamingDetokenizer::flush() {
    std::string text = std::move(pending_);
    pending_.clear();
    strip_leading_space_ = tokenizer_.strips_space_prefix();
    return text;
}

}  // namespace rf
