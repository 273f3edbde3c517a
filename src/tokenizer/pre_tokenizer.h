// Regex pre-tokenizers of byte-level BPE vocabularies, chosen by tokenizer.ggml.pre, run with
// PCRE2 (UTF + UCP, JIT-compiled, PCRE2_MATCH_INVALID_UTF so invalid UTF-8 never fails a match:
// invalid bytes simply never match and end up in the text between matches).
//
// A pre-tokenizer is a list of regexes applied one after the other, as llama.cpp does: the
// first splits the text into matches and the runs between them ("isolated" splitting, nothing
// is dropped), each later one splits every piece again. The pieces always concatenate back to
// the input.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rf {

struct PreTokenizerSpec {
    std::string name;                   // canonical llama.cpp name ("qwen2", "llama-bpe", ...)
    std::vector<std::string> patterns;  // PCRE2 syntax, applied in order
    bool ignore_merges = false;         // a piece that is already a token is emitted whole (llama3)
    bool add_bos_by_default =
        false;  // llama.cpp's default when tokenizer.ggml.add_bos_token is absent
};

// The spec for a tokenizer.ggml.pre value ("" means "default", as in llama.cpp), or nullopt.
std::optional<PreTokenizerSpec> find_pre_tokenizer(std::string_view pre);

// Comma-separated list of the accepted tokenizer.ggml.pre values, for error messages.
std::string supported_pre_tokenizers();

// The tokenizer.ggml.pre value whose Hugging Face tokenizer.json Split regex is `hf_regex`
// (as written in tokenizer.json), or nullopt. Used by vocab_from_hf.
std::optional<std::string> pre_tokenizer_for_hf_regex(std::string_view hf_regex);

class PreTokenizer {
  public:
    // Compiles the patterns; throws rf::Error naming the pattern and PCRE2's message.
    explicit PreTokenizer(const std::vector<std::string>& patterns);
    ~PreTokenizer();
    PreTokenizer(const PreTokenizer&) = delete;
    PreTokenizer& operator=(const PreTokenizer&) = delete;

    // Appends the pieces of `text` to `out` (views into `text`, none empty, in order).
    // Thread-safe: matching state is per call.
    void split(std::string_view text, std::vector<std::string_view>& out) const;

  private:
    struct Compiled;
    struct MatchContext;
    std::vector<std::unique_ptr<Compiled>> regexes_;
    std::unique_ptr<MatchContext> match_context_;  // read-only while matching
};

}  // namespace rf
