// rocmforge: one executable, many subcommands (see commands.h).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
    spdlog::set_default_logger(spdlog::stderr_color_mt("rocmforge"));
    spdlog::set_pattern("%^%l%$: %v");

    CLI::App app{"rocmforge: LLM inference engine for GGUF models (CPU, CUDA, HIP)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "rocmforge 0.1.0");
    rf::cli::add_version_command(app);
    rf::cli::add_info_command(app);
    rf::cli::add_run_command(app);
    rf::cli::add_logits_command(app);
    rf::cli::add_embed_command(app);
    rf::cli::add_perplexity_command(app);
    rf::cli::add_tokenize_command(app);
    rf::cli::add_template_command(app);
    rf::cli::add_convert_command(app);
    rf::cli::add_quantize_command(app);
    rf::cli::add_bench_command(app);
    rf::cli::add_serve_command(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const rf::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
