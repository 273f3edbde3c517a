// Paths tests use: the source tree, the build tree, the CLI binary and ../shared.
#pragma once

#include <filesystem>
#include <string>

namespace rf::test {

inline std::filesystem::path source_dir() { return ROCMFORGE_SOURCE_DIR; }
inline std::filesystem::path binary_dir() { return ROCMFORGE_BINARY_DIR; }
inline std::filesystem::path cli_exe() { return ROCMFORGE_EXE; }
// ../shared beside the checkout (models, tokenizers, held-out text). May be absent.
inline std::filesystem::path shared_dir() {
    if (const char* env = std::getenv("ROCMFORGE_SHARED_DIR")) return env;
    return source_dir().parent_path() / "shared";
}
inline std::filesystem::path temp_dir() {
    auto dir = binary_dir() / "test_tmp";
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace rf::test

// Skips the current test when ../shared is not there.
#define RF_REQUIRE_SHARED()                                                         \
    do {                                                                            \
        if (!std::filesystem::exists(::rf::test::shared_dir() / "models"))          \
            GTEST_SKIP() << "../shared/models not found (set ROCMFORGE_SHARED_DIR)"; \
    } while (0)
