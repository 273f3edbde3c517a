#include "cli/model_options.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/error.h"

namespace rf::cli {

void add_model_options(CLI::App* cmd, ModelOptions& o, bool with_context) {
    cmd->add_option("-m,--model", o.model, "GGUF model file (default: the embedded tiny model)");
    cmd->add_option("--device", o.device, "auto | cpu | gpu")->check(CLI::IsMember({"auto", "cpu", "gpu"}));
    cmd->add_option("-t,--threads", o.threads, "CPU threads (default: all cores)")->check(CLI::NonNegativeNumber);
    if (with_context) {
        cmd->add_option("-c,--ctx-size", o.ctx, "context size in tokens (default: min(training context, 4096))")
            ->check(CLI::NonNegativeNumber);
    }
    cmd->add_option("--kv-type", o.kv_type, "KV cache storage: f16 | f32")->check(CLI::IsMember({"f16", "f32"}));
}

LoadOptions to_load_options(const ModelOptions& o) {
    LoadOptions l;
    l.model_path = o.model;
    l.backend.device = o.device;
    l.backend.n_threads = o.threads;
    l.n_ctx = o.ctx;
    l.kv_codec = o.kv_type == "f32" ? KvCodec::F32 : KvCodec::F16;
    return l;
}

std::string read_text_file(const std::string& path) {
    if (path == "-") return {std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    std::ifstream f(path, std::ios::binary);
    if (!f) fail("{}: cannot open: {}", path, std::strerror(errno));
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace rf::cli
