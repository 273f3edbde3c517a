// rocmforge logits: raw float32 logits of every prompt position, row-major [n_tokens, n_vocab].
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "engine/loaded_model.h"
#include "engine/session.h"

namespace rf::cli {

void add_logits_command(CLI::App& app) {
    struct Options {
        ModelOptions model;
        std::string text;
        std::string text_file;
        std::string out;
        int batch = 512;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("logits", "Write the raw float32 logits of every prompt position to a file");
    add_model_options(cmd, o->model);
    auto* text_opt = cmd->add_option("--text", o->text, "text to score");
    cmd->add_option("-f,--file", o->text_file, "read the text from a file")->excludes(text_opt);
    cmd->add_option("--out", o->out, "output file: float32 little-endian, [n_tokens, n_vocab]")->required();
    cmd->add_option("-b,--batch-size", o->batch, "tokens per forward step")->check(CLI::PositiveNumber);
    cmd->callback([o] {
        const std::string text = o->text_file.empty() ? o->text : read_text_file(o->text_file);
        RF_CHECK(!text.empty(), "logits: no text (--text or -f)");
        LoadOptions lo = to_load_options(o->model);
        LoadedModel lm(lo);
        const auto ids = lm.tokenizer().encode(text, /*add_special=*/true, /*parse_special=*/true);
        RF_CHECK(static_cast<int32_t>(ids.size()) <= lm.n_ctx(),
                 "logits: the text has {} tokens, more than the context size {} (--ctx-size)", ids.size(), lm.n_ctx());
        Session session(lm.model(), lm.kv(), lm.n_ctx());
        std::vector<float> logits;
        session.feed(ids, o->batch, nullptr, &logits);
        std::FILE* f = std::fopen(o->out.c_str(), "wb");
        if (!f) fail("{}: cannot create: {}", o->out, std::strerror(errno));
        const size_t n = std::fwrite(logits.data(), sizeof(float), logits.size(), f);
        const bool ok = std::fclose(f) == 0 && n == logits.size();
        if (!ok) fail("{}: write failed: {}", o->out, std::strerror(errno));
        std::fprintf(stderr, "wrote %zu x %d float32 logits to %s\n", ids.size(), lm.model().n_vocab(), o->out.c_str());
    });
}

}  // namespace rf::cli
