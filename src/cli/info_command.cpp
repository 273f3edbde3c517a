#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "tools/model_info.h"

namespace rf::cli {

void add_info_command(CLI::App& app) {
    struct Options {
        std::string path;
        bool json = false;
    };
    auto opts = std::make_shared<Options>();
    auto* cmd = app.add_subcommand(
        "info",
        "Show the metadata and tensors of a GGUF file, or the tensors of a safetensors "
        "file or Hugging Face model directory");
    cmd->add_option("path", opts->path, "FILE.gguf, FILE.safetensors or a model directory")
        ->required();
    cmd->add_flag("--json", opts->json,
                  "Print one JSON document (full metadata values, tensor shapes in ne order)");
    cmd->callback([opts] { std::fputs(rf::model_info(opts->path, opts->json).c_str(), stdout); });
}

}  // namespace rf::cli
