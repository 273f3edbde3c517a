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
};

struct GenerateResult {
    std::string text;                  // what was streamed (stop string excluded)
    std::vector<int32_t> tokens;       // generated ids
    std::vector<SampleResult> samples; // per generated token (logprobs)
    FinishReason finish = FinishReason::Length;
    int32_t n_prompt = 0;              // tokens fed for the prompt
    double prompt_seconds = 0.0;
    double generate_seconds = 0.0;     // from the first sampled token to the end
};

// Whether greedy decode on a GPU launches the step of token i before the host reads token i
// (the device argmax feeds it): on unless RF_DECODE_PIPELINE=off.
bool decode_pipelining_enabled();

// on_text receives each piece of text as soon as it is final; returning false cancels.
GenerateResult generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& options,
                        const std::function<bool(std::string_view)>& on_text = nullptr);

}  // namespace rf
