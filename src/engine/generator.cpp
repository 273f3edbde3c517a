#include "engine/generator.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include "backend/gpu/gpu_backend.h"
#include "core/env_switch.h"
#include "core/error.h"
#include "engine/device_sampling.h"
#include "engine/prompt_lookup.h"
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
    TokenPicker(Session& session, const SamplingParams& params, const Tokenizer& tokenizer)
        : session_(session), sampler_(params, &tokenizer) {
        gpu_ = dynamic_cast<GpuBackend*>(&session.model().backend());
        if (needs_host_sampling(params)) gpu_ = nullptr;
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

// Where sampled tokens go: the result, the streamed text (complete UTF-8, stop strings held back
// until they cannot start one), and the checks that end generation.
class TokenSink {
public:
    TokenSink(GenerateResult& res, const Tokenizer& tokenizer, const GenerateOptions& opt,
              const std::function<bool(std::string_view)>& on_text)
        : res_(res), tokenizer_(tokenizer), opt_(opt), on_text_(on_text), detok_(tokenizer, /*skip_special=*/true),
          stops_(opt.stop) {}

    // Takes a sampled token; false when generation ends with it (res.finish set: an end of
    // generation, which is not kept, a stop string, or a cancelling callback).
    bool push(SampleResult s) {
        const int32_t tok = s.token;
        if (!opt_.ignore_eos && tokenizer_.is_eog(tok)) {
            res_.finish = FinishReason::EndOfGeneration;
            return false;
        }
        res_.tokens.push_back(tok);
        res_.samples.push_back(std::move(s));
        const StopMatcher::Result r = stops_.push(detok_.push(tok));
        emit(r.emit);
        if (r.stopped) {
            res_.finish = FinishReason::Stop;
            return false;
        }
        if (cancelled_) {
            res_.finish = FinishReason::Cancelled;
            return false;
        }
        return true;
    }
    // The text still held back, at the end.
    void flush() {
        if (res_.finish == FinishReason::Stop || res_.finish == FinishReason::Cancelled) return;
        const StopMatcher::Result r = stops_.push(detok_.flush());
        emit(r.emit);
        if (r.stopped) res_.finish = FinishReason::Stop;
        else emit(stops_.flush());
    }

private:
    void emit(const std::string& text) {
        if (text.empty() || cancelled_) return;
        res_.text += text;
        if (on_text_ && !on_text_(text)) cancelled_ = true;
    }

    GenerateResult& res_;
    const Tokenizer& tokenizer_;
    const GenerateOptions& opt_;
    const std::function<bool(std::string_view)>& on_text_;
    StreamingDetokenizer detok_;
    StopMatcher stops_;
    bool cancelled_ = false;
};

// Speculative decoding with prompt-lookup drafts (GenerateOptions::draft), after the prompt: each
// step feeds the pending token and its draft, keeps the draft tokens the model picks itself, and
// takes its first different pick (or the pick after the whole draft) as the next pending token.
// Logits come to the host (Session::feed's rows). The session keeps what one-at-a-time decoding
// would have fed: the prompt and every kept token but the last.
// RF_DRAFT_DEVICE_ROWS=off: a GPU's verification rows come to the host like the CPU's (comparisons).
bool draft_device_rows() { return env_choice("RF_DRAFT_DEVICE_ROWS", {"off", "on"}, 1) == 1; }

void generate_drafted(Session& session, const GenerateOptions& opt, Sampler& sampler, std::vector<float>& logits,
                      TokenSink& sink, GenerateResult& res) {
    const int32_t n_vocab = session.model().n_vocab();
    // On a GPU (greedy, no penalty) each verification row's argmax runs there, the rows never copied.
    auto* gpu = dynamic_cast<GpuBackend*>(&session.model().backend());
    if (!is_plain_greedy(opt.sampling) || !draft_device_rows()) gpu = nullptr;
    std::vector<int32_t> picks;
    const bool unlimited = opt.max_tokens < 0;
    std::vector<int32_t> history(session.tokens());  // the sequence with every kept token
    std::vector<float> rows;
    SampleResult next = sampler.sample(logits, history);
    const int32_t base = session.length();
    for (;;) {
        // the pending token
        const int32_t tok = next.token;
        if (!sink.push(std::move(next))) break;
        history.push_back(tok);
        const int32_t kept = static_cast<int32_t>(res.tokens.size());
        if (!unlimited && kept >= opt.max_tokens) break;
        if (session.length() >= session.n_ctx()) {
            res.finish = FinishReason::ContextFull;
            break;
        }
        // its draft, no longer than the tokens and the context left after it
        int32_t room = session.n_ctx() - session.length() - 1;
        if (!unlimited) room = std::min(room, opt.max_tokens - kept - 1);
        const std::vector<int32_t> draft =
            prompt_lookup_draft(history, opt.draft_ngram, 1, std::max(0, std::min(opt.draft, room)));
        std::vector<int32_t> feed{tok};
        feed.insert(feed.end(), draft.begin(), draft.end());
        const int32_t before = session.length();
        const bool on_device = gpu != nullptr && static_cast<int64_t>(feed.size()) <= opt.n_batch;
        if (on_device) {
            const float* dev = session.feed_rows_in_backend(feed, opt.n_batch);
            std::vector<GpuRowSample> batch(feed.size());
            for (size_t j = 0; j < feed.size(); ++j) {
                batch[j].row = dev + j * static_cast<size_t>(n_vocab);
                batch[j].n = n_vocab;
                batch[j].params.temperature = 0.0f;
            }
            const std::vector<GpuSampleResult> got = gpu->sample_rows(batch);
            picks.resize(got.size());
            for (size_t j = 0; j < got.size(); ++j) picks[j] = got[j].token;
        } else {
            session.feed(feed, opt.n_batch, nullptr, &rows);
        }
        ++res.decode_steps;
        res.drafted += static_cast<int32_t>(draft.size());
        // row j: the pick after feed[j]
        size_t j = 0;
        bool ended = false;
        for (;; ++j) {
            if (on_device) {
                next = SampleResult{};
                next.token = picks[j];
            } else {
                next = sampler.sample(std::span<const float>(rows).subspan(j * static_cast<size_t>(n_vocab), static_cast<size_t>(n_vocab)),
                                      history);
            }
            if (j == draft.size() || next.token != draft[j]) break;
            ++res.accepted;
            if (!sink.push(std::move(next)) || (!unlimited && static_cast<int32_t>(res.tokens.size()) >= opt.max_tokens)) {
                ended = true;
                break;
            }
            history.push_back(draft[j]);
        }
        if (ended) break;
        session.truncate(before + 1 + static_cast<int32_t>(j));  // the pending token and the kept draft
    }
    // (one at a time the last kept token is not fed; an end of generation's token is not kept)
    const int32_t fed = static_cast<int32_t>(res.tokens.size()) - (res.finish == FinishReason::EndOfGeneration ? 0 : 1);
    if (session.length() > base + std::max(fed, 0)) session.truncate(base + std::max(fed, 0));
}

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

    // Speculative decoding: host logits and the sampler on the host, no TokenPicker.
    const bool drafted = opt.draft > 0;
    if (drafted) {
        RF_CHECK(opt.sampling.temperature <= 0.0f,
                 "draft: speculative decoding with prompt-lookup drafts is greedy only (temperature {} > 0)",
                 opt.sampling.temperature);
        const ModelConfig& c = session.model().config();
        RF_CHECK(c.n_attention_layers() == c.n_layer,
                 "draft: not for models with linear-attention layers (their recurrent state cannot be cut back to the kept draft)");
        RF_CHECK(opt.draft_ngram >= 1, "draft_ngram: {} (must be >= 1)", opt.draft_ngram);
        RF_CHECK(!opt.sampling.json_schema,
                 "draft: not with a JSON schema (the constraint would take draft tokens that are then thrown away)");
    }
    std::optional<TokenPicker> picker;
    std::optional<Sampler> sampler;
    std::vector<float> logits;
    if (drafted) sampler.emplace(opt.sampling);
    else picker.emplace(session, opt.sampling, tokenizer);
    auto feed = [&](std::span<const int32_t> tokens, int32_t n_batch) {
        if (drafted) session.feed(tokens, n_batch, &logits);
        else picker->feed(tokens, n_batch);
    };
    const auto t0 = clock::now();
    if (!prompt.empty()) {
        feed(prompt, opt.n_batch);
    } else {
        // Continue from the session's last token: recompute its logits.
        const int32_t last = session.tokens().back();
        session.truncate(session.length() - 1);
        const int32_t one[1] = {last};
        feed(one, 1);
    }
    // On a GPU the feed only records the prompt's steps (the logits stay on the device for the
    // sampler): wait for them so that prompt_seconds is the prompt's time, not the recording's.
    session.model().backend().synchronize();
    const auto t1 = clock::now();
    res.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

    TokenSink sink(res, tokenizer, opt, on_text);
    res.finish = FinishReason::Length;
    if (drafted) {
        if (opt.max_tokens != 0) generate_drafted(session, opt, *sampler, logits, sink, res);
        sink.flush();
        res.generate_seconds = std::chrono::duration<double>(clock::now() - t1).count();
        return res;
    }
    const int32_t fed_before = session.length();
    const bool pipelined = picker->pipelined();
    const bool unlimited = opt.max_tokens < 0;  // until end of generation, a stop or a full context
    if (pipelined && opt.max_tokens != 0) picker->start_pick();
    for (int32_t i = 0; unlimited || i < opt.max_tokens; ++i) {
        // Pipelined: the step feeding token i is launched before token i is known, when nothing
        // that does not depend on token i ends generation first (the same checks as below).
        const bool last = !unlimited && i + 1 == opt.max_tokens;
        const bool room = session.length() < session.n_ctx();
        const bool ahead = pipelined && !last && room;
        if (ahead) picker->feed_pending();
        SampleResult s = pipelined ? picker->finish_pick() : picker->pick();
        const int32_t tok = s.token;
        if (!sink.push(std::move(s))) {
            if (ahead) picker->drop_pending();
            break;
        }
        if (last) break;
        if (!room) {
            res.finish = FinishReason::ContextFull;
            break;
        }
        if (pipelined) continue;  // token i was fed ahead
        const int32_t one[1] = {tok};
        picker->feed(one, 1);
    }
    sink.flush();
    res.decode_steps = session.length() - fed_before;  // one token per forward pass
    res.generate_seconds = std::chrono::duration<double>(clock::now() - t1).count();
    return res;
}

}  // namespace rf
