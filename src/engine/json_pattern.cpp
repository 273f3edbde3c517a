#include "engine/json_pattern.h"

#include <array>

#include <pcre2.h>

#include "core/error.h"

namespace rf {

namespace {

// One match data and match context per thread (the sampler's thread), sized for the patterns' captures.
struct MatchState {
    pcre2_match_data* data = pcre2_match_data_create(16, nullptr);
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    MatchState() {
        RF_CHECK(data != nullptr && context != nullptr, "json schema pattern: out of memory creating PCRE2 match data");
        pcre2_set_match_limit(context, 1000000);  // (a pathological pattern fails the match: the prefix is refused)
    }
    ~MatchState() {
        pcre2_match_data_free(data);
        pcre2_match_context_free(context);
    }
};

MatchState& match_state() {
    thread_local MatchState s;
    return s;
}

}  // namespace

std::shared_ptr<const JsonPattern> JsonPattern::compile(const std::string& pattern, const std::string& where) {
    std::shared_ptr<JsonPattern> p(new JsonPattern());
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &error_code,
                                     &error_offset, nullptr);
    if (code == nullptr) {
        std::array<PCRE2_UCHAR, 256> message{};
        pcre2_get_error_message(error_code, message.data(), message.size());
        fail("json schema {}/pattern: \"{}\" is not a regular expression PCRE2 takes (at offset {}: {})", where, pattern,
             error_offset, reinterpret_cast<const char*>(message.data()));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE | PCRE2_JIT_PARTIAL_HARD);  // (an optimisation where available)
    uint32_t options = 0;
    pcre2_pattern_info(code, PCRE2_INFO_ALLOPTIONS, &options);
    p->anchored_ = (options & PCRE2_ANCHORED) != 0;
    p->code_ = code;
    return p;
}

JsonPattern::~JsonPattern() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

int JsonPattern::run(std::string_view text, bool partial) const {
    MatchState& s = match_state();
    return pcre2_match(static_cast<const pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0,
                       partial ? PCRE2_PARTIAL_HARD : 0, s.data, s.context);
}

bool JsonPattern::viable(std::string_view text) const {
    if (!anchored_ || text.empty()) return true;  // (PCRE2 reports no partial match before a character is inspected)
    const int rc = run(text, true);
    return rc >= 0 || rc == PCRE2_ERROR_PARTIAL;
}

bool JsonPattern::matches(std::string_view text) const { return run(text, false) >= 0; }

}  // namespace rf
