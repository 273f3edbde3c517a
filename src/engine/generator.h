// Text generation for one session: feeds the prompt (chunked prefill), then samples token by
// token, streaming complete UTF-8 text through a callback, until max tokens, an end-of-generation
// token, a stop string, the context limit, or the callback cancels.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampler.h"

namespace rf {

class Session;
class Tokenizer;

enum class FinishReason { Length, Stop, EndOfGeneration, ContextFull, Cancelled };
const char* finish_reason_name(FinishReason r);

struct GenerateOptions {
    int32_t max_tokens = 128;  // -1: until end of generation, a stop string or a full context
    SamplingParams sampling;
    std::vector<std::string> stop;
    bool ignore_eos = false;
    int32_t n_batch = 512;
    // Speculative decoding with prompt-lookup drafts (engine/prompt_lookup.h): up to `draft` tokens
    // proposed per step from an earlier occurrence of the last draft_ngram .. 1 tokens, verified in
    // one forward pass with the next token; the same tokens as one at a time (greedy only: a
    // temperature above 0 is refused; the verification's batched logits may round differently at a
    // near tie). 0: off.
    int32_t draft = 0;
    int32_t draft_ngram = 3;
};

struct GenerateResult {
    std::string text;                  // what was streamed (stop string excluded)
    std::vector<int32_t> tokens;       // generated ids
    std::vector<SampleResult> samples; // per generated token (logprobs)
    FinishReason finish = FinishReason::Length;
    int32_t n_prompt = 0;              // tokens fed for the prompt
    double prompt_seconds = 0.0;
    double generate_seconds = 0.0;     // from the first sampled token to the end
    int32_t drafted = 0;               // speculative decoding: draft tokens verified
    int32_t accepted = 0;              // ... of them kept
    int32_t decode_steps = 0;          // forward passes after the prompt's
};

// Whether greedy decode on a GPU launches the step of token i before the host reads token i
// (the device argmax feeds it): on unless RF_DECODE_PIPELINE=off.
bool decode_pipelining_enabled();

// on_text receives each piece of text as soon as it is final; returning false cancels.
GenerateResult generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& options,
                        const std::function<bool(std::string_view)>& on_text = nullptr);

}  // namespace rf
