// Sampling and stopping options shared by run (and later serve's defaults).
#pragma once

#include <CLI/CLI.hpp>

#include "engine/generator.h"

namespace rf::cli {

void add_sampling_options(CLI::App* cmd, GenerateOptions& g, uint64_t& seed, bool& seed_set);

}  // namespace rf::cli
