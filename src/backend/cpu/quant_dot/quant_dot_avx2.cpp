// Dot kernels of the avx2 tier (AVX2 + FMA + F16C): 256-bit maddubs / madd.
#define RF_DOT_NS avx2
#define RF_DOT_VNNI256 0
#include "backend/cpu/quant_dot/quant_dot_x86_table256.h"
