// SentencePiece-style ("llama") tokenizer on the hand-built vocab of test::toy_spm_vocab().
// Expected tokenizations are worked out in the comments, merge by merge.
#include "core/error.h"
#include "tokenizer_test_util.h"

namespace rf {
namespace {

const std::string kSp = "\xE2\x96\x81";  // "▁"

std::vector<std::string> texts_of(const Tokenizer& t, const std::vector<int32_t>& ids) {
    std::vector<std::string> out;
    for (const int32_t id : ids) out.push_back(t.vocab().tokens[id]);
    return out;
}

using Texts = std::vector<std::string>;

TEST(TokenizerSpm, MergesByScore) {
    const Tokenizer t(test::toy_spm_vocab());
    // "hello world" -> "▁hello▁world", symbols ▁ h e l l o ▁ w o r l d. Pairs that are tokens:
    // he -2, ll -1, ▁w -6, or -2.5, ld -3.5. Merge order by score: ll (-1), he (-2) which makes
    // hell (-3) possible, or (-2.5), hell (-3) -> hello (-4) possible, ld (-3.5), hello (-4) ->
    // ▁hello (-5) possible, ▁hello, ▁w (-6) -> ▁wor (-7) possible, ▁wor. "▁world" is no token.
    EXPECT_EQ(texts_of(t, t.encode("hello world", false, false)),
              (Texts{kSp + "hello", kSp + "wor", "ld"}));
    // Equal scores: the leftmost pair first. "▁aaa": aa(1,2) before aa(2,3).
    EXPECT_EQ(texts_of(t, t.encode("aaa", false, false)), (Texts{kSp, "aa", "a"}));
    EXPECT_EQ(texts_of(t, t.encode("aaaa", false, false)), (Texts{kSp, "aa", "aa"}));
}

TEST(TokenizerSpm, SpacePrefixAndEscaping) {
    Vocab v = test::toy_spm_vocab();
    const Tokenizer with_prefix(v);
    EXPECT_TRUE(with_prefix.add_space_prefix());  // llama.cpp default for SPM
    // A leading space gives "▁▁hello": the first ▁ stays alone.
    EXPECT_EQ(texts_of(with_prefix, with_prefix.encode(" hello", false, false)),
              (Texts{kSp, kSp + "hello"}));
    v.add_space_prefix = false;
    const Tokenizer no_prefix(v);
    EXPECT_EQ(texts_of(no_prefix, no_prefix.encode("hello", false, false)), (Texts{"hello"}));
    EXPECT_EQ(no_prefix.decode(no_prefix.encode(" hello", false, false)), " hello");
}

TEST(TokenizerSpm, ByteFallbackAndUnknown) {
    const Tokenizer t(test::toy_spm_vocab());
    // "é" is no token: its two bytes become <0xC3> <0xA9>.
    EXPECT_EQ(texts_of(t, t.encode("\xC3\xA9", false, false)), (Texts{kSp, "<0xC3>", "<0xA9>"}));
    EXPECT_EQ(t.decode(t.encode("\xC3\xA9", false, false)), "\xC3\xA9");
    // Without byte tokens, characters that are no token become <unk>.
    Vocab v = test::toy_spm_vocab();
    for (int b = 0; b < 256; ++b) v.tokens[3 + b] = "byte" + std::to_string(b);
    const Tokenizer no_bytes(v);
    EXPECT_EQ(texts_of(no_bytes, no_bytes.encode("h\xC3\xA9", false, false)),
              (Texts{kSp, "h", "<unk>", "<unk>"}));
    // ... and without an unknown token that is an error naming the byte.
    v.unknown_token_id = -1;
    const Tokenizer nothing(v);
    EXPECT_THROW(
        {
            try {
                nothing.encode("\xC3\xA9", false, false);
            } catch (const Error& e) {
                EXPECT_NE(std::string(e.what()).find("byte 0xC3 has no <0xC3> token"),
                          std::string::npos)
                    << e.what();
                throw;
            }
        },
        Error);
}

TEST(TokenizerSpm, SpecialTokensBosEos) {
    Vocab v = test::toy_spm_vocab();
    const Tokenizer t(v);
    EXPECT_TRUE(t.add_bos());  // llama.cpp default for SPM
    EXPECT_FALSE(t.add_eos());
    // Each text fragment after a special token gets its own "▁" prefix.
    EXPECT_EQ(texts_of(t, t.encode("<s>hello</s>", true, true)),
              (Texts{"<s>", "<s>", kSp + "hello", "</s>"}));
    EXPECT_EQ(t.decode(t.encode("<s>hello</s>", false, true)), "<s>hello</s>");
    EXPECT_EQ(t.decode(t.encode("<s>hello</s>", true, true), /*skip_special=*/true), "hello");
    // Without parse_special the control texts are plain text; "</" + "s>" never merges into the
    // control token </s>.
    const std::vector<int32_t> plain = t.encode("</s>", false, false);
    EXPECT_EQ(texts_of(t, plain), (Texts{kSp, "</", "s>"}));
    // User-defined tokens are split out even without parse_special.
    EXPECT_EQ(texts_of(t, t.encode("a<mask>b", false, false)),
              (Texts{kSp, "a", "<mask>", kSp, "<0x62>"}));
    v.add_bos_token = false;
    v.add_eos_token = true;
    const Tokenizer eos_only(v);
    EXPECT_EQ(texts_of(eos_only, eos_only.encode("hello", true, false)),
              (Texts{kSp + "hello", "</s>"}));
    EXPECT_TRUE(eos_only.is_eog(2));
}

TEST(TokenizerSpm, RoundTrips) {
    const Tokenizer t(test::toy_spm_vocab());
    const std::string inputs[] = {
        "",
        "hello world",
        " hello",
        "hello ",
        "  two  spaces  ",
        "\nnew\nlines\n",
        "a<s> b",
        "<s>",
        "</s>x",
        "x<mask> <mask>y",
        "\xff\xfe invalid \xc3",
        "tabs\tand\r\ncrlf",
        "emoji \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
    };
    for (const std::string& s : inputs) {
        EXPECT_EQ(t.decode(t.encode(s, false, true)), s) << test::escape_bytes(s);
        EXPECT_EQ(t.decode(t.encode(s, false, false)), s) << test::escape_bytes(s);
        EXPECT_EQ(t.decode(t.encode(s, true, true), true),
                  t.decode(t.encode(s, false, true), true));
    }
}

}  // namespace
}  // namespace rf
