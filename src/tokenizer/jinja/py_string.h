// Python str operations on UTF-8 strings. Python strings are sequences of code points, so
// length, indexing and slicing count code points, not bytes. Case mapping is ASCII-only (chat
// templates upper-case role names, not prose); whitespace follows Python's str.isspace().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rf::jinja::py {

// UTF-8 <-> code points. Invalid bytes decode as U+FFFD, one per byte.
std::u32string decode(std::string_view s);
std::string encode(std::u32string_view s);
void append_utf8(std::string& out, char32_t cp);
size_t length(std::string_view s);  // in code points

bool is_space(char32_t c);  // Python str.isspace()

// str.strip / lstrip / rstrip: chars == nullopt strips whitespace, otherwise any of chars.
std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);

// str.split(sep=None, maxsplit=-1) and str.rsplit.
std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit);
// str.splitlines(keepends=False): \n, \r, \r\n, \v, \f, \x1c-\x1e, \x85, \u2028, \u2029.
std::vector<std::string> splitlines(std::string_view s);

std::string replace(std::string_view s, std::string_view old, std::string_view replacement, int64_t count);
// str.find in code points (-1 when absent); str.count of non-overlapping occurrences.
int64_t find(std::string_view s, std::string_view sub);
int64_t rfind(std::string_view s, std::string_view sub);
int64_t count(std::string_view s, std::string_view sub);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string capitalize(std::string_view s);    // str.capitalize(): first upper, rest lower
std::string title_method(std::string_view s);  // str.title(): upper after any non-letter
std::string title_filter(std::string_view s);  // Jinja |title: upper after whitespace - ( { [ <

// Python's default repr of a str: 'abc', "it's", escapes for \n \t \\ and control chars.
std::string repr(std::string_view s);

// Python slice index normalisation for a sequence of n items; step != 0.
// Returns the selected indices in order.
std::vector<int64_t> slice_indices(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step);

}  // namespace rf::jinja::py
