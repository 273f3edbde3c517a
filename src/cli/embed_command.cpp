// rocmforge embed: text embeddings (llama.cpp's llama-embedding): one vector per input, the final
// hidden states pooled and L2-normalised (engine/embedding.h). Inputs: each -p, or each line of -f.
// Output: one line of space-separated floats per input, or (--json) OpenAI's /v1/embeddings body.
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "engine/embedding.h"
#include "engine/loaded_model.h"
#include "tokenizer/tokenizer.h"

namespace rf::cli {

void add_embed_command(CLI::App& app) {
    struct Options {
        ModelOptions model;
        std::vector<std::string> prompts;
        std::string file;
        std::string pooling;
        bool no_normalize = false;
        bool json = false;
        int batch = 512;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("embed", "Text embeddings: one vector per input (pooled final hidden states)");
    add_model_options(cmd, o->model);
    auto* p = cmd->add_option("-p,--prompt", o->prompts, "an input (repeatable)");
    cmd->add_option("-f,--file", o->file, "inputs: each non-empty line of a file")->excludes(p);
    cmd->add_option("--pooling", o->pooling, "mean, cls or last (default: the model's pooling_type, else last)")
        ->check(CLI::IsMember({"mean", "cls", "last"}));
    cmd->add_flag("--no-normalize", o->no_normalize, "leave the vectors as pooled (default: L2 norm 1)");
    cmd->add_flag("--json", o->json, "print OpenAI's /v1/embeddings response instead of one line per input");
    cmd->add_option("-b,--batch-size", o->batch, "tokens per forward step")->check(kPositive);
    cmd->callback([o] {
        std::vector<std::string> inputs = o->prompts;
        if (!o->file.empty()) {
            std::istringstream lines(read_text_file(o->file));
            for (std::string line; std::getline(lines, line);)
                if (!line.empty()) inputs.push_back(line);
        }
        RF_CHECK(!inputs.empty(), "embed: no input (-p TEXT or -f FILE)");
        LoadOptions lo = to_load_options(o->model);
        lo.n_batch = o->batch;
        LoadedModel lm(lo);
        EmbedOptions eo;
        eo.pooling = o->pooling.empty() ? default_pooling(lm.model().config()) : parse_pooling(o->pooling);
        eo.normalize = !o->no_normalize;
        eo.n_batch = o->batch;
        std::fprintf(stderr, "model: %s on %s, pooling %s%s\n", lm.description().c_str(), lm.backend().name().c_str(),
                     pooling_name(eo.pooling), eo.normalize ? ", normalised" : "");
        nlohmann::json data = nlohmann::json::array();
        int64_t tokens = 0;
        for (size_t i = 0; i < inputs.size(); ++i) {
            const auto ids = lm.tokenizer().encode(inputs[i], /*add_special=*/true, /*parse_special=*/true);
            RF_CHECK(static_cast<int32_t>(ids.size()) <= lm.n_ctx(),
                     "embed: input {} has {} tokens, more than the context size {} (--ctx-size)", i, ids.size(), lm.n_ctx());
            const std::vector<float> v = embed_tokens(lm.model(), lm.kv(), ids, lm.n_ctx(), eo);
            tokens += static_cast<int64_t>(ids.size());
            if (o->json) {
                data.push_back({{"object", "embedding"}, {"index", i}, {"embedding", v}});
                continue;
            }
            std::string line;
            for (size_t k = 0; k < v.size(); ++k) line += fmt::format("{}{:.9g}", k ? " " : "", v[k]);
            std::printf("%s\n", line.c_str());
        }
        if (o->json) {
            const nlohmann::json body = {{"object", "list"}, {"data", data}, {"model", lm.description()},
                                         {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
            std::printf("%s\n", body.dump().c_str());
        }
    });
}

}  // namespace rf::cli
