#include "engine/json_prefix.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace rf {

namespace {

enum : int { kReject = 0, kTaken = 1, kRetry = 2, kFork = 3 };  // a frame's answer to a byte (kFork: an anyOf value starts)

bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_hex(uint8_t c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

uint64_t low_bits(size_t n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }

// A JSON string's bytes after the opening quote: phase 0 plain, 1 after a backslash, 2 in \uXXXX
// (digits counted in pos). kTaken, kReject, or kRetry for the closing quote (the caller ends the string).
int string_byte(uint8_t& phase, int32_t& pos, uint8_t c) {
    switch (phase) {
    case 0:
        if (c == '"') return kRetry;
        if (c == '\\') phase = 1;
        else if (c < 0x20) return kReject;
        return kTaken;
    case 1:
        if (c == 'u') {
            phase = 2;
            pos = 0;
            return kTaken;
        }
        if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
            phase = 0;
            return kTaken;
        }
        return kReject;
    default:
        if (!is_hex(c)) return kReject;
        if (++pos == 4) phase = 0;
        return kTaken;
    }
}

// Number states: 0 start, 1 after '-', 2 a leading 0, 3 integer digits, 4 after '.', 5 fraction
// digits, 6 after e / E, 7 after the exponent's sign, 8 exponent digits. Accepting: 2, 3, 5, 8.
bool number_accepting(uint8_t s) { return s == 2 || s == 3 || s == 5 || s == 8; }

// The next state, or -1 when c does not continue the number.
int number_next(uint8_t s, uint8_t c, bool integer) {
    switch (s) {
    case 0: return c == '-' ? 1 : c == '0' ? 2 : is_digit(c) ? 3 : -1;
    case 1: return c == '0' ? 2 : is_digit(c) ? 3 : -1;
    case 2:
    case 3:
        if (s == 3 && is_digit(c)) return 3;
        if (integer) return -1;
        return c == '.' ? 4 : (c == 'e' || c == 'E') ? 6 : -1;
    case 4: return is_digit(c) ? 5 : -1;
    case 5: return is_digit(c) ? 5 : (c == 'e' || c == 'E') ? 6 : -1;
    case 6: return (c == '+' || c == '-') ? 7 : is_digit(c) ? 8 : -1;
    case 7: return is_digit(c) ? 8 : -1;
    default: return is_digit(c) ? 8 : -1;
    }
}

const std::vector<std::string> kTrue = {"true"}, kFalse = {"false"}, kNull = {"null"};

bool bounded(const JsonSchemaNode& n) { return n.has_minimum || n.has_maximum || n.multiple_of > 1; }

bool within(const JsonSchemaNode& n, int64_t v) {
    return (!n.has_minimum || v >= n.minimum) && (!n.has_maximum || v <= n.maximum) && v % n.multiple_of == 0;
}

// Whether [lo, hi] holds a multiple of k (k >= 1; |lo|, |hi| below 10^18: no overflow).
bool holds_multiple(int64_t lo, int64_t hi, int64_t k) {
    if (lo > hi) return false;
    const int64_t r = ((lo % k) + k) % k;
    return (r == 0 ? lo : lo + (k - r)) <= hi;
}

// Whether an integer that starts with these digits (magnitude `v`, `digits` of them, after a '-' when
// neg; no digit yet: digits 0) can still end within the node's bounds (and on a multiple of its
// multipleOf) with at most `most` digits.
bool integer_reachable(const JsonSchemaNode& n, int64_t v, int digits, bool neg, int most) {
    const int64_t lo = n.has_minimum ? n.minimum : INT64_MIN, hi = n.has_maximum ? n.maximum : INT64_MAX;
    auto meets = [&](int64_t a, int64_t b) {  // magnitudes [a, b] with the sign
        const int64_t x = neg ? -b : a, y = neg ? -a : b;
        return holds_multiple(std::max(x, lo), std::min(y, hi), n.multiple_of);
    };
    if (digits > 0 && v == 0) return meets(0, 0);  // (a leading 0 ends the digits)
    int64_t p = 1;  // 10^j
    for (int j = 0; digits + j <= most; ++j, p *= 10) {
        if (digits == 0 && j == 0) continue;  // (no digit yet is no number)
        const int64_t a = digits == 0 ? (j == 1 ? 0 : p / 10) : v * p, b = digits == 0 ? p - 1 : v * p + (p - 1);
        if (meets(a, b)) return true;
    }
    return false;
}

// A bounded number (no exponent: sign, integer digits, '.', fraction digits) written so far as `t`:
// whether it can still end within the bounds. The magnitudes it can reach are [a, b) ranges: no digit
// yet [0, inf); integer digits I [I, I + 1) and, with more digits, [10 I, inf) (a leading 0: [0, 1));
// I.F [I.F, I.F + 10^-|F|); a '-' takes their negatives.
bool decimal_reachable(const DecimalBounds& d, const std::string& t) {
    constexpr long double kInf = std::numeric_limits<long double>::infinity();
    const bool neg = !t.empty() && t[0] == '-';
    const size_t from = neg ? 1 : 0, dot = t.find('.');
    const std::string whole = t.substr(from, dot == std::string::npos ? std::string::npos : dot - from);
    std::pair<long double, long double> ranges[2] = {{0.0L, kInf}, {kInf, kInf}};
    if (!whole.empty()) {
        const long double i = std::strtold(whole.c_str(), nullptr);
        if (dot != std::string::npos) {
            const std::string frac = t.substr(dot + 1);
            const long double v = std::strtold((whole + "." + frac + "0").c_str(), nullptr);
            ranges[0] = {v, v + std::pow(10.0L, -static_cast<long double>(frac.size()))};
        } else if (whole == "0") {
            ranges[0] = {0.0L, 1.0L};
        } else {
            ranges[0] = {i, i + 1.0L};
            ranges[1] = {i * 10.0L, kInf};
        }
    }
    for (const auto& [a, b] : ranges) {
        if (a == kInf) continue;
        const bool ok = neg ? (!d.has_min || (d.min_exclusive ? -a > d.min : -a >= d.min)) && (!d.has_max || -b < d.max)
                            : (!d.has_min || b > d.min) && (!d.has_max || (d.max_exclusive ? a < d.max : a <= d.max));
        if (ok) return true;
    }
    return false;
}

bool decimal_within(const DecimalBounds& d, const std::string& t) {
    const long double v = std::strtold(t.c_str(), nullptr);
    return (!d.has_min || (d.min_exclusive ? v > d.min : v >= d.min)) && (!d.has_max || (d.max_exclusive ? v < d.max : v <= d.max));
}

}  // namespace

JsonPath::JsonPath(std::shared_ptr<const JsonSchema> schema) : schema_(std::move(schema)) {
    stack_[0] = Frame{Kind::Root, 0, schema_->root(), 0, 0, -1, false, 0};
    depth_ = 1;
}

JsonPath::JsonPath(const JsonPath& o)
    : schema_(o.schema_), depth_(o.depth_), ws_run_(o.ws_run_), text_(o.text_), utf8_left_(o.utf8_left_) {
    std::copy_n(o.stack_, depth_, stack_);
}

JsonPath& JsonPath::operator=(const JsonPath& o) {
    if (this == &o) return *this;
    schema_ = o.schema_;
    depth_ = o.depth_;
    ws_run_ = o.ws_run_;
    text_ = o.text_;  // (capacity kept: no allocation once grown)
    utf8_left_ = o.utf8_left_;
    std::copy_n(o.stack_, depth_, stack_);
    return *this;
}

const std::vector<std::string>& JsonPath::literals_of(const Frame& f) const {
    switch (f.phase) {
    case 1: return kTrue;
    case 2: return kFalse;
    case 3: return kNull;
    default: return node(f.node).literals;
    }
}

bool JsonPath::push(Kind kind, int32_t node_index) {
    if (depth_ >= kMaxDepth) return false;
    stack_[depth_++] = Frame{kind, 0, node_index, 0, 0, -1, false, 0};
    return true;
}

int JsonPath::feed(uint8_t c) {
    if (!is_ws(c)) ws_run_ = 0;
    return step(c);
}

int JsonPath::resume(int32_t alternative, uint8_t c) {
    top().node = alternative;  // (the Value frame step() left on top)
    return step(c);
}

int32_t JsonPath::fork_node() const { return stack_[depth_ - 1].node; }

bool JsonPath::complete() const {
    int d = depth_;
    while (d > 1) {  // scalars that could end here
        const Frame& f = stack_[d - 1];
        if (f.kind == Kind::Number && number_accepting(f.phase)) {
            const JsonSchemaNode& n = node(f.node);
            const bool integer = !(n.kinds & kJsonNumber);
            if (integer && bounded(n) && !within(n, f.free ? -f.value : f.value)) break;
            if (!integer && n.decimal.any() && !decimal_within(n.decimal, text_)) break;  // (text_: this number's)
            --d;
            continue;
        }
        if (f.kind == Kind::Literal) {
            const auto& lits = literals_of(f);
            bool whole = false;
            for (size_t i = 0; i < lits.size(); ++i)
                whole = whole || (((f.bits >> i) & 1) && lits[i].size() == static_cast<size_t>(f.pos));
            if (whole) {
                --d;
                continue;
            }
        }
        break;
    }
    return d == 1 && stack_[0].phase == 1;
}

int JsonPath::step(uint8_t c) {
    for (;;) {
        if (depth_ == 0) return kReject;
        Frame& f = top();
        // whitespace between tokens: where a frame skips it, counted
        const bool skips_ws = f.kind == Kind::Value || f.kind == Kind::Object || f.kind == Kind::Array ||
                              (f.kind == Kind::Root && f.phase == 0);
        if (skips_ws && is_ws(c)) {
            // a gap between tokens: nothing, one space, or a newline and up to kMaxIndent spaces / tabs
            // (llama.cpp's JSON grammar)
            if (ws_run_ == 0) {
                if (c != ' ' && c != '\n') return kReject;
                ws_run_ = c == '\n' ? 1 : kMaxIndent + 2;
                return kTaken;
            }
            return (c == ' ' || c == '\t') && ++ws_run_ <= kMaxIndent + 1 ? kTaken : kReject;
        }
        int r = kReject;
        switch (f.kind) {
        case Kind::Root:
            if (f.phase != 0) return kReject;  // the document is whole: nothing may follow
            f.phase = 1;
            r = push(Kind::Value, f.node) ? kRetry : kReject;
            break;
        case Kind::Value: r = value_start(f, c); break;
        case Kind::Object: r = object_byte(f, c); break;
        case Kind::Key: r = key_byte(f, c); break;
        case Kind::Array: r = array_byte(f, c); break;
        case Kind::String: {
            const JsonSchemaNode& n = node(f.node);
            // characters (f.bits): a byte that starts one outside an escape (not a UTF-8 continuation byte)
            const bool starts_char = f.phase == 0 && c != '"' && (c < 0x80 || c >= 0xC0);
            if (starts_char && n.max_length >= 0 && f.bits >= static_cast<uint64_t>(n.max_length)) return kReject;
            if (f.phase == 0 && c == '"' && f.bits < static_cast<uint64_t>(n.min_length)) return kReject;
            const uint8_t phase = f.phase;
            int32_t pos = f.pos;
            r = string_byte(f.phase, pos, c);
            f.pos = pos;
            if (n.pattern && r != kReject && !pattern_byte(f, phase, c, r == kRetry)) return kReject;
            if (r == kTaken && starts_char) ++f.bits;
            if (r == kRetry) {  // the closing quote
                pop();
                r = kTaken;
            }
            break;
        }
        case Kind::Number: {
            const bool integer = !(node(f.node).kinds & kJsonNumber);
            const int next = number_next(f.phase, c, integer);
            const JsonSchemaNode& n = node(f.node);
            if (next >= 0) {
                f.phase = static_cast<uint8_t>(next);
                if (integer ? is_digit(c) : next == 8) ++f.bits;  // an integer's digits, else the exponent's
                const uint64_t most = integer ? kMaxIntegerDigits : kMaxExponentDigits;
                r = ++f.pos <= kMaxNumberBytes && f.bits <= most ? kTaken : kReject;
                if (r == kTaken && integer && bounded(n)) {  // (integer bounds, json_schema.h)
                    if (c == '-') f.free = true;
                    else f.value = f.value * 10 + (c - '0');
                    if (!integer_reachable(n, f.value, static_cast<int>(f.bits), f.free, kMaxIntegerDigits)) r = kReject;
                }
                if (r == kTaken && !integer && n.max_decimals >= 0) {  // (at most k decimals, no exponent; f.value counts them)
                    if (next >= 6 || (next == 5 && ++f.value > n.max_decimals)) return kReject;
                }
                if (r == kTaken && !integer && n.decimal.any()) {  // (decimal bounds: no exponent, the digits in text_)
                    if (next >= 6) return kReject;
                    text_ += static_cast<char>(c);
                    if (!decimal_reachable(n.decimal, text_)) r = kReject;
                }
            } else if (number_accepting(f.phase)) {
                if (integer && bounded(n) && !within(n, f.free ? -f.value : f.value)) return kReject;
                if (!integer && n.decimal.any() && !decimal_within(n.decimal, text_)) return kReject;
                pop();
                r = kRetry;
            }
            break;
        }
        case Kind::Literal: {
            const auto& lits = literals_of(f);
            uint64_t alive = 0;
            bool whole = false;
            for (size_t i = 0; i < lits.size(); ++i) {
                if (!((f.bits >> i) & 1)) continue;
                const std::string& l = lits[i];
                if (static_cast<size_t>(f.pos) < l.size() && static_cast<uint8_t>(l[static_cast<size_t>(f.pos)]) == c)
                    alive |= uint64_t{1} << i;
                whole = whole || l.size() == static_cast<size_t>(f.pos);
            }
            if (alive != 0) {
                f.bits = alive;
                ++f.pos;
                r = kTaken;
            } else if (whole) {
                pop();
                r = kRetry;
            }
            break;
        }
        }
        if (r != kRetry) return r;
    }
}

// The first byte of a value: the frame becomes the value's own frame, which has taken the opening
// byte of a container or a string (kTaken) or takes c itself (kRetry: numbers and literals).
int JsonPath::value_start(Frame& f, uint8_t c) {
    const JsonSchemaNode& n = node(f.node);
    if (!n.alternatives.empty()) return kFork;  // (the owner follows each alternative: JsonPrefix)
    f.phase = 0;
    f.pos = 0;
    f.bits = 0;
    if (!n.literals.empty()) {
        f.kind = Kind::Literal;
        f.bits = low_bits(n.literals.size());
        return kRetry;
    }
    const bool room = depth_ < kMaxDepth;  // (a container's members need a frame above it)
    if (c == '{' && (n.kinds & kJsonObject) && room) f.kind = Kind::Object;
    else if (c == '[' && (n.kinds & kJsonArray) && room) f.kind = Kind::Array;
    else if (c == '"' && (n.kinds & kJsonString)) {
        f.kind = Kind::String;
        text_.clear();  // (the pattern's text, where its node has one)
        utf8_left_ = 0;
    } else if ((c == '-' || is_digit(c)) && (n.kinds & (kJsonNumber | kJsonInteger))) {
        f.kind = Kind::Number;
        text_.clear();  // (a bounded decimal's digits)
    }
    else if ((c == 't' || c == 'f') && (n.kinds & kJsonBoolean)) {
        f.kind = Kind::Literal;
        f.phase = c == 't' ? 1 : 2;
        f.bits = 1;
    } else if (c == 'n' && (n.kinds & kJsonNull)) {
        f.kind = Kind::Literal;
        f.phase = 3;
        f.bits = 1;
    } else {
        return kReject;
    }
    return f.kind == Kind::Number || f.kind == Kind::Literal ? kRetry : kTaken;
}

// Object phases: 0 after '{', 1 after a key, 2 after ':', 3 after a value, 4 after ','.
int JsonPath::object_byte(Frame& f, uint8_t c) {
    const JsonSchemaNode& n = node(f.node);
    // (f.pos: the members begun, for minProperties / maxProperties)
    const bool room = n.max_properties < 0 || f.pos < n.max_properties;
    auto close = [&] {
        if ((n.required & ~f.bits) != 0 || f.pos < n.min_properties) return kReject;
        pop();
        return kTaken;
    };
    auto open_key = [&] {
        const uint64_t unseen = low_bits(n.properties.size()) & ~f.bits;
        const bool free = n.additional != JsonSchema::kNoNode;
        if ((unseen == 0 && !free) || !room) return kReject;
        // where the members left are as many as the required ones unseen, this one must be one of them
        const uint64_t needed = n.required & ~f.bits;
        const bool tight = n.max_properties >= 0 && needed != 0 && std::popcount(needed) >= n.max_properties - f.pos;
        if (!push(Kind::Key, f.node)) return kReject;
        Frame& k = top();
        k.bits = tight ? needed : low_bits(n.properties.size());  // (a seen name is refused at its end)
        k.free = free && !tight;
        k.pos = 1;  // (the names' literals start with their opening quote)
        ++f.pos;
        return kTaken;
    };
    switch (f.phase) {
    case 0: return c == '"' ? open_key() : c == '}' ? close() : kReject;
    case 1:
        if (c != ':') return kReject;
        f.phase = 2;
        return kTaken;
    case 2: {
        f.phase = 3;
        const int32_t child = f.prop >= 0 ? n.properties[static_cast<size_t>(f.prop)].second : n.additional;
        return push(Kind::Value, child) ? kRetry : kReject;
    }
    case 3: {
        if (c == '}') return close();
        // a ',' only where another property can follow (else the object could only be left unclosed)
        const bool more = ((low_bits(n.properties.size()) & ~f.bits) != 0 || n.additional != JsonSchema::kNoNode) && room;
        if (c != ',' || !more) return kReject;
        f.phase = 4;
        return kTaken;
    }
    default: return c == '"' ? open_key() : kReject;
    }
}

// A property name after its opening quote: the listed names still matching (bits) and, where the
// object takes other properties, any string (free); the string's escape state in phase / hex count.
int JsonPath::key_byte(Frame& f, uint8_t c) {
    Frame& obj = stack_[depth_ - 2];
    const JsonSchemaNode& n = node(obj.node);
    const bool closing = c == '"' && f.phase == 0;
    int32_t hex = f.prop;  // (a Key frame's prop: the \u digits seen)
    uint8_t phase = f.phase;
    if (!closing && string_byte(phase, hex, c) == kReject) return kReject;
    uint64_t alive = 0;
    int32_t matched = -1;
    for (size_t i = 0; i < n.properties.size(); ++i) {
        if (!((f.bits >> i) & 1)) continue;
        const std::string& l = n.properties[i].first;
        const size_t p = static_cast<size_t>(f.pos);
        if (p >= l.size() || static_cast<uint8_t>(l[p]) != c) continue;
        if (closing && p + 1 == l.size()) matched = static_cast<int32_t>(i);
        else alive |= uint64_t{1} << i;
    }
    if (closing) {
        if (matched >= 0) {
            if ((obj.bits >> matched) & 1) return kReject;  // a property written twice
            obj.bits |= uint64_t{1} << matched;
        } else if (!f.free) {
            return kReject;
        }
        obj.prop = matched;
        obj.phase = 1;
        pop();
        return kTaken;
    }
    f.phase = phase;
    f.prop = hex;
    f.bits = alive;
    ++f.pos;
    if ((alive & ~obj.bits) == 0 && !f.free) return kReject;
    return kTaken;
}

// A byte of a string with a pattern, taken by the string automaton in `phase` (0 plain, 1 after a
// backslash): the decoded characters go to text_ and are checked against the pattern as they come
// (pruning by partial matching where the pattern is anchored, json_pattern.h), the closing quote needs
// a match. So that no byte leaves the string without a way on: a backslash only where one of the
// characters a one-letter escape gives fits (\u escapes are not taken in such strings: the characters
// come as UTF-8), a UTF-8 character's second-to-last byte only where one of its last bytes fits.
// (The bytes of a 3- or 4-byte character before its second-to-last are taken as they come: should no
// such character fit, the output has no way on, an error rather than a document outside the schema.)
bool JsonPath::pattern_byte(Frame& f, uint8_t phase, uint8_t c, bool closing) {
    const JsonPattern& pattern = *node(f.node).pattern;
    if (closing) return pattern.matches(text_);
    auto fits_after = [&](auto first, auto last) {  // some byte in [first, last] can follow text_
        for (int b = first; b <= last; ++b) {
            text_.push_back(static_cast<char>(b));
            const bool ok = pattern.viable(text_);
            text_.pop_back();
            if (ok) return true;
        }
        return false;
    };
    static constexpr char kEscapeLetters[] = "\"\\/bfnrt";  // (string_byte took c: it is one of these)
    static constexpr char kEscaped[] = {'"', '\\', '/', '\b', '\f', '\n', '\r', '\t'};
    if (phase == 0 && c == '\\') {
        for (char x : kEscaped)
            if (fits_after(static_cast<uint8_t>(x), static_cast<uint8_t>(x))) return true;
        return false;
    }
    if (phase == 1) {
        if (c == 'u') return false;
        text_ += kEscaped[std::strchr(kEscapeLetters, c) - kEscapeLetters];
        return pattern.viable(text_);
    }
    text_ += static_cast<char>(c);
    if (c >= 0xC0) utf8_left_ = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    else if (c >= 0x80 && utf8_left_ > 0) --utf8_left_;
    else utf8_left_ = 0;  // (ASCII, or a stray continuation byte: the pattern then sees invalid UTF-8)
    // (never a character cut short to PCRE2: its JIT and its interpreter answer those differently)
    if (utf8_left_ >= 2) return true;
    return utf8_left_ == 1 ? fits_after(0x80, 0xBF) : pattern.viable(text_);
}

// The node of an array's item i: its tuple's (prefixItems) while there is one, then items'.
int32_t JsonPath::item_node(const JsonSchemaNode& n, int32_t i) {
    return static_cast<size_t>(i) < n.prefix_items.size() ? n.prefix_items[static_cast<size_t>(i)] : n.items;
}

// Array phases: 0 after '[', 1 after an item, 2 after ','; pos counts the items begun.
int JsonPath::array_byte(Frame& f, uint8_t c) {
    const JsonSchemaNode& n = node(f.node);
    switch (f.phase) {
    case 0:
        if (c == ']') {
            if (n.min_items > 0) return kReject;
            pop();
            return kTaken;
        }
        if (n.max_items == 0) return kReject;
        f.pos = 1;
        f.phase = 1;
        return push(Kind::Value, item_node(n, 0)) ? kRetry : kReject;
    case 1:
        if (c == ']') {
            if (f.pos < n.min_items) return kReject;
            pop();
            return kTaken;
        }
        if (c != ',' || (n.max_items >= 0 && f.pos >= n.max_items)) return kReject;
        f.phase = 2;
        return kTaken;
    default:
        ++f.pos;
        f.phase = 1;
        return push(Kind::Value, item_node(n, f.pos - 1)) ? kRetry : kReject;
    }
}

// ---- JsonPrefix: the paths still alive --------------------------------------------------------

JsonPrefix::JsonPrefix(std::shared_ptr<const JsonSchema> schema) { paths_.emplace_back(std::move(schema)); }

JsonPrefix::JsonPrefix(const JsonPrefix& o) : paths_(o.paths_) {}

JsonPrefix& JsonPrefix::operator=(const JsonPrefix& o) {
    if (this != &o) paths_ = o.paths_;  // (the vector keeps its storage where it is large enough)
    return *this;
}

void JsonPrefix::advance(JsonPath& p, int r, uint8_t c, std::vector<JsonPath>& out) {
    if (r == kTaken) {
        if (out.size() < kMaxPaths) out.push_back(p);
        return;
    }
    if (r != kFork) return;
    const std::vector<int32_t>& alts = p.schema().node(p.fork_node()).alternatives;
    for (int32_t a : alts) {
        JsonPath q(p);
        const int rq = q.resume(a, c);
        advance(q, rq, c, out);
    }
}

bool JsonPrefix::feed(uint8_t c) {
    next_.clear();
    for (JsonPath& p : paths_) {
        const int r = p.feed(c);
        advance(p, r, c, next_);
    }
    paths_.swap(next_);
    return !paths_.empty();
}

bool JsonPrefix::accepts(std::string_view bytes, JsonPrefix& scratch) const {
    scratch = *this;
    for (char ch : bytes)
        if (!scratch.feed(static_cast<uint8_t>(ch))) return false;
    return true;
}

bool JsonPrefix::accepts(std::string_view bytes) const {
    JsonPrefix t(*this);
    return accepts(bytes, t);
}

bool JsonPrefix::complete() const {
    for (const JsonPath& p : paths_)
        if (p.complete()) return true;
    return false;
}

}  // namespace rf
