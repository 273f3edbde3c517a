// Shared helpers of the tokenizer tests: the Qwen3 tokenizers from ../shared (built once per
// test binary) and the reference fixtures written by tests/node/tokenize_reference.mjs.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>

#include "test_paths.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_from_hf.h"

namespace rf::test {

// The tokenizer of a Hugging Face folder under ../shared, built once per test binary; nullptr
// when ../shared is absent.
inline std::unique_ptr<Tokenizer> load_shared_tokenizer(const std::filesystem::path& subdir) {
    const auto dir = shared_dir() / subdir;
    if (!std::filesystem::exists(dir)) return nullptr;
    return std::make_unique<Tokenizer>(vocab_from_hf(dir.string()));
}

// The real Qwen3 tokenizer (151k tokens, NFC) and the tiny models' one (8192 tokens).
inline const Tokenizer* qwen3_tokenizer() {
    static const auto tokenizer = load_shared_tokenizer("tokenizers/qwen3");
    return tokenizer.get();
}

inline const Tokenizer* tiny_qwen3_tokenizer() {
    static const auto tokenizer = load_shared_tokenizer("models/tiny-qwen3");
    return tokenizer.get();
}

inline nlohmann::json read_tokenizer_fixture(const std::string& name) {
    const auto path = source_dir() / "tests" / "fixtures" / "tokenizer" / name;
    std::ifstream in(path);
    EXPECT_TRUE(in.good()) << "missing fixture " << path;
    return nlohmann::json::parse(in);
}

inline std::string read_text_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A small SentencePiece-style vocab worked out by hand in tokenizer_spm_test.cpp:
//   0 <unk> (unknown), 1 <s>, 2 </s> (control), 3..258 <0x00>..<0xFF> (byte), then normal
//   pieces with scores, then <mask> (user-defined).
inline Vocab toy_spm_vocab() {
    Vocab v;
    v.model = "llama";
    auto add = [&](const std::string& text, TokenType type, float score) {
        v.tokens.push_back(text);
        v.token_type.push_back(static_cast<int32_t>(type));
        v.scores.push_back(score);
    };
    add("<unk>", TokenType::unknown, 0);
    add("<s>", TokenType::control, 0);
    add("</s>", TokenType::control, 0);
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; ++b)
        add(std::string{'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'}, TokenType::byte, 0);
    const std::pair<const char*, float> pieces[] = {
        {"\xE2\x96\x81", -10},
        {"h", -10},
        {"e", -10},
        {"l", -10},
        {"o", -10},
        {"w", -10},
        {"r", -10},
        {"d", -10},
        {"a", -10},
        {"ll", -1},
        {"he", -2},
        {"or", -2.5f},
        {"hell", -3},
        {"ld", -3.5f},
        {"hello", -4},
        {"\xE2\x96\x81hello", -5},
        {"\xE2\x96\x81w", -6},
        {"\xE2\x96\x81wor", -7},
        {"aa", -1},
        {"</", -1},
        {"s>", -1},
        {"s", -10},
        {"<", -10},
        {">", -10},
        {"/", -10},
    };
    for (const auto& [text, score] : pieces) add(text, TokenType::normal, score);
    add("<mask>", TokenType::user_defined, 0);
    v.bos_token_id = 1;
    v.eos_token_id = 2;
    v.unknown_token_id = 0;
    return v;
}

// FNV-1a 64 over each id as 4 little-endian bytes, as hex: the fingerprint of a long id
// sequence written by tests/node/tokenize_reference.mjs.
inline std::string ids_fingerprint(const std::vector<int32_t>& ids) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const int32_t id : ids) {
        for (int k = 0; k < 4; ++k) {
            h ^= (static_cast<uint32_t>(id) >> (8 * k)) & 0xff;
            h *= 0x100000001b3ull;
        }
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
}

// CPU time of the calling thread, in seconds: timings that other processes on a shared
// machine do not inflate.
inline double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Printable form of bytes for failure messages.
inline std::string escape_bytes(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b < 0x7f && b != '\\') {
            out += c;
        } else {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", b);
            out += buf;
        }
    }
    return out;
}

}  // namespace rf::test
