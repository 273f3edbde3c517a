// rocmforge_gpu_bench matvecn: the batched-decode products (one token per sequence) at N tokens,
// the dp4a matvec against the int8-mma kernel at each split of its block (gpu_bench.cpp's usage).
#pragma once

#include <string>
#include <vector>

namespace rf::bench {

int run_matvecn(const std::vector<std::string>& types, const std::vector<int>& tokens, int reps);

}  // namespace rf::bench
