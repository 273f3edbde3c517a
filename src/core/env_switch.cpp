#include "core/env_switch.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"

namespace rf {

int env_choice(const char* name, std::initializer_list<const char*> values, int fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    int i = 0;
    std::string known;
    for (const char* option : values) {
        if (std::strcmp(v, option) == 0) return i;
        known += (i++ ? ", " : "") + std::string(option);
    }
    fail("environment: {}={} is not a value it takes ({})", name, v, known);
}

int env_int(const char* name, int lo, int hi, int fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE)
        fail("environment: {}={} is not an integer ({}..{})", name, v, lo, hi);
    return static_cast<int>(std::clamp<long>(n, lo, hi));
}

std::vector<std::string> env_list(const char* name) {
    std::vector<std::string> out;
    const char* v = std::getenv(name);
    if (v == nullptr) return out;
    const std::string list = v;
    for (size_t p = 0; p <= list.size();) {
        const size_t q = std::min(list.find(',', p), list.size());
        if (q > p) out.push_back(list.substr(p, q - p));
        p = q + 1;
    }
    return out;
}

}  // namespace rf
