// Vocab from a Hugging Face model folder with a byte-level BPE tokenizer (Qwen2/Qwen3, GPT-2,
// Llama 3 style), read the way llama.cpp's convert_hf_to_gguf.py (get_vocab_base +
// gguf.SpecialVocab) writes it into a GGUF, so the result equals the tokenizer.ggml.* keys of
// a llama.cpp conversion:
//
//   tokens      ids 0 .. vocab_size-1, vocab_size from config.json "vocab_size" if present,
//               else the number of tokens; ids without a token become "[PAD<id>]" (unused)
//   token_type  added tokens: control if "special" or the text looks special (<|...|>, <pad>,
//               <mask>, <unused...>, ...), else user-defined (with "▁" written as " ");
//               everything else normal
//   merges      "left right"; tokenizer.json holds them as strings or as [left, right] pairs
//               (a space inside a pair part is written as U+0120, as the converter does)
//   pre         from the pre-tokenizer regex in tokenizer.json ("qwen2", "qwen35",
//               "llama-bpe", "gpt-2"); an unknown regex is an error
//   *_token_id  tokenizer_config.json bos/eos/unk/sep/pad/cls/mask_token (a string or
//               {"content": ...}) looked up among the added tokens, then config.json
//               <x>_token_id for the ones still unset
//   add_*_token tokenizer.json TemplateProcessing post-processor, overridden by
//               tokenizer_config.json add_bos_token / add_eos_token
//   chat_template  tokenizer_config.json "chat_template", else chat_template.jinja, else
//               chat_template.json (only when tokenizer_config.json exists, as the converter)
//   normalizer  "NFC" when tokenizer.json asks for it (not written by llama.cpp)
//
// Files read: tokenizer.json (required), tokenizer_config.json, config.json,
// chat_template.jinja, chat_template.json. Throws rf::Error naming the file and the field.
#pragma once

#include <string>

#include "tokenizer/vocab.h"

namespace rf {

Vocab vocab_from_hf(const std::string& dir);

}  // namespace rf
