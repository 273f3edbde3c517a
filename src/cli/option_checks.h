// Checks for numeric and text options whose errors name the value (CLI11's NonNegativeNumber and
// PositiveNumber print their range up to DBL_MAX and let NaN through).
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <string>

namespace rf::cli {

namespace detail {
// Empty string when `text` is a finite number and ok(value); the error otherwise.
template <typename Ok>
std::string check_number(const std::string& text, Ok ok, const char* what) {
    double v = 0.0;
    if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v) || !ok(v))
        return "must be a finite number " + std::string(what) + " (got " + text + ")";
    return {};
}
}  // namespace detail

// >= 0 (counts, temperatures, thread counts where 0 means "all cores").
inline const CLI::Validator kNonNegative(
    [](std::string& v) { return detail::check_number(v, [](double x) { return x >= 0.0; }, ">= 0"); }, "NUMBER >= 0");

// > 0 (batch sizes, repetitions, penalties).
inline const CLI::Validator kPositive(
    [](std::string& v) { return detail::check_number(v, [](double x) { return x > 0.0; }, "> 0"); }, "NUMBER > 0");

// Any finite number (penalties that may be negative).
inline const CLI::Validator kFinite(
    [](std::string& v) { return detail::check_number(v, [](double) { return true; }, "(not NaN or infinite)"); }, "NUMBER");

// A non-empty string (an empty stop string would match everywhere).
inline const CLI::Validator kNonEmpty(
    [](std::string& v) { return v.empty() ? std::string("an empty string is not a valid value") : std::string(); }, "TEXT");

}  // namespace rf::cli
