#include "backend/gpu_host/step_trace_timeline.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace rf {

const char* step_trace_tag_name(uint32_t tag) {
    switch (static_cast<StepTraceTag>(tag)) {
        case StepTraceTag::Matvec1: return "matvec1";
        case StepTraceTag::Matvec: return "matvec";
        case StepTraceTag::AttnMma: return "attn_mma";
        case StepTraceTag::AttnFma: return "attn_fma";
        case StepTraceTag::Combine: return "combine";
        case StepTraceTag::CombineProj: return "combine_proj";
        case StepTraceTag::CombineWide: return "combine_wide";
        case StepTraceTag::RmsNorm: return "rms_norm";
        case StepTraceTag::RmsNormSliced: return "rms_norm_sliced";
        case StepTraceTag::Quantize: return "quantize";
        case StepTraceTag::Embed: return "embed";
        case StepTraceTag::Sampling: return "sampling";
        case StepTraceTag::Elementwise: return "elementwise";
        case StepTraceTag::RopeKv: return "rope_kv";
        case StepTraceTag::Upload: return "upload";
        default: return "?";
    }
}

std::vector<StepTraceRecord> step_trace_decode(const std::vector<unsigned long long>& words, size_t n_records) {
    if (words.size() < n_records * kStepTraceWords)
        throw std::runtime_error(fmt::format("step trace: {} records need {} words, got {}", n_records,
                                             n_records * kStepTraceWords, words.size()));
    std::vector<StepTraceRecord> out(n_records);
    for (size_t i = 0; i < n_records; ++i) {
        const unsigned long long* w = words.data() + i * kStepTraceWords;
        StepTraceRecord& r = out[i];
        r.tag = static_cast<uint32_t>(w[0] >> 32);
        r.info = static_cast<uint32_t>(w[0]);
        r.grid_blocks = static_cast<uint32_t>(w[1] >> 32);
        r.block = static_cast<uint32_t>(w[1]);
        r.smid = static_cast<uint32_t>(w[2]);
        r.t_entry = w[3];
        r.t_wait = w[4];
        r.t_exit = w[5];
        r.t_mark[0] = w[6];
        r.t_mark[1] = w[7];
    }
    return out;
}

std::vector<StepTraceLaunch> step_trace_launches(const std::vector<StepTraceRecord>& records) {
    struct Open {
        StepTraceLaunch l;
        size_t first_record = 0;
        uint32_t got = 0;
        std::vector<uint8_t> seen;
        double work = 0;
        int n_work = 0;
        double m0 = 0, m01 = 0, mexit = 0;
        int n_m0 = 0, n_m01 = 0;
    };
    std::vector<Open> done, open;
    for (size_t k = 0; k < records.size(); ++k) {
        const StepTraceRecord& r = records[k];
        if (r.grid_blocks == 0 || r.block >= r.grid_blocks)
            throw std::runtime_error(fmt::format("step trace: record {} ({} info {}) has block {} of a grid of {}", k,
                                                 step_trace_tag_name(r.tag), r.info, r.block, r.grid_blocks));
        auto it = std::find_if(open.begin(), open.end(), [&](const Open& o) {
            return o.l.tag == r.tag && o.l.info == r.info && o.l.blocks == r.grid_blocks && o.seen[r.block] == 0;
        });
        if (it == open.end()) {
            Open o;
            o.l.tag = r.tag;
            o.l.info = r.info;
            o.l.blocks = r.grid_blocks;
            o.l.entry_first = o.l.wait_first = o.l.exit_first = ~uint64_t{0};
            o.first_record = k;
            o.seen.assign(r.grid_blocks, 0);
            open.push_back(std::move(o));
            it = open.end() - 1;
        }
        Open& o = *it;
        StepTraceLaunch& l = o.l;
        o.seen[r.block] = 1;
        ++o.got;
        l.entry_first = std::min(l.entry_first, r.t_entry);
        l.entry_last = std::max(l.entry_last, r.t_entry);
        if (r.t_wait != 0) {
            l.wait_first = std::min(l.wait_first, r.t_wait);
            l.wait_last = std::max(l.wait_last, r.t_wait);
            o.work += static_cast<double>(r.t_exit) - static_cast<double>(r.t_wait);
            ++o.n_work;
            if (r.t_mark[0] != 0) {
                o.m0 += static_cast<double>(r.t_mark[0]) - static_cast<double>(r.t_wait);
                ++o.n_m0;
                const uint64_t last = r.t_mark[1] != 0 ? r.t_mark[1] : r.t_mark[0];
                o.mexit += static_cast<double>(r.t_exit) - static_cast<double>(last);
                if (r.t_mark[1] != 0) {
                    o.m01 += static_cast<double>(r.t_mark[1]) - static_cast<double>(r.t_mark[0]);
                    ++o.n_m01;
                }
            }
        }
        l.exit_first = std::min(l.exit_first, r.t_exit);
        l.exit_last = std::max(l.exit_last, r.t_exit);
        if (o.got == l.blocks) {
            if (o.n_work == 0) l.wait_first = l.wait_last = 0;
            else l.wait_to_exit_mean = o.work / o.n_work;
            if (o.n_m0 > 0) {
                l.wait_to_mark0_mean = o.m0 / o.n_m0;
                l.mark_to_exit_mean = o.mexit / o.n_m0;
            }
            if (o.n_m01 > 0) l.mark0_to_mark1_mean = o.m01 / o.n_m01;
            done.push_back(std::move(o));
            open.erase(it);
        }
    }
    if (!open.empty()) {
        const Open& o = open.front();
        throw std::runtime_error(fmt::format("step trace: the launch of {} info {} ({} blocks) from record {} got {} records",
                                             step_trace_tag_name(o.l.tag), o.l.info, o.l.blocks, o.first_record, o.got));
    }
    std::stable_sort(done.begin(), done.end(), [](const Open& a, const Open& b) {
        return a.l.exit_last != b.l.exit_last ? a.l.exit_last < b.l.exit_last : a.first_record < b.first_record;
    });
    std::vector<StepTraceLaunch> out;
    out.reserve(done.size());
    for (const Open& o : done) out.push_back(o.l);
    return out;
}

namespace {
double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
}
}  // namespace

std::vector<StepTraceClass> step_trace_classes(const std::vector<StepTraceLaunch>& launches) {
    struct Acc {
        StepTraceClass c;
        std::vector<double> share, release, work, lead, block_work, mark0, mark01, mark_exit, spread;
    };
    std::vector<Acc> acc;
    for (size_t i = 1; i < launches.size(); ++i) {  // the first launch has no predecessor
        const StepTraceLaunch& l = launches[i];
        const double prev_exit = static_cast<double>(launches[i - 1].exit_last);
        auto it = std::find_if(acc.begin(), acc.end(),
                               [&](const Acc& a) { return a.c.tag == l.tag && a.c.info == l.info && a.c.blocks == l.blocks; });
        if (it == acc.end()) {
            acc.push_back({});
            it = acc.end() - 1;
            it->c.tag = l.tag;
            it->c.info = l.info;
            it->c.blocks = l.blocks;
        }
        ++it->c.count;
        const double share = static_cast<double>(l.exit_last) - prev_exit;
        it->share.push_back(share);
        it->c.share_sum_us += share / 1e3;
        const double start = l.wait_first != 0 ? static_cast<double>(l.wait_first) : static_cast<double>(l.entry_first);
        it->release.push_back(start - prev_exit);
        it->work.push_back(static_cast<double>(l.exit_last) - start);
        it->lead.push_back(prev_exit - static_cast<double>(l.entry_first));
        it->block_work.push_back(l.wait_to_exit_mean);
        it->spread.push_back(static_cast<double>(l.entry_last) - static_cast<double>(l.entry_first));
        if (l.wait_to_mark0_mean >= 0) {
            it->mark0.push_back(l.wait_to_mark0_mean);
            it->mark_exit.push_back(l.mark_to_exit_mean);
        }
        if (l.mark0_to_mark1_mean >= 0) it->mark01.push_back(l.mark0_to_mark1_mean);
    }
    auto mean_or_none = [](const std::vector<double>& v) { return v.empty() ? -1.0 : mean(v) / 1e3; };
    std::vector<StepTraceClass> out;
    for (Acc& a : acc) {
        a.c.share_us = mean(a.share) / 1e3;
        a.c.release_us = mean(a.release) / 1e3;
        a.c.work_us = mean(a.work) / 1e3;
        a.c.lead_us = mean(a.lead) / 1e3;
        a.c.block_work_us = mean(a.block_work) / 1e3;
        a.c.spread_us = mean(a.spread) / 1e3;
        a.c.mark0_us = mean_or_none(a.mark0);
        a.c.mark01_us = mean_or_none(a.mark01);
        a.c.mark_exit_us = mean_or_none(a.mark_exit);
        out.push_back(a.c);
    }
    return out;
}

std::string step_trace_table(const std::vector<StepTraceLaunch>& launches) {
    std::string s = fmt::format("{:<16} {:>10} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8}\n", "kernel",
                                "info", "blocks", "count", "share us", "sum us", "release", "work us", "lead us", "blk work",
                                "->mark0", "->mark1", "->exit", "spread");
    auto opt = [](double us) { return us < 0 ? std::string("-") : fmt::format("{:.2f}", us); };
    for (const StepTraceClass& c : step_trace_classes(launches))
        s += fmt::format("{:<16} {:>10} {:>6} {:>6} {:>9.2f} {:>9.1f} {:>9.2f} {:>9.2f} {:>10.2f} {:>10.2f} {:>8} {:>8} {:>8} {:>8.2f}\n",
                         step_trace_tag_name(c.tag), c.info, c.blocks, c.count, c.share_us, c.share_sum_us, c.release_us,
                         c.work_us, c.lead_us, c.block_work_us, opt(c.mark0_us), opt(c.mark01_us), opt(c.mark_exit_us),
                         c.spread_us);
    if (!launches.empty())
        s += fmt::format("{} launches, first entry to last exit {:.1f} us\n", launches.size(),
                         (static_cast<double>(launches.back().exit_last) - static_cast<double>(launches.front().entry_first)) / 1e3);
    return s;
}

StepTraceSteps step_trace_complete_steps(const std::vector<StepTraceLaunch>& all) {
    std::vector<size_t> starts;
    for (size_t i = 0; i < all.size(); ++i)
        if (all[i].tag == static_cast<uint32_t>(StepTraceTag::Embed)) starts.push_back(i);
    StepTraceSteps out;
    if (starts.size() < 3) return out;
    out.launches.assign(all.begin() + static_cast<std::ptrdiff_t>(starts[1]), all.begin() + static_cast<std::ptrdiff_t>(starts.back()));
    out.steps = starts.size() - 2;
    out.first_step_launches = starts[2] - starts[1];
    out.before_first = all[starts[1] - 1].exit_last;
    return out;
}

std::string step_trace_report(const std::vector<StepTraceLaunch>& all, bool every_launch) {
    const StepTraceSteps st = step_trace_complete_steps(all);
    if (st.steps == 0) return fmt::format("step trace: {} launches hold fewer than three step starts (embeddings)\n", all.size());
    std::string s = fmt::format(
        "step trace ({} steps, {} launches; us, means over a class's launches; stamps in 256 ns ticks): share = its last "
        "block's end after the previous launch's, release = its first wait after that end, work = its last end after its "
        "first wait, lead = how long its first block sat resident before the previous launch ended, blk work = a block's "
        "wait to end, ->mark0 / ->mark1 / ->exit = a block's wait to its first mark, first to second mark, last mark to end, "
        "spread = first to last block's entry\n",
        st.steps, st.launches.size());
    s += step_trace_table(st.launches);
    if (!every_launch) return s;
    s += fmt::format("{:>4} {:<16} {:>10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "#", "kernel", "info", "blocks", "entry",
                     "last in", "wait", "exit", "blk work");
    uint64_t prev_end = st.before_first;
    for (size_t i = 0; i < st.first_step_launches; ++i) {
        const StepTraceLaunch& l = st.launches[i];
        auto rel = [&](uint64_t t) { return t == 0 ? 0.0 : (static_cast<double>(t) - static_cast<double>(prev_end)) / 1e3; };
        s += fmt::format("{:>4} {:<16} {:>10} {:>6} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f}\n", i, step_trace_tag_name(l.tag),
                         l.info, l.blocks, rel(l.entry_first), rel(l.entry_last), rel(l.wait_first), rel(l.exit_last),
                         l.wait_to_exit_mean / 1e3);
        prev_end = l.exit_last;
    }
    return s;
}

}  // namespace rf
