#include "engine/generator.h"

#include <chrono>

#include "core/error.h"
#include "engine/session.h"
#include "engine/stop_matcher.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace rf {

const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::Length: return "length";
        case FinishReason::Stop: return "stop";
        case FinishReason::EndOfGeneration: return "eos";
        case FinishReason::ContextFull: return "context_full";
        case FinishReason::Cancelled: return "cancelled";
    }
    return "?";
}

GenerateResult generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                        const GenerateOptions& opt, const std::function<bool(std::string_view)>& on_text) {
    using clock = std::chrono::steady_clock;
    GenerateResult res;
    res.n_prompt = static_cast<int32_t>(prompt.size());
    RF_CHECK(!prompt.empty() || session.length() > 0, "generate: empty prompt");

    std::vector<float> logits;
    const auto t0 = clock::now();
    if (!prompt.empty()) {
        session.feed(prompt, opt.n_batch, &logits);
    } else {
        // Continue from the session's last token: recompute its logits.
        const int32_t last = session.tokens().back();
        session.truncate(session.length() - 1);
        const int32_t one[1] = {last};
        session.feed(one, 1, &logits);
    }
    const auto t1 = clock::now();
    res.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

    Sampler sampler(opt.sampling);
    StreamingDetokenizer detok(tokenizer, /*skip_special=*/true);
    StopMatcher stops(opt.stop);
    bool cancelled = false;
    auto emit = [&](const std::string& text) {
        if (text.empty() || cancelled) return;
        res.text += text;
        if (on_text && !on_text(text)) cancelled = true;
    };

    res.finish = FinishReason::Length;
    for (int32_t i = 0; i < opt.max_tokens; ++i) {
        SampleResult s = sampler.sample(logits, session.tokens());
        const int32_t tok = s.token;
        if (!opt.ignore_eos && tokenizer.is_eog(tok)) {
            res.finish = FinishReason::EndOfGeneration;
            break;
        }
        res.tokens.push_back(tok);
        res.samples.push_back(std::move(s));
        const StopMatcher::Result r = stops.push(detok.push(tok));
        emit(r.emit);
        if (r.stopped) {
            res.finish = FinishReason::Stop;
            break;
        }
        if (cancelled) {
            res.finish = FinishReason::Cancelled;
            break;
        }
        if (i + 1 == opt.max_tokens) break;
        if (session.length() >= session.n_ctx()) {
            res.finish = FinishReason::ContextFull;
            break;
        }
        const int32_t one[1] = {tok};
        session.feed(one, 1, &logits);
    }
    if (res.finish != FinishReason::Stop && res.finish != FinishReason::Cancelled) {
        const StopMatcher::Result r = stops.push(detok.flush());
        emit(r.emit);
        if (r.stopped) res.finish = FinishReason::Stop;
        else emit(stops.flush());
    }
    res.generate_seconds = std::chrono::duration<double>(clock::now() - t1).count();
    return res;
}

}  // namespace rf
