#include "tokenizer/pre_tokenizer.h"

#include <pcre2.h>

#include <array>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace rf {
namespace {

// Pre-tokenizer regexes as llama.cpp runs them (src/llama-vocab.cpp, llm_tokenizer_bpe). The
// contractions are spelled '[sS] rather than (?i:'s) as llama.cpp does, so no Unicode case
// folding applies ("'ſ" is not a contraction). `hf_regex` is the pattern the Hugging Face
// tokenizer.json of such a model holds (for vocab_from_hf); empty when none maps here.
struct KnownPre {
    std::vector<std::string_view> names;  // names[0] is the canonical one
    std::vector<std::string_view> patterns;
    std::string_view hf_regex;
    bool ignore_merges = false;
    bool add_bos_by_default = false;
};

constexpr std::string_view kContractions =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]))";

const std::vector<KnownPre>& known_pre_tokenizers() {
    static const std::vector<KnownPre> known = [] {
        static const std::string qwen2 =
            std::string(kContractions) +
            R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
        static const std::string qwen35 =
            std::string(kContractions) +
            R"(|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
        static const std::string llama3 =
            std::string(kContractions) +
            R"(|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
        static const std::string gpt2 =
            R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
        return std::vector<KnownPre>{
            {.names = {"qwen2", "deepseek-r1-qwen", "stablelm2"},
             .patterns = {qwen2},
             .hf_regex =
                 R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
            {.names = {"qwen35"},
             .patterns = {qwen35},
             .hf_regex =
                 R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"},
            {.names = {"llama-bpe", "llama3", "llama-v3", "falcon3"},
             .patterns = {llama3},
             .hf_regex =
                 R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
             .ignore_merges = true,
             .add_bos_by_default = true},
            {.names = {"gpt-2", "gpt2", "phi-2", "mpt", "olmo"},
             .patterns = {gpt2},
             .hf_regex =
                 R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"},
            {.names = {"default", ""},
             .patterns = {R"([\p{P}\$\+<=>\^~\|]+)", gpt2, R"(\p{N}+)", R"([0-9][0-9][0-9])"},
             .hf_regex = ""},
        };
    }();
    return known;
}

// PCRE2's \s (with PCRE2_UCP: \p{Z} plus \t..\r) lacks U+0085, which llama.cpp and Oniguruma
// (the Hugging Face regex engine) count as whitespace. Rewrite \s and \S as explicit classes of
// the Unicode White_Space property: [\t-\r\x{85}\p{Z}].
std::string expand_whitespace_classes(std::string_view pattern) {
    static constexpr std::string_view kSpaceSet = R"(\t-\r\x{85}\p{Z})";
    std::string out;
    bool in_class = false;
    for (size_t i = 0; i < pattern.size(); ++i) {
        const char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            const char e = pattern[++i];
            if (e == 's') {
                out += in_class ? std::string(kSpaceSet) : "[" + std::string(kSpaceSet) + "]";
            } else if (e == 'S') {
                RF_CHECK(!in_class,
                         "tokenizer: \\S inside a character class is not supported in '{}'",
                         pattern);
                out += "[^" + std::string(kSpaceSet) + "]";
            } else {
                out += c;
                out += e;
            }
            continue;
        }
        if (c == '[' && !in_class)
            in_class = true;
        else if (c == ']' && in_class)
            in_class = false;
        out += c;
    }
    return out;
}

}  // namespace

std::optional<PreTokenizerSpec> find_pre_tokenizer(std::string_view pre) {
    for (const auto& k : known_pre_tokenizers()) {
        for (const auto name : k.names) {
            if (name != pre) continue;
            PreTokenizerSpec spec;
            spec.name = std::string(k.names[0]);
            for (const auto p : k.patterns) spec.patterns.emplace_back(p);
            spec.ignore_merges = k.ignore_merges;
            spec.add_bos_by_default = k.add_bos_by_default;
            return spec;
        }
    }
    return std::nullopt;
}

std::string supported_pre_tokenizers() {
    std::string out;
    for (const auto& k : known_pre_tokenizers()) {
        for (const auto name : k.names) {
            if (name.empty()) continue;
            if (!out.empty()) out += ", ";
            out += name;
        }
    }
    return out;
}

std::optional<std::string> pre_tokenizer_for_hf_regex(std::string_view hf_regex) {
    for (const auto& k : known_pre_tokenizers()) {
        if (!k.hf_regex.empty() && k.hf_regex == hf_regex) return std::string(k.names[0]);
    }
    return std::nullopt;
}

struct PreTokenizer::Compiled {
    pcre2_code* code = nullptr;
    ~Compiled() { pcre2_code_free(code); }
};

// PCRE2's default match limit (10 million backtracking steps) fails "\s*[\r\n]+" on a run of
// ~10 MB of spaces; the patterns here backtrack at most linearly, so lift the limit.
struct PreTokenizer::MatchContext {
    pcre2_match_context* context = pcre2_match_context_create(nullptr);
    MatchContext() {
        RF_CHECK(context != nullptr, "tokenizer: out of memory creating a PCRE2 match context");
        pcre2_set_match_limit(context, ~uint32_t{0});
    }
    ~MatchContext() { pcre2_match_context_free(context); }
};

PreTokenizer::PreTokenizer(const std::vector<std::string>& patterns)
    : match_context_(std::make_unique<MatchContext>()) {
    for (const auto& pattern : patterns) {
        const std::string expanded = expand_whitespace_classes(pattern);
        int error_code = 0;
        PCRE2_SIZE error_offset = 0;
        auto compiled = std::make_unique<Compiled>();
        compiled->code = pcre2_compile(
            reinterpret_cast<PCRE2_SPTR>(expanded.data()), expanded.size(),
            PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code, &error_offset, nullptr);
        if (compiled->code == nullptr) {
            std::array<PCRE2_UCHAR, 256> message{};
            pcre2_get_error_message(error_code, message.data(), message.size());
            fail("tokenizer: pre-tokenizer regex '{}' does not compile at offset {}: {}", pattern,
                 error_offset, reinterpret_cast<const char*>(message.data()));
        }
        // JIT is an optimisation: where it is unavailable pcre2_match interprets the pattern.
        pcre2_jit_compile(compiled->code, PCRE2_JIT_COMPLETE);
        regexes_.push_back(std::move(compiled));
    }
}

PreTokenizer::~PreTokenizer() = default;

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& out) const {
    if (text.empty()) return;
    const size_t first = out.size();
    out.push_back(text);
    std::vector<std::string_view> pieces;
    for (const auto& regex : regexes_) {
        pcre2_match_data* match = pcre2_match_data_create_from_pattern(regex->code, nullptr);
        RF_CHECK(match != nullptr, "tokenizer: out of memory creating PCRE2 match data");
        pieces.clear();
        for (size_t i = first; i < out.size(); ++i) {
            const std::string_view piece = out[i];
            const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
            size_t pos = 0;      // where the next search starts
            size_t emitted = 0;  // end of what has been emitted so far
            while (pos < piece.size()) {
                const int rc = pcre2_match(regex->code, subject, piece.size(), pos, 0, match,
                                           match_context_->context);
                if (rc == PCRE2_ERROR_NOMATCH) break;
                if (rc < 0) {
                    pcre2_match_data_free(match);
                    std::array<PCRE2_UCHAR, 256> message{};
                    pcre2_get_error_message(rc, message.data(), message.size());
                    fail("tokenizer: pre-tokenizer regex failed at byte {}: {}", pos,
                         reinterpret_cast<const char*>(message.data()));
                }
                const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
                const size_t begin = ovector[0];
                const size_t end = ovector[1];
                if (end == begin) {  // no pattern here matches empty; skip a character to be safe
                    pos = begin + utf8::symbol_length(piece.substr(begin));
                    continue;
                }
                if (begin > emitted) pieces.push_back(piece.substr(emitted, begin - emitted));
                pieces.push_back(piece.substr(begin, end - begin));
                emitted = pos = end;
            }
            if (emitted < piece.size()) pieces.push_back(piece.substr(emitted));
        }
        pcre2_match_data_free(match);
        out.resize(first);
        out.insert(out.end(), pieces.begin(), pieces.end());
    }
}

}  // namespace rf
