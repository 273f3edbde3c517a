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
#include "forwarding_backend.h"
#include "model/model.h"
#include "server/scheduler.h"
#include "server_test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf::server {
namespace {

class FaultyBackend final : public test::ForwardingBackend<Backend> {
public:
    using ForwardingBackend::ForwardingBackend;
    std::atomic<int> failing_steps{0};  // begin_step throws (and counts down) while > 0

    DeviceKind kind() const override { return in_.kind(); }
    std::string name() const override { return "faulty " + in_.name(); }
    void begin_step(const StepPlan& plan) override {
        if (failing_steps.load() > 0) {
            --failing_steps;
            throw Error("injected: the device fell off the bus");
        }
        in_.begin_step(plan);
    }
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
