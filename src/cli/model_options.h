// Options shared by the commands that run a model: -m, --device, -t, -c, --kv-type.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "engine/loaded_model.h"

namespace rf::cli {

struct ModelOptions {
    std::string model;          // empty: embedded default model
    std::string device = "auto";
    int threads = 0;
    int ctx = 0;
    std::string kv_type = "f16";
    std::string chat_template_file;  // (add_chat_template_option: the commands that render chats)
};

void add_model_options(CLI::App* cmd, ModelOptions& o, bool with_context = true);
// --chat-template-file FILE (llama.cpp's): a Jinja template in place of the model's.
void add_chat_template_option(CLI::App* cmd, ModelOptions& o);
LoadOptions to_load_options(const ModelOptions& o);

// Reads a whole file ("-" = stdin) of at most 1 GiB; throws rf::Error naming the path for a
// directory, an unreadable file or a longer one.
std::string read_text_file(const std::string& path);

}  // namespace rf::cli
