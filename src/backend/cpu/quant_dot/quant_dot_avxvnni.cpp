// Dot kernels of the avx_vnni tier: the avx2 kernels with AVX-VNNI's 256-bit vpdpbusd.
#define RF_DOT_NS avxvnni
#define RF_DOT_VNNI256 1
#include "backend/cpu/quant_dot/quant_dot_x86_table256.h"
