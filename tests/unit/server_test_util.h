// What the scheduler tests share.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "server/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace rf::server {

// Runs `queue` (which submits requests) while the scheduler's thread is held between two steps, so
// that everything it submits is admitted together and shares the same steps: a batch composition
// that does not depend on timing.
template <typename Queue>
void queue_while_held(Scheduler& sched, Queue&& queue) {
    std::atomic<bool> held{false};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::thread holder([&] { sched.call([&] { held = true; released.wait(); }); });
    while (!held) std::this_thread::yield();
    try {
        queue();
    } catch (...) {
        release.set_value();
        holder.join();
        throw;
    }
    release.set_value();
    holder.join();
}

// What a request's stream gave: its text, its tokens and its end event.
struct Outcome {
    std::string text;
    std::vector<int32_t> tokens;
    StreamEvent end;
};

// Drains a request's events (fails the test after 120 s without its end).
inline Outcome drain(RequestStream& s) {
    Outcome o;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
        StreamEvent ev;
        if (!s.pop(ev, std::chrono::milliseconds(50))) continue;
        if (ev.kind == StreamEvent::Kind::Text) {
            o.text += ev.text;
            for (const auto& t : ev.tokens) o.tokens.push_back(t.token);
            continue;
        }
        o.end = ev;
        return o;
    }
    ADD_FAILURE() << "no end event within 120 s";
    return o;
}

// A greedy request of these prompt tokens.
inline GenerationParams greedy_request(std::vector<int32_t> prompt, int32_t max_tokens) {
    GenerationParams p;
    p.prompt = std::move(prompt);
    p.max_tokens = max_tokens;
    p.sampling.temperature = 0.0f;
    return p;
}

// A stop string that a greedy continuation completes at token j first: the first j in [from, to) whose own
// piece of text (what tokens[j] adds to the decoded text) is not blank and appears nowhere before in the
// text up to it. Returns j (-1: none) and sets `stop` to that piece.
inline int32_t first_stop_token(const Tokenizer& tok, const std::vector<int32_t>& tokens, int32_t from, int32_t to,
                                std::string& stop) {
    for (int32_t c = from; c < to && c < static_cast<int32_t>(tokens.size()); ++c) {
        const std::string before = tok.decode(std::vector<int32_t>(tokens.begin(), tokens.begin() + c), true);
        const std::string upto = tok.decode(std::vector<int32_t>(tokens.begin(), tokens.begin() + c + 1), true);
        if (upto.size() <= before.size() || upto.compare(0, before.size(), before) != 0) continue;
        const std::string piece = upto.substr(before.size());
        if (piece.find_first_not_of(' ') == std::string::npos || upto.find(piece) + piece.size() != upto.size()) continue;
        stop = piece;
        return c;
    }
    return -1;
}

}  // namespace rf::server
