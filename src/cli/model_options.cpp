#include "cli/model_options.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

#include "cli/option_checks.h"
#include "core/error.h"

namespace rf::cli {

void add_model_options(CLI::App* cmd, ModelOptions& o, bool with_context) {
    cmd->add_option("-m,--model", o.model, "GGUF model file (default: the embedded tiny model)");
    cmd->add_option("--device", o.device, "auto | cpu | gpu")->check(CLI::IsMember({"auto", "cpu", "gpu"}));
    cmd->add_option("-t,--threads", o.threads, "CPU threads (default: all cores)")->check(kNonNegative);
    if (with_context) {
        cmd->add_option("-c,--ctx-size", o.ctx, "context size in tokens (default: min(training context, 4096))")
            ->check(kNonNegative);
    }
    cmd->add_option("--kv-type", o.kv_type, "KV cache storage: f16 | f32")->check(CLI::IsMember({"f16", "f32"}));
}

void add_chat_template_option(CLI::App* cmd, ModelOptions& o) {
    cmd->add_option("--chat-template-file", o.chat_template_file,
                    "a Jinja chat template to use instead of the model's tokenizer.chat_template (as llama.cpp's)");
}

LoadOptions to_load_options(const ModelOptions& o) {
    LoadOptions l;
    if (!o.chat_template_file.empty()) {
        l.chat_template = read_text_file(o.chat_template_file);
        RF_CHECK(!l.chat_template.empty(), "--chat-template-file {}: the file is empty", o.chat_template_file);
        l.chat_template_source = "--chat-template-file " + o.chat_template_file;
    }
    l.model_path = o.model;
    l.backend.device = o.device;
    l.backend.n_threads = o.threads;
    l.n_ctx = o.ctx;
    l.kv_codec = o.kv_type == "f32" ? KvCodec::F32 : KvCodec::F16;
    return l;
}

std::string read_text_file(const std::string& path) {
    constexpr size_t kMaxBytes = size_t{1} << 30;  // 1 GiB of text: far beyond any prompt or evaluation file
    std::ifstream file;
    std::istream* in = &std::cin;
    if (path != "-") {
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) fail("{}: is a directory, not a text file", path);
        file.open(path, std::ios::binary);
        if (!file) fail("{}: cannot open: {}", path, std::strerror(errno));
        in = &file;
    }
    const std::string name = path == "-" ? std::string("standard input") : path;
    std::string text;
    char buf[1 << 16];
    while (in->read(buf, sizeof(buf)) || in->gcount() > 0) {
        text.append(buf, static_cast<size_t>(in->gcount()));
        if (text.size() > kMaxBytes) fail("{}: more than {} bytes of text; refused", name, kMaxBytes);
    }
    if (in->bad()) fail("{}: read failed: {}", name, std::strerror(errno));
    return text;
}

}  // namespace rf::cli
