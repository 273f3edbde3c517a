// Shared helpers of the tokenizer tests: the Qwen3 tokenizers from ../shared (built once per
// test binary) and the reference fixtures written by tests/node/tokenize_reference.mjs.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <string>

#include "test_paths.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_from_hf.h"

namespace rf::test {

// The real Qwen3 tokenizer (151k tokens) and the tiny models' one (8192 tokens); nullptr when
// ../shared is absent.
inline const Tokenizer* qwen3_tokenizer() {
    static const std::unique_ptr<Tokenizer> tokenizer = [] {
        const auto dir = shared_dir() / "tokenizers" / "qwen3";
        return std::filesystem::exists(dir) ? std::make_unique<Tokenizer>(vocab_from_hf(dir.string())) : nullptr;
    }();
    return tokenizer.get();
}

inline const Tokenizer* tiny_qwen3_tokenizer() {
    static const std::unique_ptr<Tokenizer> tokenizer = [] {
        const auto dir = shared_dir() / "models" / "tiny-qwen3";
        return std::filesystem::exists(dir) ? std::make_unique<Tokenizer>(vocab_from_hf(dir.string())) : nullptr;
    }();
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
