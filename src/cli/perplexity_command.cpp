// rocmforge perplexity: perplexity of a text over non-overlapping windows of --ctx tokens.
#include <cstdio>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "engine/loaded_model.h"
#include "tools/perplexity.h"

namespace rf::cli {

void add_perplexity_command(CLI::App& app) {
    struct Options {
        ModelOptions model;
        std::string file;
        PerplexityOptions ppl;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("perplexity", "Perplexity of a text file (and KL divergence vs a base run)");
    add_model_options(cmd, o->model, /*with_context=*/false);
    cmd->add_option("-f,--file", o->file, "text file")->required();
    cmd->add_option("-c,--ctx-size,--ctx", o->ppl.n_ctx, "window size in tokens (as llama-perplexity's -c)")
        ->check(CLI::Range(2, 1 << 20));
    cmd->add_option("-b,--batch-size", o->ppl.n_batch, "tokens per forward step")->check(kPositive);
    cmd->add_option("--chunks", o->ppl.max_windows, "score at most this many windows (0: all)")
        ->check(kNonNegative);
    cmd->add_option("--kl-base", o->ppl.kl_base_path,
                    "log-probability file: written when missing, else compared (mean KL divergence)");
    cmd->callback([o] {
        const std::string text = read_text_file(o->file);
        LoadOptions lo = to_load_options(o->model);
        lo.n_ctx = o->ppl.n_ctx;
        lo.n_batch = o->ppl.n_batch;
        o->ppl.text_name = o->file;
        LoadedModel lm(lo);
        // Special-token text in the file (e.g. <|endoftext|> between documents) is parsed as the
        // special token, as Hugging Face tokenizers and llama.cpp do.
        std::vector<int32_t> tokens = lm.tokenizer().encode(text, /*add_special=*/false, /*parse_special=*/true);
        o->ppl.bos_id = lm.tokenizer().add_bos() ? lm.tokenizer().bos_id() : -1;
        std::fprintf(stderr, "model: %s on %s\ntext: %s, %zu tokens, windows of %d\n", lm.description().c_str(),
                     lm.backend().name().c_str(), o->file.c_str(), tokens.size(), o->ppl.n_ctx);
        const PerplexityResult r = compute_perplexity(lm.model(), lm.kv(), tokens, o->ppl, [](const WindowResult& w) {
            std::printf("[%d/%d] window ppl %.4f, running ppl %.4f\n", w.index + 1, w.n_windows, w.window_ppl,
                        w.running_ppl);
            std::fflush(stdout);
        });
        std::printf("scored %lld tokens in %d windows, %.1f s (%.1f tokens/s)\n", static_cast<long long>(r.n_scored),
                    r.n_windows, r.seconds, r.seconds > 0 ? static_cast<double>(r.n_windows) * o->ppl.n_ctx / r.seconds : 0.0);
        if (r.kl_written) std::printf("wrote KL base %s\n", o->ppl.kl_base_path.c_str());
        if (r.mean_kl) {
            std::printf("mean KL divergence vs %s: %.6f\nsame top token: %.2f %%\n", o->ppl.kl_base_path.c_str(),
                        *r.mean_kl, 100.0 * r.top1_agreement.value_or(0.0));
        }
        std::printf("perplexity: %.4f\n", r.perplexity);
    });
}

}  // namespace rf::cli
