// The scheduler when a step fails (a device error, a backend that throws): the requests in that
// step end with a Failed event naming the error, their KV blocks come back, and the scheduler takes
// the next requests as before. The failure is injected by a backend that forwards every call to
// the CPU backend and throws from begin_step while told to.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "model/model.h"
#include "server/scheduler.h"
#include "server_test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf::server {
namespace {

class FaultyBackend final : public Backend {
public:
    explicit FaultyBackend(Backend& inner) : in_(inner) {}
    std::atomic<int> failing_steps{0};  // begin_step throws (and counts down) while > 0

    DeviceKind kind() const override { return in_.kind(); }
    std::string name() const override { return "faulty " + in_.name(); }
    void* alloc(size_t bytes) override { return in_.alloc(bytes); }
    void release(void* p) override { in_.release(p); }
    void upload(void* dst, const void* src, size_t bytes) override { in_.upload(dst, src, bytes); }
    void download(void* dst, const void* src, size_t bytes) override { in_.download(dst, src, bytes); }
    void fill_zero(void* dst, size_t bytes) override { in_.fill_zero(dst, bytes); }
    void copy(void* dst, const void* src, size_t bytes) override { in_.copy(dst, src, bytes); }
    Weight load_weight(TensorType t, int64_t cols, int64_t rows, int64_t n_mats, const void* host) override {
        return in_.load_weight(t, cols, rows, n_mats, host);
    }
    void synchronize() override { in_.synchronize(); }
    void begin_step(const StepPlan& plan) override {
        if (failing_steps.load() > 0) {
            --failing_steps;
            throw Error("injected: the device fell off the bus");
        }
        in_.begin_step(plan);
    }
    void embed(const Weight& table, Act out) override { in_.embed(table, out); }
    void rms_norm(Act x, const Weight& w, float eps, Act out) override { in_.rms_norm(x, w, eps, out); }
    void matmul(const Weight& w, Act x, Act y, const Weight* bias) override { in_.matmul(w, x, y, bias); }
    void rope(Act x, int n_heads, int head_dim, const RopeParams& p) override { in_.rope(x, n_heads, head_dim, p); }
    void kv_store(const KvLayerView& layer, Act k, Act v) override { in_.kv_store(layer, k, v); }
    void attention(Act q, const KvLayerView& layer, const AttentionParams& p, Act out) override { in_.attention(q, layer, p, out); }
    void swiglu(Act gate, Act up, Act out) override { in_.swiglu(gate, up, out); }
    void add(Act a, Act b, Act out) override { in_.add(a, b, out); }
    void moe_ffn(Act h, Act router, const MoeFfn& moe, Act out) override { in_.moe_ffn(h, router, moe, out); }
    void gated_delta_net(Act qkv, Act z, Act a, Act b, const GatedDeltaNet& p, float* state, Act out) override {
        in_.gated_delta_net(qkv, z, a, b, p, state, out);
    }
    void sigmoid_mul(Act x, Act gate, Act out) override { in_.sigmoid_mul(x, gate, out); }
    void gather_output_rows(Act x, Act out) override { in_.gather_output_rows(x, out); }

private:
    Backend& in_;
};

StreamEvent last_event(RequestStream& s) {
    StreamEvent ev;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline)
        if (s.pop(ev, std::chrono::milliseconds(50)) && ev.kind != StreamEvent::Kind::Text) return ev;
    ADD_FAILURE() << "no end event within 60 s";
    return ev;
}

TEST(ServerSchedulerFault, AFailedStepEndsItsRequestsAndTheSchedulerGoesOn) {
    CpuBackend cpu(2);
    FaultyBackend be(cpu);
    Model model(open_default_model(), be);
    const Tokenizer tok = tokenizer_from_gguf(model.gguf());
    KvCache kv(be, KvCacheConfig{2 * 128 / 16, 16, KvCodec::F16}, model.kv_layer_shapes());
    Scheduler sched(model, kv, tok, 128, {2, 64, 4});
    GenerationParams p;
    p.prompt = tok.encode("The Python interpreter", true, true);
    p.max_tokens = 8;
    p.sampling.temperature = 0.0f;

    be.failing_steps = 1;
    // Both requests are queued while the scheduler's thread is held, so that one step takes both.
    std::shared_ptr<RequestStream> a, b;
    queue_while_held(sched, [&] {
        a = sched.submit(p);
        b = sched.submit(p);
    });
    const StreamEvent ea = last_event(*a), eb = last_event(*b);
    EXPECT_EQ(ea.kind, StreamEvent::Kind::Failed);
    EXPECT_NE(ea.error.find("the device fell off the bus"), std::string::npos) << ea.error;
    EXPECT_EQ(eb.kind, StreamEvent::Kind::Failed);  // (both were in the failed step)
    sched.call([] {});
    EXPECT_EQ(sched.stats().running, 0);
    EXPECT_EQ(sched.stats().kv_blocks_reserved, 0);
    EXPECT_EQ(sched.stats().prefix_cache.entries, 0) << "a failed request's KV is not kept";
    sched.call([&] { EXPECT_EQ(kv.n_free_blocks(), kv.pool().n_blocks()); });

    const StreamEvent ok = last_event(*sched.submit(p));
    EXPECT_EQ(ok.kind, StreamEvent::Kind::Finished) << ok.error;
    EXPECT_EQ(ok.n_generated, 8);
}

}  // namespace
}  // namespace rf::server
