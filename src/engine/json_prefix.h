// The bytes of a JSON document written so far, checked against a compiled schema (json_schema.h): a
// pushdown automaton fed one byte at a time, which refuses the first byte no document of the schema can
// have there; where the schema offers alternatives that overlap (anyOf of objects) it follows each of
// them until they part. The constrained sampler copies it to try a token's bytes (a copy is the used
// frames only: a few hundred bytes per alternative followed).
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
#include <vector>

#include "engine/json_schema.h"

namespace rf {

// One way through the schema: a pushdown stack of the values being written. (JsonPrefix holds the ways
// still open: an anyOf of alternatives that overlap opens one per alternative.)
class JsonPath {
public:
    static constexpr int kMaxDepth = 32;
    static constexpr int kMaxIndent = 20;
    static constexpr int kMaxNumberBytes = 48;
    static constexpr int kMaxExponentDigits = 2;
    static constexpr int kMaxIntegerDigits = 18;

    explicit JsonPath(std::shared_ptr<const JsonSchema> schema);
    JsonPath(const JsonPath& o);
    JsonPath& operator=(const JsonPath& o);

    // Takes one byte: 0 refused (do not feed further), 1 taken, 3 a value of several alternatives starts
    // with it (nothing taken: resume() each alternative with the same byte, fork_node() names them).
    int feed(uint8_t c);
    int resume(int32_t alternative, uint8_t c);
    int32_t fork_node() const;
    bool complete() const;
    const JsonSchema& schema() const { return *schema_; }

private:
    enum class Kind : uint8_t { Root, Value, Object, Key, Array, String, Number, Literal };
    struct Frame {
        Kind kind;
        uint8_t phase;
        int32_t node;
        uint64_t bits;  // Object: properties seen; Key, Literal: candidates alive; Number: integer or exponent digits;
                        // String: characters
        int32_t pos;    // Key, Literal: bytes matched; Array: items; String: \u digits; Number: bytes
        int32_t prop;   // Object: property whose value is being written (-1: an additional one); Key: \u digits seen
        bool free;      // Key: an additional property's name is still possible; Number: after a '-'
        int64_t value;  // Number (a bounded integer): the digits' value so far
    };

    int step(uint8_t c);  // feed() without the whitespace count
    int value_start(Frame& f, uint8_t c);
    // a frame's answer to a byte: 0 refused, 1 taken, 2 the frame changed and the new top takes it, 3 fork
    int object_byte(Frame& f, uint8_t c);
    int key_byte(Frame& f, uint8_t c);
    int array_byte(Frame& f, uint8_t c);
    static int32_t item_node(const JsonSchemaNode& n, int32_t i);
    bool pattern_byte(Frame& f, uint8_t phase, uint8_t c, bool closing);
    bool push(Kind kind, int32_t node);
    void pop() { --depth_; }
    Frame& top() { return stack_[depth_ - 1]; }
    const JsonSchemaNode& node(int32_t i) const { return schema_->node(i); }
    const std::vector<std::string>& literals_of(const Frame& f) const;

    std::shared_ptr<const JsonSchema> schema_;
    Frame stack_[kMaxDepth + 2];
    int depth_ = 0;
    int ws_run_ = 0;  // whitespace bytes of the current gap (a lone space counts as a full gap)
    // The open string's characters so far where its node has a pattern, or the open number's bytes where
    // its node has decimal bounds (one scalar is open at a time), and the continuation bytes the string's
    // last UTF-8 character still lacks.
    std::string text_;
    int utf8_left_ = 0;
};

class JsonPrefix {
public:
    static constexpr int kMaxDepth = JsonPath::kMaxDepth;
    static constexpr int kMaxIndent = JsonPath::kMaxIndent;
    static constexpr int kMaxNumberBytes = JsonPath::kMaxNumberBytes;
    static constexpr int kMaxExponentDigits = JsonPath::kMaxExponentDigits;
    static constexpr int kMaxIntegerDigits = JsonPath::kMaxIntegerDigits;
    // Ways followed at once at most (alternatives past it are dropped: a document of them may then be
    // refused, never a document outside the schema taken).
    static constexpr size_t kMaxPaths = 32;

    explicit JsonPrefix(std::shared_ptr<const JsonSchema> schema);
    JsonPrefix(const JsonPrefix& o);
    JsonPrefix& operator=(const JsonPrefix& o);

    // Takes one byte; false (do not feed further) when no document of the schema continues this way.
    bool feed(uint8_t c);
    // Whether every byte of `bytes` can follow (the state itself unchanged); the second form works in
    // `scratch` (its storage reused: no allocation per call once it has grown).
    bool accepts(std::string_view bytes) const;
    bool accepts(std::string_view bytes, JsonPrefix& scratch) const;
    // Whether the bytes so far are a whole document (a top-level number or literal counts once it
    // could end here).
    bool complete() const;

private:
    static void advance(JsonPath& p, int r, uint8_t c, std::vector<JsonPath>& out);

    std::vector<JsonPath> paths_;
    std::vector<JsonPath> next_;  // (feed's second buffer: not copied)
};

}  // namespace rf
