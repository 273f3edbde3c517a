// The bytes of a JSON document written so far, checked against a compiled schema (json_schema.h): a
// pushdown automaton fed one byte at a time, which refuses the first byte no document of the schema can
// have there. The constrained sampler copies it to try a token's bytes (a copy is the used frames
// only: a few hundred bytes).
//
// Beside the schema it bounds what a model could spin forever on: whitespace between tokens is
// nothing, one space, or a newline and at most kMaxIndent spaces / tabs (llama.cpp's JSON grammar), numbers of at most kMaxNumberBytes bytes and kMaxExponentDigits exponent digits (a
// double holds every such number), integers of at most kMaxIntegerDigits digits (an int64 holds them),
// nesting of at most kMaxDepth values.
// Strings are JSON strings (escapes checked, no raw control bytes); bytes >= 0x80 are taken as they
// come (a token may end inside a UTF-8 character).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/json_schema.h"

namespace rf {

class JsonPrefix {
public:
    static constexpr int kMaxDepth = 32;
    static constexpr int kMaxIndent = 20;
    static constexpr int kMaxNumberBytes = 48;
    static constexpr int kMaxExponentDigits = 2;
    static constexpr int kMaxIntegerDigits = 18;

    explicit JsonPrefix(std::shared_ptr<const JsonSchema> schema);
    JsonPrefix(const JsonPrefix& o);
    JsonPrefix& operator=(const JsonPrefix& o);

    // Takes one byte; false (and the state unchanged in meaning: do not feed further) when no
    // document of the schema continues this way.
    bool feed(uint8_t c);
    // Whether every byte of `bytes` can follow (the state itself unchanged).
    bool accepts(std::string_view bytes) const;
    // Whether the bytes so far are a whole document (a top-level number or literal counts once it
    // could end here).
    bool complete() const;

private:
    enum class Kind : uint8_t { Root, Value, Object, Key, Array, String, Number, Literal };
    struct Frame {
        Kind kind;
        uint8_t phase;
        int32_t node;
        uint64_t bits;  // Object: properties seen; Key, Literal: candidates alive; Number: integer or exponent digits
        int32_t pos;    // Key, Literal: bytes matched; Array: items; String: \u digits; Number: bytes
        int32_t prop;   // Object: property whose value is being written (-1: an additional one); Key: \u digits seen
        bool free;      // Key: an additional property's name is still possible
    };

    bool step(uint8_t c);  // feed() without the whitespace count
    int value_start(Frame& f, uint8_t c);
    // a frame's answer to a byte: 0 refused, 1 taken, 2 the frame changed and the new top takes it
    int object_byte(Frame& f, uint8_t c);
    int key_byte(Frame& f, uint8_t c);
    int array_byte(Frame& f, uint8_t c);
    bool push(Kind kind, int32_t node);
    void pop() { --depth_; }
    Frame& top() { return stack_[depth_ - 1]; }
    const JsonSchemaNode& node(int32_t i) const { return schema_->node(i); }
    const std::vector<std::string>& literals_of(const Frame& f) const;

    std::shared_ptr<const JsonSchema> schema_;
    Frame stack_[kMaxDepth + 2];
    int depth_ = 0;
    int ws_run_ = 0;  // whitespace bytes of the current gap (a lone space counts as a full gap)
};

}  // namespace rf
