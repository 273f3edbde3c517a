// rocmforge logits: raw float32 logits of every prompt position, row-major [n_tokens, n_vocab].
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "engine/loaded_model.h"
#include "engine/session.h"

namespace rf::cli {
namespace {

// A file created at once and written at the end; removed unless commit() succeeded.
class OutputFile {
public:
    explicit OutputFile(std::string path) : path_(std::move(path)) {
        f_ = std::fopen(path_.c_str(), "wb");
        if (!f_) fail("{}: cannot create: {}", path_, std::strerror(errno));
    }
    ~OutputFile() {
        if (f_ == nullptr) return;
        std::fclose(f_);
        std::remove(path_.c_str());
    }
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;

    void write(const void* data, size_t bytes) {
        if (std::fwrite(data, 1, bytes, f_) != bytes) fail("{}: write failed: {}", path_, std::strerror(errno));
    }
    void commit() {
        std::FILE* f = std::exchange(f_, nullptr);
        if (std::fclose(f) != 0) {
            std::remove(path_.c_str());
            fail("{}: write failed: {}", path_, std::strerror(errno));
        }
    }

private:
    std::string path_;
    std::FILE* f_ = nullptr;
};

}  // namespace

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
    cmd->add_option("-b,--batch-size", o->batch, "tokens per forward step")->check(kPositive);
    cmd->callback([o] {
        const std::string text = o->text_file.empty() ? o->text : read_text_file(o->text_file);
        RF_CHECK(!text.empty(), "logits: no text (--text or -f)");
        // The output file is created before the model is loaded (an unwritable path fails first) and
        // removed again if anything after fails.
        OutputFile out(o->out);
        LoadOptions lo = to_load_options(o->model);
        lo.n_batch = o->batch;
        LoadedModel lm(lo);
        const auto ids = lm.tokenizer().encode(text, /*add_special=*/true, /*parse_special=*/true);
        RF_CHECK(static_cast<int32_t>(ids.size()) <= lm.n_ctx(),
                 "logits: the text has {} tokens, more than the context size {} (--ctx-size)", ids.size(), lm.n_ctx());
        Session session(lm.model(), lm.kv(), lm.n_ctx());
        std::vector<float> logits;
        session.feed(ids, o->batch, nullptr, &logits);
        out.write(logits.data(), logits.size() * sizeof(float));
        out.commit();
        std::fprintf(stderr, "wrote %zu x %d float32 logits to %s\n", ids.size(), lm.model().n_vocab(), o->out.c_str());
    });
}

}  // namespace rf::cli
