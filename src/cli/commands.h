// Subcommands of the rocmforge executable. Each add_*_command registers one CLI11 subcommand
// (options + callback) on the root app; main.cpp calls them all.
#pragma once

#include <CLI/CLI.hpp>

namespace rf::cli {

void add_version_command(CLI::App& app);
void add_info_command(CLI::App& app);        // info_command.cpp
void add_run_command(CLI::App& app);         // run_command.cpp
void add_logits_command(CLI::App& app);      // logits_command.cpp
void add_embed_command(CLI::App& app);       // embed_command.cpp
void add_perplexity_command(CLI::App& app);  // perplexity_command.cpp
void add_tokenize_command(CLI::App& app);    // tokenize_command.cpp
void add_template_command(CLI::App& app);    // tokenize_command.cpp
void add_convert_command(CLI::App& app);     // convert_command.cpp
void add_quantize_command(CLI::App& app);    // quantize_command.cpp
void add_bench_command(CLI::App& app);       // bench_command.cpp
void add_serve_command(CLI::App& app);       // serve_command.cpp

}  // namespace rf::cli
