#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <optional>

#include "core/error.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/spm_model.h"

namespace rf {
namespace {

// Token texts llama.cpp treats as end of generation (src/llama-vocab.cpp, special_eog_ids),
// including Qwen's fill-in-the-middle pad / repo / file separators.
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>",         "<|im_end|>",  "<|end|>",       "<end_of_turn>",
    "<|endoftext|>",      "<|eom_id|>",  "<EOT>",         "<|end_of_text|>",
    "<end_of_utterance>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
};

// "<0x0A>" -> 0x0A; -1 for any other text.
int parse_byte_token(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
    const int hi = hex(text[3]);
    const int lo = hex(text[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string unescape_spm(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text.substr(i, 3) == "\xE2\x96\x81") {
            out += ' ';
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

bool is_split_out(TokenType type) {
    return type == TokenType::control || type == TokenType::unknown ||
           type == TokenType::user_defined;
}

}  // namespace

struct Tokenizer::Impl {
    Vocab vocab;
    TokenIndex index;
    std::optional<SpecialTokenMatcher> specials;
    std::optional<PreTokenizer> pre_tokenizer;
    std::optional<BpeModel> bpe;
    std::optional<SpmModel> spm;
    std::vector<std::string> pieces;  // [n_vocab] bytes of each token, control tokens as their text
    std::vector<int32_t> eog_ids;     // sorted
    int32_t eot_id = -1;
    bool add_bos = false;
    bool add_eos = false;
    bool add_space_prefix = false;

    explicit Impl(Vocab v) : vocab(std::move(v)) {
        validate_vocab(vocab);
        index = index_tokens(vocab);
        specials.emplace(vocab);
        const bool is_bpe = vocab.model == "gpt2";
        bool add_bos_by_default = !is_bpe;
        if (is_bpe) {
            const auto spec = find_pre_tokenizer(vocab.pre);  // known: validate_vocab checked it
            pre_tokenizer.emplace(spec->patterns);
            bpe.emplace(vocab, index, spec->ignore_merges);
            add_bos_by_default = spec->add_bos_by_default;
        } else {
            spm.emplace(vocab, index);
        }
        add_bos = vocab.add_bos_token.value_or(add_bos_by_default && vocab.bos_token_id >= 0);
        add_eos = vocab.add_eos_token.value_or(false);
        add_space_prefix = !is_bpe && vocab.add_space_prefix.value_or(true);
        RF_CHECK(!add_bos || vocab.bos_token_id >= 0,
                 "tokenizer: tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id "
                 "is not set");
        RF_CHECK(!add_eos || vocab.eos_token_id >= 0,
                 "tokenizer: tokenizer.ggml.add_eos_token is true but tokenizer.ggml.eos_token_id "
                 "is not set");

        pieces.resize(vocab.tokens.size());
        for (int32_t id = 0; id < vocab.n_tokens(); ++id) pieces[id] = make_piece(id);

        // End of turn: the GGUF key, else the first of llama.cpp's end-of-turn texts present.
        eot_id = vocab.eot_token_id;
        for (const auto text :
             {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>"}) {
            if (eot_id >= 0) break;
            const auto it = index.find(text);
            if (it != index.end()) eot_id = it->second;
        }
        for (const int32_t id : {vocab.eos_token_id, eot_id, vocab.eom_token_id}) {
            if (id >= 0) eog_ids.push_back(id);
        }
        for (const auto text : kEogTexts) {
            const auto it = index.find(text);
            if (it != index.end()) eog_ids.push_back(it->second);
        }
        std::sort(eog_ids.begin(), eog_ids.end());
        eog_ids.erase(std::unique(eog_ids.begin(), eog_ids.end()), eog_ids.end());
    }

    std::string make_piece(int32_t id) const {
        const std::string& text = vocab.tokens[id];
        switch (vocab.type_of(id)) {
            case TokenType::control:
            case TokenType::unknown:
            case TokenType::user_defined:
                return text;
            case TokenType::unused:
                return {};
            case TokenType::byte: {
                const int b = parse_byte_token(text);
                if (b >= 0) return std::string(1, static_cast<char>(b));
                break;  // not of the <0xXX> form: decode like a normal token
            }
            case TokenType::normal:
            case TokenType::undefined:
                break;
        }
        return vocab.model == "gpt2" ? byte_level::decode(text) : unescape_spm(text);
    }

    void check_id(int32_t id) const {
        RF_CHECK(id >= 0 && id < vocab.n_tokens(),
                 "tokenizer: token id {} is out of range (vocab has {} tokens)", id,
                 vocab.n_tokens());
    }
};

Tokenizer::Tokenizer(Vocab vocab) : impl_(std::make_unique<Impl>(std::move(vocab))) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
    const Impl& m = *impl_;
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (add_special && m.add_bos) out.push_back(m.vocab.bos_token_id);

    std::vector<TextFragment> fragments;
    m.specials->split(text, parse_special, fragments);
    std::string normalized;
    std::vector<std::string_view> pieces;
    bool after_special = true;  // the start of the text counts as "after a special token"
    for (const TextFragment& fragment : fragments) {
        if (fragment.token >= 0) {
            out.push_back(fragment.token);
            after_special = true;
            continue;
        }
        const std::string_view fragment_text =
            apply_normalizer(m.vocab.normalizer, fragment.text, normalized);
        if (m.bpe) {
            pieces.clear();
            m.pre_tokenizer->split(fragment_text, pieces);
            for (const std::string_view piece : pieces) m.bpe->encode_piece(piece, out);
        } else {
            m.spm->encode_fragment(
                spm_escape_whitespace(fragment_text, m.add_space_prefix && after_special), out);
        }
        after_special = false;
    }
    if (add_special && m.add_eos) out.push_back(m.vocab.eos_token_id);
    return out;
}

void Tokenizer::append_piece(int32_t id, bool skip_special, bool& strip_leading_space,
                             std::string& out) const {
    const Impl& m = *impl_;
    m.check_id(id);
    const TokenType type = m.vocab.type_of(id);
    if (is_split_out(type)) {
        // encode() starts a new fragment after this token, with its own space prefix.
        if (!(skip_special && type != TokenType::user_defined)) out += m.pieces[id];
        strip_leading_space = m.add_space_prefix;
        return;
    }
    std::string_view piece = m.pieces[id];
    if (piece.empty()) return;
    if (strip_leading_space && piece.front() == ' ') piece.remove_prefix(1);
    strip_leading_space = false;
    out += piece;
}

bool Tokenizer::strips_space_prefix() const {
    return impl_->add_space_prefix;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
    std::string out;
    bool strip = strips_space_prefix();
    for (const int32_t id : ids) append_piece(id, skip_special, strip, out);
    return out;
}

const std::string& Tokenizer::token_to_piece(int32_t id, bool special) const {
    static const std::string kEmpty;
    impl_->check_id(id);
    if (!special && is_control(id)) return kEmpty;
    return impl_->pieces[id];
}

int32_t Tokenizer::n_vocab() const {
    return impl_->vocab.n_tokens();
}
const Vocab& Tokenizer::vocab() const {
    return impl_->vocab;
}
TokenType Tokenizer::token_type(int32_t id) const {
    impl_->check_id(id);
    return impl_->vocab.type_of(id);
}
bool Tokenizer::is_control(int32_t id) const {
    const TokenType type = token_type(id);
    return type == TokenType::control || type == TokenType::unknown;
}
int32_t Tokenizer::bos_id() const {
    return impl_->vocab.bos_token_id;
}
int32_t Tokenizer::eos_id() const {
    return impl_->vocab.eos_token_id;
}
int32_t Tokenizer::eot_id() const {
    return impl_->eot_id;
}
int32_t Tokenizer::pad_id() const {
    return impl_->vocab.padding_token_id;
}
int32_t Tokenizer::unknown_id() const {
    return impl_->vocab.unknown_token_id;
}
bool Tokenizer::add_bos() const {
    return impl_->add_bos;
}
bool Tokenizer::add_eos() const {
    return impl_->add_eos;
}
bool Tokenizer::add_space_prefix() const {
    return impl_->add_space_prefix;
}
bool Tokenizer::is_eog(int32_t id) const {
    return std::binary_search(impl_->eog_ids.begin(), impl_->eog_ids.end(), id);
}
const std::vector<int32_t>& Tokenizer::eog_ids() const {
    return impl_->eog_ids;
}

int32_t Tokenizer::find_token(std::string_view text) const {
    const auto it = impl_->index.find(text);
    return it != impl_->index.end() ? it->second : -1;
}

}  // namespace rf
