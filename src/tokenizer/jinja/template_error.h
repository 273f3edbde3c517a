// Errors inside the Jinja interpreter. Code deep in the evaluator (a filter, a string method)
// does not know where in the template it runs, so it throws TemplateError without a location;
// the evaluator stamps the location of the innermost expression or statement on the way out,
// and Template turns it into rf::Error("chat template line 3, column 17: unknown filter 'foo'").
#pragma once

#include <fmt/format.h>

#include <exception>
#include <string>
#include <utility>

namespace rf::jinja {

// 1-based position in the template source (after \r\n -> \n normalisation).
struct Location {
    int line = 0;
    int column = 0;
};

class TemplateError : public std::exception {
public:
    explicit TemplateError(std::string message) : message_(std::move(message)) {}
    TemplateError(std::string message, Location where) : message_(std::move(message)), where_(where), located_(true) {}

    const char* what() const noexcept override { return message_.c_str(); }
    const std::string& message() const { return message_; }
    bool located() const { return located_; }
    Location where() const { return where_; }
    void locate(Location where) {
        where_ = where;
        located_ = true;
    }

private:
    std::string message_;
    Location where_;
    bool located_ = false;
};

template <typename... Args>
[[noreturn]] void throw_error(fmt::format_string<Args...> format, Args&&... args) {
    throw TemplateError(fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void throw_error_at(Location where, fmt::format_string<Args...> format, Args&&... args) {
    throw TemplateError(fmt::format(format, std::forward<Args>(args)...), where);
}

}  // namespace rf::jinja
