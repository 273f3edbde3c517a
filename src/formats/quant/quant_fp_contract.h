// Turns floating-point contraction (a * b + c -> fma) off for the rest of the translation unit.
// Include it FIRST in every quantization source file, before any other header.
//
// Bit-exactness with the llama.cpp ecosystem's reference quantizers depends on evaluating every
// float expression in the same order with plain IEEE single-precision operations. Their reference
// library is built for baseline x86-64, which has no FMA, so no product is ever fused there; GCC
// fuses by default (-ffp-contract=fast) as soon as -mfma is on (our *_avx2 / *_avx512 files, or a
// -march=native build), and clang fuses within one expression. The pragma must come before every
// other header so that all functions of the unit share one optimisation setting (GCC does not
// inline across differing settings).
#pragma once

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
