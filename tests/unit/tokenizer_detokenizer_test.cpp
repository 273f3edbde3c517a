// StreamingDetokenizer: ids fed one at a time never yield broken UTF-8, the pieces concatenate
// to decode() of all ids, bytes of a split character are held until it completes, and bytes that
// can never complete are passed through.
#include "tokenizer/detokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_test_util.h"

namespace rf {
namespace {

struct Streamed {
    std::string text;       // all pushes plus the final flush
    size_t n_held = 0;      // pushes that returned "" while holding bytes
    bool all_valid = true;  // every push returned valid UTF-8
};

Streamed stream(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip_special = false) {
    StreamingDetokenizer detok(t, skip_special);
    Streamed s;
    std::vector<int32_t> prefix;
    for (const int32_t id : ids) {
        const std::string piece = detok.push(id);
        s.all_valid &= utf8::is_valid(piece);
        if (piece.empty() && detok.pending_bytes() > 0) ++s.n_held;
        s.text += piece;
        prefix.push_back(id);
        // What was emitted plus what is held is always the decode of the ids so far.
        EXPECT_EQ(s.text.size() + detok.pending_bytes(), t.decode(prefix, skip_special).size());
    }
    s.text += detok.flush();
    EXPECT_EQ(detok.pending_bytes(), 0u);
    return s;
}

TEST(TokenizerDetokenizer, MultiByteCharactersSplitAcrossTokens) {
    RF_REQUIRE_SHARED();
    // The tiny vocab (8192 tokens) has no tokens for these characters, so each is several byte
    // tokens; the real Qwen3 vocab splits some of them too.
    const std::string text =
        "Emoji 👨‍👩‍👧‍👦 and 👍🏽, CJK 我们今天去公园, Hindi नमस्ते, combining e\u0301, "
        "flags "
        "🇩🇪.";
    for (const Tokenizer* t : {test::tiny_qwen3_tokenizer(), test::qwen3_tokenizer()}) {
        const std::vector<int32_t> ids = t->encode(text, false, true);
        const Streamed s = stream(*t, ids);
        EXPECT_TRUE(s.all_valid);
        EXPECT_EQ(s.text, t->decode(ids));
        if (t == test::tiny_qwen3_tokenizer()) {
            EXPECT_EQ(s.text, text);
            EXPECT_GT(s.n_held, 5u);  // byte tokens of split characters were held back
        }
    }
}

TEST(TokenizerDetokenizer, EveryReferenceCase) {
    RF_REQUIRE_SHARED();
    const Tokenizer& t = *test::tiny_qwen3_tokenizer();
    for (const auto& c : test::read_tokenizer_fixture("tiny_qwen3_reference.json")["cases"]) {
        const std::vector<int32_t> ids = c["ids"];
        const Streamed s = stream(t, ids);
        EXPECT_TRUE(s.all_valid) << c["name"];
        EXPECT_EQ(s.text, c["text"].get<std::string>()) << c["name"];
    }
}

TEST(TokenizerDetokenizer, BytesThatNeverCompleteArePassedThrough) {
    RF_REQUIRE_SHARED();
    const Tokenizer& t = *test::tiny_qwen3_tokenizer();
    for (const std::string text : {"cut \xF0\x9F\x98 then text", "stray \x80\x80 bytes",
                                   "ends cut \xE6\x88", "\xC3", "\xF0\x9F\x98\x80\xF0"}) {
        const std::vector<int32_t> ids = t.encode(text, false, true);
        const Streamed s = stream(t, ids);
        EXPECT_EQ(s.text, text) << test::escape_bytes(text);
    }
    // An unfinished character at the end is held, then returned by flush().
    StreamingDetokenizer detok(t);
    std::string out;
    for (const int32_t id : t.encode("ok \xE6\x88", false, true)) out += detok.push(id);
    EXPECT_EQ(out, "ok ");
    EXPECT_EQ(detok.pending_bytes(), 2u);
    EXPECT_EQ(detok.flush(), "\xE6\x88");
}

TEST(TokenizerDetokenizer, SkipSpecial) {
    RF_REQUIRE_SHARED();
    const Tokenizer& t = *test::tiny_qwen3_tokenizer();
    const std::vector<int32_t> ids = t.encode("<|im_start|>assistant\nHi 👍<|im_end|>", false, true);
    EXPECT_EQ(stream(t, ids, /*skip_special=*/true).text, "assistant\nHi 👍");
    EXPECT_EQ(stream(t, ids, /*skip_special=*/false).text, "<|im_start|>assistant\nHi 👍<|im_end|>");
}

TEST(TokenizerDetokenizer, SentencePieceSpacePrefix) {
    const Tokenizer t(test::toy_spm_vocab());
    for (const std::string text : {"hello world", " hello", "a<s> b", "h\xC3\xA9llo"}) {
        const std::vector<int32_t> ids = t.encode(text, true, true);
        const Streamed s = stream(t, ids, /*skip_special=*/false);
        EXPECT_TRUE(s.all_valid);
        EXPECT_EQ(s.text, t.decode(ids)) << text;
        EXPECT_EQ(stream(t, ids, true).text, t.decode(ids, true)) << text;
    }
    EXPECT_EQ(stream(t, t.encode("hello world", true, true), true).text, "hello world");
}

TEST(TokenizerDetokenizer, Utf8IncompleteTail) {
    EXPECT_EQ(utf8::incomplete_tail_length(""), 0u);
    EXPECT_EQ(utf8::incomplete_tail_length("abc"), 0u);
    EXPECT_EQ(utf8::incomplete_tail_length("a\xC3"), 1u);
    EXPECT_EQ(utf8::incomplete_tail_length("a\xC3\xA9"), 0u);
    EXPECT_EQ(utf8::incomplete_tail_length("\xE6\x88"), 2u);
    EXPECT_EQ(utf8::incomplete_tail_length("\xF0\x9F\x98"), 3u);
    EXPECT_EQ(utf8::incomplete_tail_length("\xF0\x9F\x98\x80"), 0u);
    EXPECT_EQ(utf8::incomplete_tail_length("\x80"), 0u);      // stray continuation byte
    EXPECT_EQ(utf8::incomplete_tail_length("\xC0"), 0u);      // never valid
    EXPECT_EQ(utf8::incomplete_tail_length("\xED\xA0"), 0u);  // would be a surrogate
    EXPECT_EQ(utf8::incomplete_tail_length("\xF4\x90"), 0u);  // would be above U+10FFFF
    EXPECT_EQ(utf8::incomplete_tail_length("\xE0\x80"), 0u);  // would be overlong
    EXPECT_EQ(utf8::incomplete_tail_length("\x80\x80\x80\x80"), 0u);
}

}  // namespace
}  // namespace rf
