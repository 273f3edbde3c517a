// The embedded default model, models/tiny-qwen3-q8_0.gguf, is exactly what `convert hf --type
// q8_0` makes of ../shared/models/tiny-qwen3 today (so it never goes stale), and that is
// llama.cpp's own q8_0 conversion byte for byte.
#include <gtest/gtest.h>

#include "tools_convert_test_util.h"

namespace rf {
namespace {

TEST(ToolsConvertDefaultModel, CommittedFileEqualsAFreshConversion) {
    RF_REQUIRE_SHARED();
    const auto committed = test::read_bytes(test::source_dir() / "models" / "tiny-qwen3-q8_0.gguf");
    ASSERT_FALSE(committed.empty()) << "models/tiny-qwen3-q8_0.gguf is missing";
    const auto fresh = test::read_bytes(test::converted("tiny-qwen3", "q8_0"));
    EXPECT_TRUE(committed == fresh)
        << "models/tiny-qwen3-q8_0.gguf is stale: rocmforge convert hf "
           "../shared/models/tiny-qwen3 models/tiny-qwen3-q8_0.gguf --type q8_0";
    EXPECT_TRUE(committed ==
                test::read_bytes(test::llamacpp_file("tiny-qwen3-llamacpp-q8_0.gguf")));
}

}  // namespace
}  // namespace rf
