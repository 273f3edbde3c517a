// Switches read from the environment (benchmark and debugging knobs such as RF_GPU_ATTN_MMA).
// A value the switch does not know is an error naming the variable, the value and what it takes,
// never silently the default.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

namespace rf {

// The index of the variable's value in `values`; `fallback` when it is unset or empty.
int env_choice(const char* name, std::initializer_list<const char*> values, int fallback);

// The variable as an integer clamped to [lo, hi]; `fallback` when it is unset or empty.
int env_int(const char* name, int lo, int hi, int fallback);

// The variable as a comma-separated list (empty items dropped); empty when unset or empty.
std::vector<std::string> env_list(const char* name);

}  // namespace rf
