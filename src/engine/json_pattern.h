// A JSON Schema "pattern" (a regular expression a string value must match somewhere, ECMA-262 style)
// for the structured-output automaton (json_prefix.h): whether a string written so far can still be
// completed into a match, and whether a whole string matches. PCRE2 with UTF and Unicode properties;
// "$" is the end of the string only (PCRE2_DOLLAR_ENDONLY), as ECMA-262's. A pattern anchored at the
// start (every alternative begins with ^ or \A: PCRE2's own analysis) prunes the string as it is written,
// by partial matching (PCRE2_PARTIAL_HARD); any prefix can still end in a match of an unanchored one
// (append one), so only its closing quote is checked.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace rf {

class JsonPattern {
public:
    // Throws rf::Error naming `where` (a JSON pointer into the schema) and PCRE2's message when the
    // pattern does not compile.
    static std::shared_ptr<const JsonPattern> compile(const std::string& pattern, const std::string& where);
    ~JsonPattern();
    JsonPattern(const JsonPattern&) = delete;
    JsonPattern& operator=(const JsonPattern&) = delete;

    // text: the UTF-8 characters of a string value so far (whole characters: no sequence cut short).
    bool viable(std::string_view text) const;   // some continuation of text matches
    bool matches(std::string_view text) const;  // text itself matches

private:
    JsonPattern() = default;
    int run(std::string_view text, bool partial) const;

    void* code_ = nullptr;  // pcre2_code_8
    bool anchored_ = false;
};

}  // namespace rf
