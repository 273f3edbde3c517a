// Prompt-lookup drafts for speculative decoding (the "n-gram" drafts of llama.cpp's lookup
// decoding and vLLM's ngram speculator): the tokens that followed the most recent earlier
// occurrence of the sequence's last n tokens. No draft model: text that repeats its context
// (code edits, quoting, summaries, structured output) gets several tokens per forward pass.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace rf {

// Up to max_draft tokens following the latest earlier occurrence of the last n tokens of
// `context`, for n = max_ngram down to min_ngram (the longest match wins); empty when none
// matches. An occurrence must end before the context's last token (it is followed by something).
std::vector<int32_t> prompt_lookup_draft(std::span<const int32_t> context, int32_t max_ngram, int32_t min_ngram,
                                         int32_t max_draft);

}  // namespace rf
