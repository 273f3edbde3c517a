// Random but valid tensor data of any weight type, generated directly in its stored layout (no
// float quantization), fast enough to fill a 7B model in seconds: random quant bits, and every
// scale field a small positive f16 chosen so that decoded weights have magnitudes around 0.02
// (finite, no subnormals). Used by the synthetic bench models and by kernel tests that want
// every bit pattern of the quants.
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/tensor_type.h"

namespace rf {

// Fills nbytes (a whole number of blocks of `type`) at dst. Deterministic in seed.
void fill_random_blocks(TensorType type, uint8_t* dst, size_t nbytes, uint64_t seed);

// Fills n floats with values in [center - spread, center + spread].
void fill_random_floats(float* dst, size_t n, float center, float spread, uint64_t seed);

}  // namespace rf
