// What one generation request hands the scheduler (GenerationParams) and what it gets back: a
// queue of events (text pieces with their tokens, then the end or a failure) that the HTTP
// thread drains while the scheduler's thread fills it. Cancelling (a client that went away) is
// a flag the scheduler reads before each step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "engine/generator.h"
#include "engine/sampler.h"

namespace rf::server {

struct GenerationParams {
    std::vector<int32_t> prompt;  // token ids, not empty
    int32_t max_tokens = -1;      // -1: until end of generation, a stop string or a full context
    SamplingParams sampling;
    std::vector<std::string> stop;
    bool ignore_eos = false;
};

// One generated token with its log-probabilities (top empty unless sampling.n_logprobs > 0).
struct TokenOut {
    int32_t token = -1;
    float logprob = 0.0f;
    std::vector<TokenLogprob> top;
};

struct StreamEvent {
    enum class Kind { Text, Finished, Failed };
    Kind kind = Kind::Text;
    std::string text;              // Text: text that became final (may be empty: a token held back)
    std::vector<TokenOut> tokens;  // Text: the tokens generated since the last event
    FinishReason finish = FinishReason::Length;  // Finished
    std::string stop_string;       // Finished by a stop string: which one
    int32_t n_prompt = 0;          // Finished: tokens of the prompt
    int32_t n_generated = 0;       // Finished: tokens generated (the end-of-generation token not counted)
    std::string error;             // Failed: what went wrong
};

class RequestStream {
public:
    void push(StreamEvent event);
    // The next event; false when none arrived within `timeout`.
    bool pop(StreamEvent& out, std::chrono::milliseconds timeout);
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<StreamEvent> events_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace rf::server
