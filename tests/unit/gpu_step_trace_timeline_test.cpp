// The whole-step trace's records grouped into launches and classes (step_trace_timeline.h): records in
// the order the blocks took them fall into launches whatever their entry stamps say (the timer's
// ticks tie and skew), a record that does not fit its launch is an error naming it, and the classes'
// shares add up to the span between the first and the last launch's end.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>

#include "backend/gpu_host/step_trace_timeline.h"

namespace rf {
namespace {

// one launch of `blocks` blocks entering from t0 (10 ns apart), waiting at t0 + 100, ending at t1 - block
void add_launch(std::vector<StepTraceRecord>& out, StepTraceTag tag, uint32_t info, uint32_t blocks, uint64_t t0,
                uint64_t t1) {
    for (uint32_t b = 0; b < blocks; ++b) {
        StepTraceRecord r;
        r.tag = static_cast<uint32_t>(tag);
        r.info = info;
        r.grid_blocks = blocks;
        r.block = b;
        r.smid = b % 132;
        r.t_entry = t0 + 10 * b;
        r.t_wait = t0 + 100;
        r.t_exit = t1 - b;
        out.push_back(r);
    }
}

std::vector<StepTraceRecord> two_layer_step() {
    std::vector<StepTraceRecord> r;
    uint64_t t = 1000;
    add_launch(r, StepTraceTag::Embed, 896, 4, t, t + 500);
    t += 400;
    for (int layer = 0; layer < 2; ++layer) {
        add_launch(r, StepTraceTag::Matvec1, 1152, 144, t, t + 3000);  // entries t .. t + 1430 < next launch's
        t += 2000;
        add_launch(r, StepTraceTag::AttnMma, 12, 24, t, t + 2500);
        t += 2000;
        add_launch(r, StepTraceTag::Matvec1, 4864, 152, t, t + 4000);
        t += 3000;
    }
    return r;
}

TEST(StepTraceTimeline, InterleavedRecordsGroupIntoLaunchesInStreamOrder) {
    std::vector<StepTraceRecord> r = two_layer_step();
    // the embedding's last blocks took their records after the first matvec's first blocks, and stamped
    // later (a tie or skew of the timer): still the first launch, as it ended first
    std::swap(r[2], r[5]);
    std::swap(r[3], r[6]);
    r[5].t_entry = 1420;
    r[6].t_entry = 1420;
    const auto launches = step_trace_launches(r);
    ASSERT_EQ(launches.size(), 7u);
    EXPECT_EQ(launches[0].tag, static_cast<uint32_t>(StepTraceTag::Embed));
    EXPECT_EQ(launches[1].info, 1152u);
    EXPECT_EQ(launches[1].blocks, 144u);
    EXPECT_EQ(launches[2].tag, static_cast<uint32_t>(StepTraceTag::AttnMma));
    EXPECT_EQ(launches[3].info, 4864u);
    EXPECT_EQ(launches[4].info, 1152u);
    // launch 1 (t0 = 1400): entries 1400 .. 1400 + 1430, wait 1500, ends 4400 - 143 .. 4400
    EXPECT_EQ(launches[0].entry_first, 1000u);
    EXPECT_EQ(launches[0].entry_last, 1420u);
    EXPECT_EQ(launches[1].entry_first, 1400u);
    EXPECT_EQ(launches[1].entry_last, 2830u);
    EXPECT_EQ(launches[1].wait_first, 1500u);
    EXPECT_EQ(launches[1].exit_last, 4400u);
    EXPECT_EQ(launches[1].exit_first, 4257u);
}

TEST(StepTraceTimeline, ClassesShareTheSpanBetweenTheFirstAndLastEnd) {
    const auto launches = step_trace_launches(two_layer_step());
    const auto classes = step_trace_classes(launches);
    ASSERT_EQ(classes.size(), 3u);  // q/k/v-like, attention, gate/up-like (the first launch has no predecessor)
    EXPECT_EQ(classes[0].count, 2);
    EXPECT_EQ(classes[1].count, 2);
    EXPECT_EQ(classes[2].count, 2);
    double sum = 0;
    for (const auto& c : classes) sum += c.share_sum_us;
    EXPECT_NEAR(sum * 1e3, static_cast<double>(launches.back().exit_last - launches.front().exit_last), 1e-6);
    // the attention: previous end 4400, its wait 3500, its end 5900: share 1.5 us, release -0.9, work 2.4, lead 1.0
    EXPECT_NEAR(classes[1].share_us, 1.5, 1e-9);
    EXPECT_NEAR(classes[1].release_us, -0.9, 1e-9);
    EXPECT_NEAR(classes[1].work_us, 2.4, 1e-9);
    EXPECT_NEAR(classes[1].lead_us, 1.0, 1e-9);
    EXPECT_NE(step_trace_table(launches).find("attn_mma"), std::string::npos);
}

TEST(StepTraceTimeline, AnIncompleteLaunchOrABadBlockIdIsNamed) {
    std::vector<StepTraceRecord> cut = two_layer_step();
    cut.erase(cut.begin() + 5);  // the first matvec launch one record short
    try {
        (void)step_trace_launches(cut);
        FAIL() << "no error";
    } catch (const std::runtime_error& e) {
        // (the missing block is taken from the next launch of the class: the last one comes up short)
        EXPECT_NE(std::string(e.what()).find("the launch of matvec1 info 1152 (144 blocks) from record"), std::string::npos)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("got 143 records"), std::string::npos)
            << e.what();
    }
    std::vector<StepTraceRecord> bad = two_layer_step();
    bad[7].block = 144;
    EXPECT_THROW((void)step_trace_launches(bad), std::runtime_error);
}

TEST(StepTraceTimeline, WordsDecodeAsTheDeviceWritesThem) {
    const std::vector<unsigned long long> w = {(3ull << 32) | 12, (24ull << 32) | 5, 77, 1000, 1100, 2500, 1300, 2000};
    const auto r = step_trace_decode(w, 1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].tag, 3u);
    EXPECT_EQ(r[0].info, 12u);
    EXPECT_EQ(r[0].grid_blocks, 24u);
    EXPECT_EQ(r[0].block, 5u);
    EXPECT_EQ(r[0].smid, 77u);
    EXPECT_EQ(r[0].t_entry, 1000u);
    EXPECT_EQ(r[0].t_wait, 1100u);
    EXPECT_EQ(r[0].t_exit, 2500u);
    EXPECT_EQ(r[0].t_mark[0], 1300u);
    EXPECT_EQ(r[0].t_mark[1], 2000u);
    EXPECT_THROW((void)step_trace_decode(w, 2), std::runtime_error);
}

// The marks' means per launch: wait -> mark 0, mark 0 -> mark 1, the last mark -> exit; none without marks.
TEST(StepTraceTimeline, MarksSplitABlocksWork) {
    std::vector<StepTraceRecord> r;
    add_launch(r, StepTraceTag::Matvec1, 1152, 4, 1000, 5000);  // waits at 1100, ends at 5000 - block
    for (auto& x : r) {
        x.t_mark[0] = 1600;
        x.t_mark[1] = 3600;
    }
    r[0].t_mark[1] = 0;  // one block with mark 0 only
    const auto l = step_trace_launches(r);
    ASSERT_EQ(l.size(), 1u);
    EXPECT_NEAR(l[0].wait_to_mark0_mean, 500.0, 1e-9);
    EXPECT_NEAR(l[0].mark0_to_mark1_mean, 2000.0, 1e-9);
    // exits 5000, 4999, 4998, 4997 from the last marks 1600, 3600, 3600, 3600
    EXPECT_NEAR(l[0].mark_to_exit_mean, (3400.0 + 1399 + 1398 + 1397) / 4, 1e-9);
    add_launch(r, StepTraceTag::AttnMma, 12, 2, 6000, 8000);
    const auto two = step_trace_launches(r);
    EXPECT_LT(two[1].wait_to_mark0_mean, 0.0);
    // the class of the second launch (the first has no predecessor): no marks, its entry spread 10 ns,
    // a block's wait -> end (8000 - 6100 and 7999 - 6100)
    const auto classes = step_trace_classes(two);
    ASSERT_EQ(classes.size(), 1u);
    EXPECT_LT(classes[0].mark0_us, 0.0);
    EXPECT_LT(classes[0].mark01_us, 0.0);
    EXPECT_LT(classes[0].mark_exit_us, 0.0);
    EXPECT_NEAR(classes[0].spread_us, 0.010, 1e-12);
    EXPECT_NEAR(classes[0].block_work_us, 1.8995, 1e-12);
    // and a class with marks: two launches of the marked kind after the first
    std::vector<StepTraceRecord> m;
    for (int k = 0; k < 3; ++k) {
        add_launch(m, StepTraceTag::Matvec1, 1152, 1, 1000 + 10000 * k, 5000 + 10000 * k);
        m.back().t_mark[0] = m.back().t_wait + 400;
        m.back().t_mark[1] = m.back().t_wait + 1400;
    }
    const auto marked = step_trace_classes(step_trace_launches(m));
    ASSERT_EQ(marked.size(), 1u);
    EXPECT_EQ(marked[0].count, 2);
    EXPECT_NEAR(marked[0].mark0_us, 0.4, 1e-12);
    EXPECT_NEAR(marked[0].mark01_us, 1.0, 1e-12);
    EXPECT_NEAR(marked[0].mark_exit_us, 2.5, 1e-12);  // 5000 - 2500
}

// The complete steps among traced launches: from the second embedding launch to the last one; fewer
// than three starts give none (and the report says so).
TEST(StepTraceTimeline, CompleteStepsLieBetweenTheSecondAndTheLastEmbedding) {
    std::vector<StepTraceLaunch> all;
    uint64_t t = 1000;
    auto add = [&](StepTraceTag tag, uint32_t info) {
        StepTraceLaunch l;
        l.tag = static_cast<uint32_t>(tag);
        l.info = info;
        l.blocks = 2;
        l.entry_first = l.entry_last = t;
        l.wait_first = l.wait_last = t + 100;
        t += 1000;
        l.exit_first = l.exit_last = t;
        all.push_back(l);
    };
    add(StepTraceTag::Matvec1, 151936);  // the end of a step the trace cut
    for (int step = 0; step < 3; ++step) {
        add(StepTraceTag::Embed, 896);
        add(StepTraceTag::Matvec1, 1152);
        add(StepTraceTag::AttnMma, 12);
    }
    add(StepTraceTag::Embed, 896);  // a step the trace cut
    const StepTraceSteps st = step_trace_complete_steps(all);
    EXPECT_EQ(st.steps, 2u);
    ASSERT_EQ(st.launches.size(), 6u);  // the second and third steps
    EXPECT_EQ(st.first_step_launches, 3u);
    EXPECT_EQ(st.launches.front().tag, static_cast<uint32_t>(StepTraceTag::Embed));
    EXPECT_EQ(st.launches.front().entry_first, 5000u);
    EXPECT_EQ(st.before_first, 5000u);  // the first step's attention ended where the second began
    const std::string report = step_trace_report(all, true);
    EXPECT_NE(report.find("(2 steps, 6 launches"), std::string::npos) << report;
    EXPECT_NE(report.find("attn_mma"), std::string::npos) << report;
    // every launch of the first kept step, one per line after the column names
    const size_t list = report.find("last in");
    ASSERT_NE(list, std::string::npos) << report;
    EXPECT_EQ(std::count(report.begin() + static_cast<std::ptrdiff_t>(list), report.end(), '\n'), 4) << report;
    EXPECT_EQ(step_trace_report(all, false).find("last in"), std::string::npos);

    all.resize(7);  // two starts
    EXPECT_EQ(step_trace_complete_steps(all).steps, 0u);
    EXPECT_NE(step_trace_report(all, false).find("fewer than three step starts"), std::string::npos);
}

}  // namespace
}  // namespace rf
