#include "engine/generator.h"

#include <chrono>

#include "backend/gpu/gpu_backend.h"
#include "core/env_switch.h"
#include "core/error.h"
#include "engine/device_sampling.h"
#include "engine/session.h"
#include "engine/stop_matcher.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace rf {

bool decode_pipelining_enabled() {
    return env_choice("RF_DECODE_PIPELINE", {"off", "on"}, 1) == 1;
}

namespace {

// Draws the next token. On a GPU backend (and without top-n logprobs) the logits row stays on
// the device: argmax or the sampling chain runs there and only the token comes back.
class TokenPicker {
public:
    TokenPicker(Session& session, const SamplingParams& params) : session_(session), sampler_(params) {
        gpu_ = dynamic_cast<GpuBackend*>(&session.model().backend());
        if (params.n_logprobs > 0) gpu_ = nullptr;
        session_.set_want_device_logits(gpu_ != nullptr);
    }
    ~TokenPicker() {
        session_.set_want_device_logits(false);
        if (gpu_ == nullptr) return;
        try {  // (left behind only when generation ended by an exception)
            while (gpu_->pending_argmax() > 0) (void)gpu_->argmax_wait();
            if (session_.has_unresolved_token()) session_.truncate(session_.length() - 1);
        } catch (...) {
        }
    }

    // Feeds tokens and leaves the last token's logits ready for pick().
    void feed(std::span<const int32_t> tokens, int32_t n_batch) {
        session_.feed(tokens, n_batch, gpu_ ? nullptr : &logits_);
    }

    // Greedy without penalties on a GPU: the next token is the device argmax of the logits, so
    // the step that feeds it can be launched before the host reads it (decode pipelining:
    // RF_DECODE_PIPELINE=off turns it off).
    bool device_argmax() const { return gpu_ != nullptr && is_plain_greedy(sampler_.params()); }
    // (Not for models with linear-attention layers: a step fed ahead and then dropped at an end of
    // generation cannot be taken back from their recurrent state, which would cost feeding the whole
    // sequence again, Session::truncate.)
    bool pipelined() const {
        const ModelConfig& c = session_.model().config();
        return device_argmax() && decode_pipelining_enabled() && c.n_attention_layers() == c.n_layer;
    }

    // Pipelined decode: the argmax of the last fed token's logits, launched; its id stays on the
    // device for feed_pending().
    void start_pick() { gpu_->argmax_async(session_.device_logits(), session_.model().n_vocab()); }
    // Feeds the token of the oldest started pick (before it is known) and starts the next pick.
    void feed_pending() {
        session_.feed_device_token();
        start_pick();
    }
    // The oldest started pick's token; resolves the session's device-held token when it was fed.
    SampleResult finish_pick() {
        SampleResult r;
        r.token = gpu_->argmax_wait();
        if (session_.has_unresolved_token()) session_.resolve_device_token(r.token);
        return r;
    }
    // Forgets a token fed by feed_pending() that generation does not keep, and its pick.
    void drop_pending() {
        session_.truncate(session_.length() - 1);
        (void)gpu_->argmax_wait();
    }

    SampleResult pick() {
        if (!gpu_) return sampler_.sample(logits_, session_.tokens());
        return sample_device_row(*gpu_, sampler_, session_.device_logits(), session_.model().n_vocab(), session_.tokens());
    }

private:
    Session& session_;
    Sampler sampler_;
    GpuBackend* gpu_ = nullptr;
    std::vector<float> logits_;
};

}  // namespace

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
    RF_CHECK(opt.max_tokens >= -1, "generate: max_tokens {} (-1: unlimited, else >= 0)", opt.max_tokens);

    TokenPicker picker(session, opt.sampling);
    const auto t0 = clock::now();
    if (!prompt.empty()) {
        picker.feed(prompt, opt.n_batch);
    } else {
        // Continue from the session's last token: recompute its logits.
        const int32_t last = session.tokens().back();
        session.truncate(session.length() - 1);
        const int32_t one[1] = {last};
        picker.feed(one, 1);
    }
    // On a GPU the feed only records the prompt's steps (the logits stay on the device for the
    // sampler): wait for them so that prompt_seconds is the prompt's time, not the recording's.
    session.model().backend().synchronize();
    const auto t1 = clock::now();
    res.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

    StreamingDetokenizer detok(tokenizer, /*skip_special=*/true);
    StopMatcher stops(opt.stop);
    bool cancelled = false;
    auto emit = [&](const std::string& text) {
        if (text.empty() || cancelled) return;
        res.text += text;
        if (on_text && !on_text(text)) cancelled = true;
    };

    res.finish = FinishReason::Length;
    const bool pipelined = picker.pipelined();
    const bool unlimited = opt.max_tokens < 0;  // until end of generation, a stop or a full context
    if (pipelined && opt.max_tokens != 0) picker.start_pick();
    for (int32_t i = 0; unlimited || i < opt.max_tokens; ++i) {
        // Pipelined: the step feeding token i is launched before token i is known, when nothing
        // that does not depend on token i ends generation first (the same checks as below).
        const bool last = !unlimited && i + 1 == opt.max_tokens;
        const bool room = session.length() < session.n_ctx();
        const bool ahead = pipelined && !last && room;
        if (ahead) picker.feed_pending();
        SampleResult s = pipelined ? picker.finish_pick() : picker.pick();
        const int32_t tok = s.token;
        if (!opt.ignore_eos && tokenizer.is_eog(tok)) {
            res.finish = FinishReason::EndOfGeneration;
            if (ahead) picker.drop_pending();
            break;
        }
        res.tokens.push_back(tok);
        res.samples.push_back(std::move(s));
        const StopMatcher::Result r = stops.push(detok.push(tok));
        emit(r.emit);
        if (r.stopped) {
            res.finish = FinishReason::Stop;
            if (ahead) picker.drop_pending();
            break;
        }
        if (cancelled) {
            res.finish = FinishReason::Cancelled;
            if (ahead) picker.drop_pending();
            break;
        }
        if (last) break;
        if (!room) {
            res.finish = FinishReason::ContextFull;
            break;
        }
        if (pipelined) continue;  // token i was fed ahead
        const int32_t one[1] = {tok};
        picker.feed(one, 1);
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
