#include <cstdio>

#include "cli/commands.h"

namespace rf::cli {

void add_version_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("version", "Print the version and build configuration");
    cmd->callback([] {
        std::printf("rocmforge 0.1.0\n");
#if defined(ROCMFORGE_WITH_CUDA)
        std::printf("gpu backend: cuda\n");
#elif defined(ROCMFORGE_WITH_HIP)
        std::printf("gpu backend: hip\n");
#else
        std::printf("gpu backend: none\n");
#endif
    });
}

}  // namespace rf::cli
