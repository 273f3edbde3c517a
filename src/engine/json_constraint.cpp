#include "engine/json_constraint.h"

#include <array>
#include <limits>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace rf {

JsonTokenConstraint::JsonTokenConstraint(std::shared_ptr<const JsonSchema> schema, const Tokenizer& tokenizer)
    : tokenizer_(tokenizer), state_(schema), scratch_(std::move(schema)) {}

bool JsonTokenConstraint::allows(int32_t token) const {
    if (tokenizer_.is_eog(token)) return state_.complete();
    if (tokenizer_.is_control(token)) return false;
    const std::string& piece = tokenizer_.token_to_piece(token, /*special=*/true);
    return !piece.empty() && state_.accepts(piece, scratch_);
}

void JsonTokenConstraint::mask(std::span<float> logits) const {
    // A token whose first byte cannot come next is out without trying the rest of it.
    std::array<bool, 256> first{};
    for (int b = 0; b < 256; ++b) {
        const char ch = static_cast<char>(b);
        first[static_cast<size_t>(b)] = state_.accepts(std::string_view(&ch, 1), scratch_);
    }
    const bool whole = state_.complete();
    const float out = -std::numeric_limits<float>::infinity();
    bool any = false;
    for (size_t t = 0; t < logits.size(); ++t) {
        const int32_t id = static_cast<int32_t>(t);
        bool ok;
        if (tokenizer_.is_eog(id)) {
            ok = whole;
        } else if (tokenizer_.is_control(id)) {
            ok = false;
        } else {
            const std::string& piece = tokenizer_.token_to_piece(id, /*special=*/true);
            ok = !piece.empty() && first[static_cast<uint8_t>(piece[0])] &&
                 (piece.size() == 1 || state_.accepts(piece, scratch_));
        }
        if (!ok) logits[t] = out;
        any = any || (ok && logits[t] != out);
    }
    RF_CHECK(any, "json constraint: no token of the vocabulary continues the JSON document here");
}

void JsonTokenConstraint::accept(int32_t token) {
    RF_CHECK(allows(token), "json constraint: token {} does not continue the JSON document", token);
    if (tokenizer_.is_eog(token)) return;
    for (char c : tokenizer_.token_to_piece(token, /*special=*/true)) (void)state_.feed(static_cast<uint8_t>(c));
}

}  // namespace rf
