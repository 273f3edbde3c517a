// Byte-level BPE: merge order on a hand-built vocab, special-token splitting, the pre-tokenizer
// regexes of each tokenizer.ggml.pre (splits worked out by hand), invalid UTF-8, 1 MB inputs
// without spaces (the merge loop is O(n log n); a quadratic one would run for hours and hit the
// ctest timeout), the piece cache, threads and construction errors.
#include <random>
#include <thread>

#include "core/error.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer_test_util.h"

namespace rf {
namespace {

// A byte-level vocab: ids 0..255 are the 256 byte characters (id == byte), then one token per
// merge result, then `specials` (text, type).
Vocab byte_level_vocab(const std::vector<std::pair<std::string, std::string>>& merges,
                       const std::vector<std::pair<std::string, TokenType>>& specials = {}) {
    Vocab v;
    v.model = "gpt2";
    v.pre = "qwen2";
    for (int b = 0; b < 256; ++b)
        v.tokens.push_back(byte_level::byte_to_utf8(static_cast<uint8_t>(b)));
    v.token_type.assign(256, static_cast<int32_t>(TokenType::normal));
    for (const auto& [left, right] : merges) {
        const std::string l = byte_level::encode(left);
        const std::string r = byte_level::encode(right);
        v.merges.push_back(l + " " + r);
        if (std::find(v.tokens.begin(), v.tokens.end(), l + r) == v.tokens.end()) {
            v.tokens.push_back(l + r);
            v.token_type.push_back(static_cast<int32_t>(TokenType::normal));
        }
    }
    for (const auto& [text, type] : specials) {
        v.tokens.push_back(text);
        v.token_type.push_back(static_cast<int32_t>(type));
    }
    return v;
}

std::vector<std::string> pieces_of(const Tokenizer& t, const std::vector<int32_t>& ids) {
    std::vector<std::string> out;
    for (const int32_t id : ids) out.push_back(t.token_to_piece(id));
    return out;
}

using Pieces = std::vector<std::string>;

TEST(TokenizerBpe, MergesApplyByRankThenLeftmost) {
    {
        const Tokenizer t(byte_level_vocab({{"a", "a"}, {"aa", "aa"}}));
        EXPECT_EQ(pieces_of(t, t.encode("aaa", false, false)),
                  (Pieces{"aa", "a"}));  // leftmost pair first
        EXPECT_EQ(pieces_of(t, t.encode("aaaa", false, false)), (Pieces{"aaaa"}));
        EXPECT_EQ(pieces_of(t, t.encode("aaaaa", false, false)), (Pieces{"aaaa", "a"}));
    }
    {
        const Tokenizer t(byte_level_vocab({{"b", "c"}, {"a", "b"}}));  // "b c" outranks "a b"
        EXPECT_EQ(pieces_of(t, t.encode("abc", false, false)), (Pieces{"a", "bc"}));
    }
    {
        const Tokenizer t(byte_level_vocab({{"a", "b"}, {"b", "c"}}));
        EXPECT_EQ(pieces_of(t, t.encode("abc", false, false)), (Pieces{"ab", "c"}));
    }
    {
        // Merges build on merges; a piece never merges across pre-tokenizer boundaries.
        const Tokenizer t(
            byte_level_vocab({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"}}));
        EXPECT_EQ(pieces_of(t, t.encode("hello hello", false, false)),
                  (Pieces{"hello", " ", "hello"}));
        EXPECT_EQ(pieces_of(t, t.encode("hello wow", false, false)),
                  (Pieces{"hello", " w", "o", "w"}));
    }
}

TEST(TokenizerBpe, MergesWhosePartsAreNotTokensAreSkipped) {
    Vocab v = byte_level_vocab({{"a", "b"}});
    v.merges.push_back("x\xC4\xA0y z");  // neither "xĠy" nor "xĠyz" is a token
    const Tokenizer t(v);
    EXPECT_EQ(pieces_of(t, t.encode("ab", false, false)), (Pieces{"ab"}));
}

TEST(TokenizerBpe, SpecialTokensSplitLeftmostLongest) {
    const Tokenizer t(byte_level_vocab({{"a", "b"}}, {{"<|eot|>", TokenType::control},
                                                      {"<|eot|>x", TokenType::control},
                                                      {"<u>", TokenType::user_defined},
                                                      {"xy", TokenType::user_defined},
                                                      {"yz", TokenType::user_defined}}));
    const int32_t eot = t.find_token("<|eot|>");
    const int32_t eot_x = t.find_token("<|eot|>x");
    const int32_t u = t.find_token("<u>");
    const int32_t xy = t.find_token("xy");
    EXPECT_EQ(t.encode("ab<|eot|>ab", false, true),
              (std::vector<int32_t>{t.find_token("ab"), eot, t.find_token("ab")}));
    EXPECT_EQ(t.encode("<|eot|>x<|eot|>", false, true),
              (std::vector<int32_t>{eot_x, eot}));                             // longest
    EXPECT_EQ(t.encode("xyz", false, true), (std::vector<int32_t>{xy, 'z'}));  // leftmost
    // Without parse_special, control tokens are plain text; user-defined ones are still split.
    const std::vector<int32_t> plain = t.encode("<|eot|><u>", false, false);
    EXPECT_EQ(plain.back(), u);
    EXPECT_EQ(t.decode(plain), "<|eot|><u>");
    EXPECT_EQ(std::count(plain.begin(), plain.end(), eot), 0);
    EXPECT_EQ(t.decode(t.encode("a<|eot|>b", false, true), /*skip_special=*/true), "ab");
    EXPECT_EQ(t.decode(t.encode("a<u>b", false, true), /*skip_special=*/true), "a<u>b");
}

std::vector<std::string> split_with(const std::string& pre, std::string_view text) {
    const auto spec = find_pre_tokenizer(pre);
    EXPECT_TRUE(spec.has_value()) << pre;
    const PreTokenizer p(spec->patterns);
    std::vector<std::string_view> pieces;
    p.split(text, pieces);
    return {pieces.begin(), pieces.end()};
}

TEST(TokenizerBpe, PreTokenizerRegexes) {
    const std::string text = "Hello world's 12345  \n\n x";
    EXPECT_EQ(split_with("qwen2", text),
              (Pieces{"Hello", " world", "'s", " ", "1", "2", "3", "4", "5", "  \n\n", " x"}));
    EXPECT_EQ(split_with("llama-bpe", text),
              (Pieces{"Hello", " world", "'s", " ", "123", "45", "  \n\n", " x"}));
    EXPECT_EQ(split_with("gpt2", text),
              (Pieces{"Hello", " world", "'s", " 12345", "  \n\n", " x"}));
    EXPECT_EQ(split_with("gpt-2", "IT'S"),
              (Pieces{"IT", "'", "S"}));  // gpt2 contractions are lower case only
    EXPECT_EQ(split_with("qwen2", "IT'S"), (Pieces{"IT", "'S"}));
    // Combining marks: separate pieces for qwen2, part of the word for qwen35.
    EXPECT_EQ(split_with("qwen2", "cafe\u0301s"), (Pieces{"cafe", "\u0301s"}));
    EXPECT_EQ(split_with("qwen35", "cafe\u0301s"), (Pieces{"cafe\u0301s"}));
    // llama.cpp's "default": punctuation, then the gpt2 regex, then digit runs, then triples.
    EXPECT_EQ(split_with("default", "Hello, world! 12345"),
              (Pieces{"Hello", ",", " world", "!", " ", "123", "45"}));
    // U+0085 is whitespace (as in llama.cpp and Oniguruma, unlike PCRE2's own \s).
    EXPECT_EQ(split_with("qwen2", "x\u0085\u0085\u0085y"),
              (Pieces{"x", "\u0085\u0085", "\u0085y"}));
    // Invalid UTF-8 never matches; it becomes its own piece between matches.
    EXPECT_EQ(split_with("qwen2",
                         "ab\xff"
                         "cd \xc3"),
              (Pieces{"ab", "\xff", "cd", " ", "\xc3"}));
}

TEST(TokenizerBpe, PreTokenizerLongWhitespaceRuns) {
    // 16 MiB of spaces: "\s*[\r\n]+" backtracks over the whole run, more steps than PCRE2's
    // default match limit allows.
    const std::string text = "x" + std::string(size_t{16} << 20, ' ') + "y";
    const auto pieces = split_with("qwen2", text);
    ASSERT_EQ(pieces.size(), 3u);
    EXPECT_EQ(pieces[1].size(), (size_t{16} << 20) - 1);
    EXPECT_EQ(pieces[2], " y");
}

TEST(TokenizerBpe, InvalidUtf8RoundTrips) {
    RF_REQUIRE_SHARED();
    const std::string inputs[] = {
        "\xff\xfe abc \xc3",
        "\xc3\x28 x",
        "surrogate \xed\xa0\x80 end",
        "too big \xf4\x90\x80\x80",
        "overlong \xc0\xaf \xe0\x80\xaf",
        "cut emoji \xf0\x9f\x98 then text",
        "\x80\x80\x80",
        std::string("nul \0 inside", 12),
        "e\xff\xcc\x81 an invalid byte keeps NFC from composing",
    };
    for (const Tokenizer* t : {test::tiny_qwen3_tokenizer(), test::qwen3_tokenizer()}) {
        for (const std::string& s : inputs) {
            const std::vector<int32_t> ids = t->encode(s, false, true);
            EXPECT_EQ(t->decode(ids), s) << test::escape_bytes(s);
        }
    }
    // Every single byte value, alone and after a letter.
    const Tokenizer& tiny = *test::tiny_qwen3_tokenizer();
    for (int b = 0; b < 256; ++b) {
        std::string s = "a";
        s.push_back(static_cast<char>(b));
        EXPECT_EQ(tiny.decode(tiny.encode(s, false, true)), s) << b;
    }
}

TEST(TokenizerBpe, MegabyteInputsWithoutSpaces) {
    RF_REQUIRE_SHARED();
    const Tokenizer& t = *test::qwen3_tokenizer();
    std::string letters;
    while (letters.size() < (1u << 20)) letters += "abcdefghijklmnopqrstuvwxyz";
    std::string digits;
    while (digits.size() < (1u << 20)) digits += "0123456789";
    std::string same(1u << 20, 'a');
    std::string cjk;
    while (cjk.size() < (1u << 20)) cjk += "我们今天去公园散步天气非常好";
    std::mt19937 rng(7);
    std::string random_bytes(1u << 20, '\0');
    for (char& c : random_bytes) c = static_cast<char>(rng());

    for (const auto& [name, text] : {std::pair{"letters", &letters}, std::pair{"digits", &digits},
                                     std::pair{"one letter", &same}, std::pair{"cjk", &cjk},
                                     std::pair{"random bytes", &random_bytes}}) {
        const double start = test::thread_cpu_seconds();
        const std::vector<int32_t> ids = t.encode(*text, false, false);
        const double ms = (test::thread_cpu_seconds() - start) * 1e3;
        // The Qwen3 tokenizer normalizes to NFC (random bytes hold some non-NFC sequences).
        EXPECT_TRUE(t.decode(ids) == nfc_normalize(*text)) << name;
        if (std::string_view(name) == "digits") {
            EXPECT_EQ(ids.size(), text->size());  // Qwen: one token per digit
        } else if (std::string_view(name) != "random bytes") {
            EXPECT_LT(ids.size(), text->size() / 2) << name;
        }
        std::printf("[ info ] 1 MiB of %s: %zu tokens in %.0f ms (CPU time)\n", name, ids.size(),
                    ms);
    }
}

TEST(TokenizerBpe, CacheGivesTheSameIdsAfterManyDistinctPieces) {
    RF_REQUIRE_SHARED();
    const Vocab vocab = vocab_from_hf((test::shared_dir() / "models" / "tiny-qwen3").string());
    // More distinct words than the cache holds (so it is cleared on the way); each word is one
    // pre-tokenizer piece, so the text encodes to the concatenation of its words.
    std::vector<std::string> words;
    for (size_t i = 0; i < BpeModel::kMaxCacheEntries + 5000; ++i) {
        std::string w = " ";
        for (size_t k = i;; k /= 26) {
            w += static_cast<char>('a' + k % 26);
            if (k < 26) break;
        }
        words.push_back(w);
    }
    std::string text;
    for (const auto& w : words) text += w;
    const Tokenizer warm(vocab);
    const std::vector<int32_t> first = warm.encode(text, false, false);
    EXPECT_EQ(warm.encode(text, false, false), first);
    const Tokenizer cold(vocab);
    std::vector<int32_t> word_by_word;
    for (const auto& w : words) {
        const auto ids = cold.encode(w, false, false);
        word_by_word.insert(word_by_word.end(), ids.begin(), ids.end());
    }
    EXPECT_EQ(word_by_word, first);
}

TEST(TokenizerBpe, ThreadsShareOneTokenizer) {
    RF_REQUIRE_SHARED();
    const Tokenizer& t = *test::tiny_qwen3_tokenizer();
    const std::string text =
        test::read_text_file(test::shared_dir() / "text" / "heldout.txt").substr(0, 100000);
    const std::vector<int32_t> expected = t.encode(text, false, true);
    std::vector<std::vector<int32_t>> results(4);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < results.size(); ++i) {
        threads.emplace_back([&, i] { results[i] = t.encode(text.substr(i * 1000), false, true); });
    }
    for (auto& th : threads) th.join();
    for (size_t i = 0; i < results.size(); ++i)
        EXPECT_EQ(t.decode(results[i]), text.substr(i * 1000));
    EXPECT_EQ(results[0], expected);
}

void expect_error(const Vocab& v, const std::string& fragment) {
    try {
        const Tokenizer t(v);
        ADD_FAILURE() << "no error, expected: " << fragment;
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

TEST(TokenizerBpe, ConstructionErrors) {
    const Vocab good = byte_level_vocab({{"a", "b"}});
    {
        Vocab v = good;
        v.merges.clear();
        expect_error(v, "tokenizer: vocab has no merges (tokenizer.ggml.merges)");
    }
    {
        Vocab v = good;
        v.pre = "nonesuch";
        expect_error(
            v,
            "tokenizer: unknown pre-tokenizer 'nonesuch' (tokenizer.ggml.pre); supported: qwen2,");
    }
    {
        Vocab v = good;
        v.model = "bert";
        expect_error(v, "unknown tokenizer model 'bert'");
    }
    {
        Vocab v = good;
        v.bos_token_id = v.n_tokens();
        expect_error(v, "tokenizer.ggml.bos_token_id = 257 is out of range (vocab has 257 tokens)");
    }
    {
        Vocab v = good;
        v.eos_token_id = -5;
        expect_error(v, "tokenizer.ggml.eos_token_id = -5 is out of range");
    }
    {
        Vocab v = good;
        v.token_type.pop_back();
        expect_error(v, "tokenizer.ggml.token_type has 256 entries, expected 257");
    }
    {
        Vocab v = good;
        v.token_type[3] = 9;
        expect_error(v, "has unknown type 9");
    }
    {
        Vocab v = good;
        v.scores = {1.0f};
        expect_error(v, "tokenizer.ggml.scores has 1 entries, expected 257");
    }
    {
        Vocab v = good;
        v.tokens[5] = v.tokens[6];
        expect_error(v, "token 6 '");
    }
    {
        Vocab v = good;
        v.merges.push_back("nospace");
        expect_error(v, "merge 1 'nospace' is not of the form 'left right'");
    }
    {
        Vocab v = good;
        v.add_bos_token = true;
        expect_error(v, "add_bos_token is true but tokenizer.ggml.bos_token_id is not set");
    }
    {
        Vocab v = good;
        v.normalizer = "NFKD";
        expect_error(v, "unknown normalizer 'NFKD'");
    }
    const Tokenizer t(good);
    EXPECT_THROW(t.decode(std::vector<int32_t>{1, 257}), Error);
    EXPECT_THROW(t.token_to_piece(-1), Error);
}

TEST(TokenizerBpe, SpecialIdsAndFlags) {
    RF_REQUIRE_SHARED();
    const Tokenizer& tiny = *test::tiny_qwen3_tokenizer();
    EXPECT_EQ(tiny.n_vocab(), 8192);
    EXPECT_EQ(tiny.bos_id(), 8189);
    EXPECT_EQ(tiny.eos_id(), 8189);
    EXPECT_FALSE(tiny.add_bos());  // qwen2 pre-tokenizer, no add_bos_token key: llama.cpp adds none
    EXPECT_TRUE(tiny.is_eog(8189));
    EXPECT_TRUE(tiny.is_eog(8191));  // <|im_end|>
    EXPECT_FALSE(tiny.is_eog(8190));
    EXPECT_EQ(tiny.encode("hi", true, true), tiny.encode("hi", false, true));

    Vocab v = byte_level_vocab({{"a", "b"}}, {{"<s>", TokenType::control}});
    v.bos_token_id = v.n_tokens() - 1;
    v.pre = "llama-bpe";  // llama3: BOS by default
    const Tokenizer llama3(v);
    EXPECT_TRUE(llama3.add_bos());
    EXPECT_EQ(llama3.encode("ab", true, false),
              (std::vector<int32_t>{v.bos_token_id, llama3.find_token("ab")}));
    v.add_bos_token = false;
    v.add_eos_token = true;
    v.eos_token_id = v.bos_token_id;
    const Tokenizer explicit_flags(v);
    EXPECT_EQ(explicit_flags.encode("ab", true, false),
              (std::vector<int32_t>{llama3.find_token("ab"), v.eos_token_id}));
}

TEST(TokenizerBpe, IgnoreMergesEmitsWholeTokens) {
    // llama3 (ignore_merges): a piece that is a token is emitted as is, even when the merges
    // would not build it.
    Vocab v = byte_level_vocab({{"a", "b"}});
    v.tokens.push_back("abc");
    v.token_type.push_back(static_cast<int32_t>(TokenType::normal));
    v.pre = "qwen2";
    const Tokenizer qwen2(v);
    EXPECT_EQ(pieces_of(qwen2, qwen2.encode("abc", false, false)), (Pieces{"ab", "c"}));
    v.pre = "llama-bpe";
    const Tokenizer llama3(v);
    EXPECT_EQ(pieces_of(llama3, llama3.encode("abc", false, false)), (Pieces{"abc"}));
}

}  // namespace
}  // namespace rf
