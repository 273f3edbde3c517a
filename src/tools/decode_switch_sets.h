// Named sets of the GPU decode switches for the benchmarks (`rocmforge_gpu_bench step --decode
// SET,SET,...`): a set is "default" or switch names joined by '+' ("rope-off+attn-chunk=128"); each
// name stands for one RF_GPU_* environment variable and its value (gpu_emit.cpp and
// gpu_backend_impl.cpp read them at every step, so one process can compare sets).
#pragma once

#include <string>

namespace rf {

// Unsets every switch variable the names cover, then sets those of `set`. A name ending in '='
// takes the value after it ("wpr=2"); in skip=A:B the ':'s become ','s (RF_GPU_PROFILE_SKIP's
// list). An unknown name is an error naming it and the known ones.
void set_decode_switches(const std::string& set);

// The known names, ", "-joined ("wpr=N" for those that take a value).
std::string decode_switch_names();

}  // namespace rf
