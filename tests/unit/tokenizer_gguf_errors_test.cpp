// A GGUF whose tokenizer cannot be built (a malformed merge, a duplicate token): the error names
// the file, and bytes that would cut the message short (NUL, control characters) are escaped.
#include <gtest/gtest.h>

#include <string>

#include "core/error.h"
#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "test_paths.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf {
namespace {

// The default model's vocabulary, changed by `edit`, written alone to a GGUF; the message of
// building its tokenizer ("" if it built).
template <typename Edit>
std::string tokenizer_error(const std::string& name, Edit edit, std::string* path_out) {
    Vocab v = vocab_from_gguf(*open_default_model());
    edit(v);
    GgufWriter w;
    vocab_to_gguf(v, w);
    const std::string path = (test::temp_dir() / name).string();
    w.write(path);
    *path_out = path;
    try {
        tokenizer_from_gguf(GgufFile(path));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(TokenizerGgufErrors, MalformedMergeNamesTheFileAndEscapesItsBytes) {
    std::string path;
    const std::string message = tokenizer_error(
        "bad-merge.gguf", [](Vocab& v) { v.merges[0] = std::string("\xC4\xA0", 2) + std::string(1, '\0') + "x"; }, &path);
    EXPECT_NE(message.find("gguf " + path + ": tokenizer: merge 0 "), std::string::npos) << message;
    EXPECT_NE(message.find("\\x00x' is not of the form 'left right' (tokenizer.ggml.merges)"), std::string::npos) << message;
}

TEST(TokenizerGgufErrors, DuplicateTokenNamesTheFile) {
    std::string path;
    const std::string message = tokenizer_error("dup-token.gguf", [](Vocab& v) { v.tokens[300] = v.tokens[299]; }, &path);
    EXPECT_NE(message.find("gguf " + path + ": tokenizer: token 300 "), std::string::npos) << message;
    EXPECT_NE(message.find("duplicates token 299"), std::string::npos) << message;
}

TEST(TokenizerGgufErrors, PrintableBytesEscapesControlBytesOnly) {
    EXPECT_EQ(printable_bytes(std::string("a\0b\n\x7f\xC4\xA0", 7)), "a\\x00b\\x0a\\x7f\xC4\xA0");
}

}  // namespace
}  // namespace rf
