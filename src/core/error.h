// rocmforge error handling: one exception type whose message names the place and the value,
// e.g. "gguf: tensor 'blk.3.attn_q.weight' offset 12345 is past the end of the file (size 9000)".
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace rf {

class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace rf

// RF_CHECK(cond, "fmt", args...): throws rf::Error with the formatted message when cond is false.
#define RF_CHECK(cond, ...)                  \
    do {                                     \
        if (!(cond)) ::rf::fail(__VA_ARGS__); \
    } while (0)
