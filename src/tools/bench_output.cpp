// BenchReport as JSON and CSV (bench.h), for scripts: the numbers of each test rather than the
// markdown table's rounded text.
#include <fmt/format.h>

#include <algorithm>
#include <utility>
#include <nlohmann/json.hpp>

#include "tools/bench.h"

namespace rf {
namespace {

// A CSV field: quoted, inner quotes doubled.
std::string csv_field(const std::string& v) {
    std::string out = "\"";
    for (const char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

// The slowest and fastest run of a test (its median when it kept no runs).
std::pair<double, double> run_range(const BenchRow& r) {
    if (r.runs_tps.empty()) return {r.tps, r.tps};
    const auto [lo, hi] = std::minmax_element(r.runs_tps.begin(), r.runs_tps.end());
    return {*lo, *hi};
}

}  // namespace

std::string BenchReport::json() const {
    nlohmann::ordered_json tests = nlohmann::ordered_json::array();
    for (const BenchRow& r : rows) {
        const auto [lo, hi] = run_range(r);
        nlohmann::ordered_json t = {{"model", r.model},         {"size_gib", r.size_gib},   {"params", r.params},
                                    {"backend", r.backend},     {"threads", r.threads},     {"test", r.test},
                                    {"n_prompt", r.n_prompt},   {"n_gen", r.n_gen},         {"n_depth", r.depth},
                                    {"n_seqs", r.n_seqs},
                                    {"median_ts", r.tps},       {"min_ts", lo},             {"max_ts", hi},
                                    {"samples_ts", r.runs_tps}};
        if (r.n_gen > 0) {
            t["gbs"] = r.gbs;
            t["bandwidth_fraction"] = r.bw_fraction;
        }
        tests.push_back(std::move(t));
    }
    nlohmann::ordered_json doc = {{"bandwidth_gbs", bandwidth_gbs}, {"bandwidth", bandwidth_line}, {"tests", std::move(tests)}};
    if (!profiles.empty()) doc["profiles_markdown"] = profiles;  // (--profile's per-op tables)
    return doc.dump(2) + "\n";
}

std::string BenchReport::csv() const {
    std::string s = "model,size_gib,params,backend,threads,test,n_prompt,n_gen,n_depth,n_seqs,median_ts,min_ts,max_ts,gbs,"
                    "bandwidth_fraction,bandwidth_gbs\n";
    for (const BenchRow& r : rows) {
        const auto [lo, hi] = run_range(r);
        s += fmt::format("{},{:.4f},{},{},{},{},{},{},{},{},{:.4f},{:.4f},{:.4f},{},{},{:.2f}\n", csv_field(r.model), r.size_gib,
                         r.params, csv_field(r.backend), r.threads, csv_field(r.test), r.n_prompt, r.n_gen, r.depth, r.n_seqs, r.tps, lo,
                         hi, r.n_gen > 0 ? fmt::format("{:.4f}", r.gbs) : "", r.n_gen > 0 ? fmt::format("{:.4f}", r.bw_fraction) : "",
                         bandwidth_gbs);
    }
    return s;
}

}  // namespace rf
