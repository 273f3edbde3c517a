// The tokenizer.ggml.* metadata of a GGUF file <-> Vocab (llama.cpp's keys). The Vocab's
// `normalizer` (NFC for the real Qwen tokenizers) has no llama.cpp key; it is stored as
// tokenizer.rocmforge.normalizer only when set (llama.cpp ignores unknown keys).
#pragma once

#include "tokenizer/vocab.h"

namespace rf {

class GgufFile;
class GgufWriter;

// Reads and validates the vocabulary (errors name the file and the key).
Vocab vocab_from_gguf(const GgufFile& gguf);
// Writes every key of the vocabulary.
void vocab_to_gguf(const Vocab& vocab, GgufWriter& writer);

}  // namespace rf
