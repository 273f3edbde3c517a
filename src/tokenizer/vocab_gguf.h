// Vocab <-> GGUF tokenizer metadata, key for key as the llama.cpp ecosystem writes it (see
// vocab.h for the field <-> key table):
//
//   tokenizer.ggml.model          string       required
//   tokenizer.ggml.pre            string       optional ("" = llama.cpp's "default")
//   tokenizer.ggml.tokens         [string]     required, n_vocab entries
//   tokenizer.ggml.scores         [f32]        optional, n_vocab entries (SentencePiece)
//   tokenizer.ggml.token_type     [i32]        optional, n_vocab entries (TokenType values)
//   tokenizer.ggml.merges         [string]     optional ("left right"; required for gpt2)
//   tokenizer.ggml.<x>_token_id   u32          optional, x = bos eos unknown seperator padding
//                                              cls mask eot eom
//   tokenizer.ggml.add_bos_token  bool         optional (also add_eos_token, add_space_prefix)
//   tokenizer.chat_template       string       optional
//   tokenizer.rocmforge.normalizer string      optional, only rocmforge writes it ("NFC"): the
//                                              HF normalizer llama.cpp has no key for; other
//                                              readers ignore unknown keys
//
// Readers accept any integer type for ids and token types (older writers used i32/u32/u64) and
// f32 or f64 scores; anything else fails with the key, its type and the value named.
#pragma once

#include <span>
#include <string_view>

#include "tokenizer/vocab.h"

namespace rf {

class GgufFile;
class GgufWriter;
class Tokenizer;

// The key of the normalizer field (no llama.cpp equivalent).
inline constexpr const char* kGgufNormalizerKey = "tokenizer.rocmforge.normalizer";

// Reads every tokenizer key of `gguf` into a Vocab and checks it with validate_vocab().
// Throws rf::Error naming the file, the key and the offending value, e.g.
// "gguf model.gguf: tokenizer.ggml.token_type has type array<string>, expected an integer array".
Vocab vocab_from_gguf(const GgufFile& gguf);

// A Tokenizer of `gguf`'s vocabulary (vocab_from_gguf, then the merges and token index built):
// every error names the file, also those of building the tokenizer.
Tokenizer tokenizer_from_gguf(const GgufFile& gguf);

// Writes the tokenizer keys of `vocab` (validated first) in llama.cpp's order: model, pre,
// tokens, scores, token_type, merges, special token ids, add_* flags, chat template, then the
// rocmforge normalizer. Empty strings and arrays are not written (llama.cpp's add_string /
// add_array skip them), nor ids of -1 or unset flags.
//
// special_id_order: the order in which the special token ids are written, as llama.cpp's
// SpecialVocab names them ("bos", "eos", "unk", "sep", "pad", "cls", "mask", "eot", "eom");
// ids not listed follow in that canonical order. Empty: the canonical order. (llama.cpp writes
// first the ids named by tokenizer_config.json, then those found in config.json.)
void vocab_to_gguf(const Vocab& vocab, GgufWriter& writer,
                   std::span<const std::string_view> special_id_order = {});

}  // namespace rf
