// GPU micro-benchmarks (a program, not a test; prints tables):
//
//   rocmforge_gpu_bench matvec [--types q4_0,q8_0,...] [--reps N]
//       achieved GB/s of the matrix-vector kernels per weight type and decode shape (weights
//       rotated through several copies so that L2 does not serve them; RF_BENCH_L2_HOT=1: one copy), for every launch
//       configuration, against the measured device-to-device copy bandwidth; for the types of
//       the one-token kernel also that kernel ("type/1" rows: lanes per row / threads per block).
//   rocmforge_gpu_bench step [--model 0.5b|7b] [--type q4_0] [--steps N] [--ctx N[,N...]]
//                            [--config all|pdl|fused|eager] [--decode default,no-matvec1,...]
//                            [--trace 1|2|3] [--layers N] [--out-type T]
//       a synthetic decode step of a Qwen2-shaped model built from the Backend ops (weights
//       random, one sequence, argmax on the device), with graphs on/off and fusion on/off:
//       tokens/s, microseconds per step, kernels per step, the launch overhead graphs remove; per
//       starting context, with the KV bytes read per token (GB/s counts weights + KV); --decode
//       repeats it per set of the emitter's one-token switches (default, norm-off, no-matvec1,
//       matvec1-all, ... or '+'-joined switches such as rope-off+early-off; see set_decode_switches and
//       gpu_emit.cpp); with graphs + fusion + PDL also the same steps queued without a per-step sync.
//       --trace 1: the phases of the first decode attentions (AttnTrace); --trace 2: the whole step's
//       timeline per class of launch from every kernel's own stamps (a build configured with
//       -DROCMFORGE_GPU_STEP_TRACE=ON; step_trace.cuh), --trace 3: and every launch of one step.
//   rocmforge_gpu_bench matvecn [--types q4_0,...] [--tokens 2,4,8] [--reps N]
//       the batched-decode products (one token per sequence) on the 7b and 0.5b shapes: the many-token
//       (dp4a) kernel and, where it takes the type, the int8-mma kernel at each split of its block
//       (warps per block / warps per 16-row tile; SwiGLU: 4 warps), plain and SwiGLU (gate + up),
//       microseconds and GB/s of weights (at the fastest).
//   rocmforge_gpu_bench barrier
//       the cost of a kernel boundary in a graph of dependent empty kernels, with and without programmatic
//       dependent launch (launch_chain_probe.cuh), and of a device-wide barrier (grid_barrier_probe.cuh),
//       two kinds, for 1, 2 and 4 blocks per SM.
//   rocmforge_gpu_bench colsplit [--reps N]
//       the many-token matvec (a warp per row) against column-split kernels (a block's threads over
//       the units of R rows, x loaded once per block) on one-token Q4_0, 7b shapes
//       (matvec_colsplit_probe.cuh).
//   rocmforge_gpu_bench layout [--reps N]
//       the many-token matvec's long one-token Q4_0 rows on the planar layout and on the same bytes
//       with each 4-row group's rows interleaved per block (matvec_layout_probe.cuh), 7b shapes.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/gpu/gpu_backend.h"
#include "gpu_bench_common.h"
#include "gpu_bench_device.h"
#include "gpu_bench_matvecn.h"
#include "tools/decode_switch_sets.h"
#include "backend/gpu/gpu_check.h"
#include "backend/gpu/gpu_weight_layout.h"
#include "backend/gpu/grid_barrier_probe.cuh"
#include "backend/gpu/matvec_colsplit_probe.cuh"
#include "backend/gpu/matvec_layout_probe.cuh"
#include "backend/gpu/launch_chain_probe.cuh"
#include "backend/gpu/matvec.cuh"
#include "tools/quant_mix.h"
#include "backend/gpu/attention.cuh"
#include "backend/gpu/norm_quant.cuh"
#include "backend/gpu/step_trace.cuh"
#include "backend/gpu/step_trace_session.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/quant_blocks.h"

namespace rf {
namespace {

using bench::BenchDevice;
using bench::copy_bandwidth_gbs;
using bench::median_launch_us;
using bench::random_weight;

struct Args {
    std::string mode = "matvec";
    std::vector<std::string> types;
    std::string model = "0.5b";
    std::string type = "q4_0";
    int reps = 50;
    int steps = 200;
    std::vector<int> ctxs = {512};  // step: one run per starting context
    int warmup = 8;
    std::string config = "all";  // step: all | pdl (graphs + fusion + PDL) | fused (graphs + fusion) | eager
    std::string shape;           // matvec: only this "rowsxcols"
    int variants = 1;            // matvec: also time every launch configuration
    std::vector<std::string> decode = {"default"};  // step: decode switch sets (see set_decode_switches)
    int trace = 0;  // step: 1 = the phases of the first decode attentions of a queued step (AttnTrace);
                    // 2 = the step timeline (step_trace.cuh), 3 = and one step's every launch
    int layers = 0;  // step: > 0 overrides the model's layer count (per-layer vs per-step costs from two counts)
    std::string out_type;  // step: the output matrix's type (default: --type), e.g. q8_0 / q6_K as the engine's files
    std::vector<int> tokens = {2, 4, 8};  // matvecn: tokens per launch
};

Args parse(int argc, char** argv) {
    Args a;
    if (argc > 1) a.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--types") a.types = bench::split_list(v);
        else if (k == "--reps") a.reps = std::stoi(v);
        else if (k == "--model") a.model = v;
        else if (k == "--type") a.type = v;
        else if (k == "--steps") a.steps = std::stoi(v);
        else if (k == "--ctx") a.ctxs = bench::split_ints(v);
        else if (k == "--warmup") a.warmup = std::stoi(v);
        else if (k == "--config") a.config = v;
        else if (k == "--shape") a.shape = v;
        else if (k == "--variants") a.variants = std::stoi(v);
        else if (k == "--decode") a.decode = bench::split_list(v);
        else if (k == "--trace") a.trace = std::stoi(v);
        else if (k == "--layers") a.layers = std::stoi(v);
        else if (k == "--out-type") a.out_type = v;
        else if (k == "--tokens") a.tokens = bench::split_ints(v);
        else fail("gpu_bench: unknown option {}", k);
    }
    return a;
}

// Random weight bytes (the decode bench's mins: -0.01).
int run_matvec(const Args& args) {
    BenchDevice dev;
    GpuBackend* be = dev.be.get();
    const GpuDeviceInfo& info = dev.info;
    cudaStream_t stream = dev.stream;
    const double copy_bw = copy_bandwidth_gbs(stream);
    fmt::print("device: {} ({} SMs); device-to-device copy {:.0f} GB/s (read + write)\n", info.name, info.multiprocessors,
               copy_bw);
    std::vector<std::string> names = args.types;
    if (names.empty())
        names = {"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_K", "q3_K", "q4_K", "q5_K", "q6_K", "f16", "bf16", "f32"};
    const std::pair<int64_t, int64_t> shapes[] = {{3584, 3584}, {18944, 3584}, {3584, 18944}, {152064, 3584},
                                                  {896, 4864},  {4864, 896},   {896, 896},  {151936, 896}};
    cudaEvent_t e0, e1;
    RF_GPU_CHECK(cudaEventCreate(&e0));
    RF_GPU_CHECK(cudaEventCreate(&e1));
    fmt::print("{:<6} {:>7} {:>6} {:>9} {:>8} {:>8} {:>7}  {}\n", "type", "rows", "cols", "MB", "us", "GB/s", "%copy",
               "warps/row -> us");
    for (const std::string& nm : names) {
        const auto t = parse_tensor_type(nm);
        if (!t) fail("gpu_bench: unknown type {}", nm);
        for (const auto& shape : shapes) {
            const int64_t rows = shape.first, cols = shape.second;
            if (cols % block_size(*t) != 0) continue;
            if (!args.shape.empty() && args.shape != fmt::format("{}x{}", rows, cols)) continue;
            const auto host = random_weight(*t, rows, cols, static_cast<uint64_t>(rows * 31 + cols));
            const size_t bytes = host.size();
            // RF_BENCH_L2_HOT=1: one copy, so that matrices smaller than L2 are read from it (what a
            // matvec gains when its weights are in L2: docs/gpu_notes.md, eighth pass)
            const char* hot = std::getenv("RF_BENCH_L2_HOT");
            const int copies = hot && *hot == '1' ? 1 : static_cast<int>(std::clamp<size_t>((400u << 20) / bytes + 1, 1, 16));
            std::vector<Weight> ws;
            for (int c = 0; c < copies; ++c) ws.push_back(be->load_weight(*t, cols, rows, 1, host.data()));
            std::vector<float> xh(static_cast<size_t>(cols));
            std::mt19937 rng(1);
            std::normal_distribution<float> nd;
            for (auto& v : xh) v = nd(rng);
            auto* x = static_cast<float*>(be->alloc(xh.size() * 4));
            be->upload(x, xh.data(), xh.size() * 4);
            auto* y = static_cast<float*>(be->alloc(static_cast<size_t>(rows) * 4));
            auto* xq = static_cast<int8_t*>(be->alloc(static_cast<size_t>(cols) + 16 + static_cast<size_t>(cols / 32) * 8));
            auto* xds = reinterpret_cast<float2*>(xq + gpu::align_up(static_cast<size_t>(cols), 16));
            const bool quant = gpu::is_quantized_matvec_type(*t);
            gpu::Launcher l(gpu::Launcher::Mode::Launch, stream);
            if (quant) gpu::launch_quantize_q8_1(l, x, 1, cols, xq, xds);
            // one token through weight copy i % copies into y
            auto base_args = [&](int i) {
                gpu::MatvecArgs a = gpu::zeroed<gpu::MatvecArgs>();
                a.m[0] = gpu::qmatrix(*t, ws[static_cast<size_t>(i % copies)].data, rows, cols);
                a.y[0] = y;
                a.ldy[0] = rows;
                a.row_end[0] = a.row_end[1] = a.row_end[2] = rows;
                a.total_rows = rows;
                a.n_tok = 1;
                a.n_mats = 1;
                a.x = quant ? static_cast<const void*>(xq) : static_cast<const void*>(x);
                a.xds = xds;
                a.x_stride = cols;
                return a;
            };
            auto time_config = [&](const gpu::MatvecConfig& cfg) {
                auto launch = [&](int i) {
                    gpu::MatvecArgs a = base_args(i);
                    a.warps_per_row = cfg.warps_per_row;
                    if (quant) gpu::launch_matvec_q(l, *t, a, cfg);
                    else gpu::launch_matvec_f(l, *t, a, cfg);
                };
                return median_launch_us(stream, e0, e1, args.reps, launch);
            };
            const gpu::MatvecConfig chosen = gpu::choose_matvec_config(*t, rows, cols, info.multiprocessors);
            const double us = time_config(chosen);
            std::string variants;
            if (args.variants)
                for (int wpr : {1, 2, 4}) {
                    gpu::MatvecConfig c;
                    c.warps_per_row = wpr;
                    variants += fmt::format(" {}:{:.1f}", wpr, time_config(c));
                }
            const double gbs = static_cast<double>(bytes) / (us * 1e-6) / 1e9;
            fmt::print("{:<6} {:>7} {:>6} {:>9.2f} {:>8.2f} {:>8.0f} {:>6.0f}%  chosen {};{}\n", nm, rows, cols,
                       bytes / 1e6, us, gbs, 100.0 * gbs / copy_bw, chosen.warps_per_row, variants);
            std::fflush(stdout);
            // the one-token kernel: its chosen (lanes per row / threads) and, with --variants, every one
            if (quant && gpu::matvec1_supports(*t, cols)) {
                // wide: MatvecArgs::wide (1: by shape, as the emitter launches; 2: always)
                auto time1 = [&](const gpu::Matvec1Config& c1, int wide = 1) {
                    auto launch = [&](int i) {
                        gpu::MatvecArgs a = base_args(i);
                        a.lanes_per_row = c1.lanes_per_row;
                        a.block_threads = c1.block_threads;
                        a.persistent = c1.persistent ? 1 : 0;
                        a.x_direct = c1.x_direct ? 1 : 0;
                        a.wide = wide;
                        gpu::launch_matvec1_q(l, *t, a);
                    };
                    return median_launch_us(stream, e0, e1, args.reps, launch);
                };
                const gpu::Matvec1Config c1 = gpu::choose_matvec1_config(*t, rows, cols, info.multiprocessors, gpu::Matvec1Shape{});
                const double us1 = time1(c1);
                std::string v1 = fmt::format(" wide: {:.2f} us; narrow: {:.2f} us;", time1(c1, 2), time1(c1, 0));
                for (int pv = 0; pv < 2; ++pv)
                    for (int xv = 0; xv < 2; ++xv) {
                        gpu::Matvec1Config c = c1;
                        c.persistent = pv != 0;
                        c.x_direct = xv != 0;
                        if (c.persistent == c1.persistent && c.x_direct == c1.x_direct) continue;
                        const double v = time1(c);
                        v1 += fmt::format(" {}{}: {:.2f} us ({:.0f} GB/s);", c.persistent ? "persistent" : "grid",
                                          c.x_direct ? "+x global" : "", v, static_cast<double>(bytes) / (v * 1e-6) / 1e9);
                    }
                double best = us1;
                std::string best_name = fmt::format("{}/{}", c1.lanes_per_row, c1.block_threads);
                if (args.variants)
                    for (int lpr : {4, 8, 16, 32})
                        for (int thr : {128, 256, 512}) {
                            gpu::Matvec1Config c;
                            c.lanes_per_row = lpr;
                            c.block_threads = thr;
                            c.persistent = true;
                            const double v = time1(c);
                            v1 += fmt::format(" {}/{}:{:.1f}", lpr, thr, v);
                            if (v < best) {
                                best = v;
                                best_name = fmt::format("{}/{}", lpr, thr);
                            }
                        }
                const double gbs1 = static_cast<double>(bytes) / (us1 * 1e-6) / 1e9;
                fmt::print("{:<6} {:>7} {:>6} {:>9} {:>8.2f} {:>8.0f} {:>6.0f}%  one-token chosen {}/{} (best {} {:.2f} us);{}\n",
                           nm + "/1", rows, cols, "", us1, gbs1, 100.0 * gbs1 / copy_bw, c1.lanes_per_row, c1.block_threads,
                           best_name, best, v1);
                std::fflush(stdout);
            }
            be->release(x);
            be->release(y);
            be->release(xq);
            for (const Weight& w : ws) be->release(const_cast<void*>(w.data));
        }
    }
    return 0;
}

// The Q4_0 probes' 7b shapes: fn(rows, cols, MB of weights, copies rotated so that >= 160 MB pass
// through L2 between two launches of one copy), stdout flushed after each.
template <typename Fn>
void for_each_probe_shape(Fn&& fn) {
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{3584, 18944}, {3584, 3584}, {18944, 3584}, {4608, 3584}}) {
        const double mb = static_cast<double>(rows * cols / 32 * 18) / 1e6;
        fn(rows, cols, mb, std::max(2, static_cast<int>(std::ceil(160.0 / mb))));
        std::fflush(stdout);
    }
}

int run_layout(const Args& args) {
    BenchDevice dev;
    const GpuDeviceInfo& info = dev.info;
    cudaStream_t stream = dev.stream;
    fmt::print("device: {}; Q4_0 many-token matvec, one token, three units per lane per iteration "
               "(matvec_layout_probe.cuh), weights rotated through copies of >= 160 MB\n", info.name);
    fmt::print("{:>12} {:>7} {:>11} {:>12} {:>13} {:>13}\n", "shape", "MB", "planar us", "planar GB/s",
               "interl.1 us", "interl.32 us");
    for_each_probe_shape([&](int64_t rows, int64_t cols, double mb, int copies) {
        const gpu::MatvecLayoutTiming t = gpu::time_matvec_layouts(stream, rows, cols, copies, args.reps);
        fmt::print("{:>12} {:>7.1f} {:>11.2f} {:>12.1f} {:>13.2f} {:>13.2f}\n", fmt::format("{}x{}", rows, cols), mb,
                   t.us_planar, t.bytes / t.us_planar / 1e3, t.us_interleaved, t.us_interleaved32);
    });
    return 0;
}

int run_colsplit(const Args& args) {
    BenchDevice dev;
    fmt::print("device: {}; Q4_0 one-token matvec: a warp per row vs column splits (matvec_colsplit_probe.cuh), "
               "weights rotated through copies of >= 160 MB; us (GB/s of weight bytes), max |diff| / max |y|\n",
               dev.info.name);
    for_each_probe_shape([&](int64_t rows, int64_t cols, double mb, int copies) {
        for (const auto& v : gpu::time_matvec_colsplit(dev.stream, rows, cols, copies, args.reps))
            fmt::print("{:>12} {:<28} {:>8.2f} us {:>7.0f} GB/s  diff {:.1e}\n", fmt::format("{}x{}", rows, cols), v.name, v.us,
                       mb * 1e3 / v.us, v.max_rel_diff);
    });
    return 0;
}

int run_barrier(const Args& args) {
    BenchDevice dev;
    const GpuDeviceInfo& info = dev.info;
    cudaStream_t stream = dev.stream;
    fmt::print("device: {} ({} SMs); grid barriers (grid_barrier_probe.cuh): generation = arrival atomic per block + "
               "spin on a generation word; flip = release add per block, acquire spin on the word's top bit\n",
               info.name, info.multiprocessors);
    fmt::print("{:>11} {:>7} {:>8} {:>10} {:>12}\n", "barrier", "blocks", "threads", "launch us", "us/barrier");
    fmt::print("kernel boundaries (launch_chain_probe.cuh): a graph of 200 dependent empty kernels\n");
    fmt::print("{:>5} {:>7} {:>8} {:>13}\n", "pdl", "blocks", "threads", "us/kernel");
    for (const bool pdl : {false, true})
        for (int blocks : {1, info.multiprocessors, 2 * info.multiprocessors, 4 * info.multiprocessors})
            for (int threads : {128, 512}) {
                const gpu::LaunchChainTiming t = gpu::time_launch_chain(stream, blocks, threads, 200, pdl, 10);
                fmt::print("{:>5} {:>7} {:>8} {:>13.3f}{}\n", pdl ? "on" : "off", blocks, threads, t.us_per_kernel,
                           t.checked ? "" : "  BROKEN: a kernel missed its predecessor's write");
                std::fflush(stdout);
            }
    for (const auto kind : {gpu::GridBarrierKind::Generation, gpu::GridBarrierKind::Flip})
        for (int per_sm : {1, 2, 4})
            for (int threads : {128, 512}) {
                const gpu::GridBarrierTiming t =
                    gpu::time_grid_barrier(stream, info.multiprocessors, per_sm, threads, args.reps, kind);
                fmt::print("{:>11} {:>7} {:>8} {:>10.2f} {:>12.3f}{}\n", kind == gpu::GridBarrierKind::Flip ? "flip" : "generation",
                           t.blocks, t.threads, t.launch_us, t.us_per_barrier, t.checked ? "" : "  BROKEN: a block left early");
                std::fflush(stdout);
            }
    return 0;
}

// ---- synthetic decode step ----------------------------------------------------------------

using bench::ModelDims;
ModelDims dims_of(const std::string& m) { return bench::dims_of(m, "gpu_bench"); }

// The phases of the first decode attentions (and their combine kernels) of one queued step, from
// the kernels' own stamps (AttnTrace): SM clock cycles per phase (median and max over the
// blocks) and the global timer across blocks: entry spread, the span, and the gap between the
// last attention block's end and the combine's release from its wait.
void print_attention_trace(GpuBackend& be, const std::function<void(int)>& record, int pos) {
    void* buf = be.alloc(gpu::kAttnTraceBytes);
    be.fill_zero(buf, gpu::kAttnTraceBytes);
    be.set_attention_trace(buf);
    for (int i = 0; i < 4; ++i) record(pos + i);  // capture, then the last one is a plain replay
    be.synchronize();
    std::vector<unsigned long long> w(gpu::kAttnTraceBytes / 8);
    be.download(w.data(), buf, gpu::kAttnTraceBytes);
    be.set_attention_trace(nullptr);
    be.release(buf);
    auto stats = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v.empty() ? std::pair<double, double>{0, 0} : std::pair<double, double>{v[v.size() / 2], v.back()};
    };
    fmt::print("attention trace (cycles: median / max over blocks; ns from the global timer)\n");
    for (int l = 0; l < gpu::kAttnTraceLaunches; ++l) {
        const unsigned long long* base = w.data() + l * gpu::kAttnTraceLaunchWords;
        struct Part {
            std::vector<double> pre, ph3, ph4, ph5, loaded;
            unsigned long long t_in_min = ~0ull, t_in_max = 0, t_end_max = 0, t_wait_min = ~0ull, t_wait_max = 0;
            int n = 0;
        } part[2];
        for (int k = 0; k < 2; ++k)
            for (int b = 0; b < gpu::kAttnTraceBlocks; ++b) {
                const unsigned long long* r = base + (static_cast<size_t>(k) * gpu::kAttnTraceBlocks + b) * gpu::kAttnTraceWords;
                if (r[0] == 0) continue;
                Part& p = part[k];
                ++p.n;
                p.pre.push_back(static_cast<double>(r[2] - r[1]));
                p.ph3.push_back(static_cast<double>(r[3] - r[2]));
                p.ph4.push_back(static_cast<double>(r[4] - r[3]));
                p.ph5.push_back(static_cast<double>(r[5] - r[4]));
                if (r[8] != 0) p.loaded.push_back(static_cast<double>(r[8] - r[2]));
                p.t_in_min = std::min(p.t_in_min, r[0]);
                p.t_in_max = std::max(p.t_in_max, r[0]);
                p.t_end_max = std::max(p.t_end_max, r[6]);
                p.t_wait_min = std::min(p.t_wait_min, r[7]);
                p.t_wait_max = std::max(p.t_wait_max, r[7]);
            }
        if (part[0].n == 0) continue;
        for (int k = 0; k < 2; ++k) {
            const Part& p = part[k];
            if (p.n == 0) continue;
            const auto a = stats(p.pre), b = stats(p.ph3), c = stats(p.ph4), d = stats(p.ph5), e = stats(p.loaded);
            fmt::print("  launch {} {:<9} {:>4} blocks: entry->wait {:>6.0f} / {:>6.0f}  wait->loaded {:>6.0f} / {:>6.0f}  "
                       "wait->staged {:>6.0f} / {:>6.0f}  "
                       "staged->tiles {:>6.0f} / {:>6.0f}  tiles->end {:>6.0f} / {:>6.0f} cycles; entry spread {} ns, "
                       "first release -> last end {} ns, release spread {} ns\n",
                       l, k == 0 ? "attention" : "combine", p.n, a.first, a.second, e.first, e.second, b.first, b.second, c.first, c.second,
                       d.first, d.second, p.t_in_max - p.t_in_min, p.t_end_max - p.t_wait_min, p.t_wait_max - p.t_wait_min);
        }
        if (part[1].n > 0)
            fmt::print("  launch {}: combine first entry {} ns after the first attention entry; combine release {} ns after "
                       "the last attention block ended\n",
                       l, static_cast<long long>(part[1].t_in_min - part[0].t_in_min),
                       static_cast<long long>(part[1].t_wait_min) - static_cast<long long>(part[0].t_end_max));
    }
    std::fflush(stdout);
}

// The decode step's timeline from every kernel's own stamps (step_trace.cuh; a profiling build):
// `run` issues a few pipelined steps with the trace target set; the report of the complete steps among
// them (step_trace_timeline.h), with every_launch also one step's launches one by one.
void print_step_timeline(GpuBackend& be, const std::function<void()>& run, bool every_launch) {
    if (!gpu::step_trace_compiled()) {
        fmt::print("step timeline: this build stamps nothing (configure with -DROCMFORGE_GPU_STEP_TRACE=ON)\n");
        return;
    }
    gpu::StepTraceRecorder recorder;
    be.synchronize();
    recorder.start();
    run();
    be.synchronize();
    fmt::print("{}", step_trace_report(recorder.stop(), every_launch));
    std::fflush(stdout);
}

int run_step(const Args& args) {
    ModelDims d = dims_of(args.model);
    if (args.layers > 0) d.layers = args.layers;
    const auto t = parse_tensor_type(args.type);
    if (!t) fail("gpu_bench: unknown type {}", args.type);
    GpuBackendOptions opt;
    auto be = make_gpu_backend(opt);
    const GpuDeviceInfo info = be->device_info();
    struct L {
        Weight an, fn, wq, wk, wv, bq, bk, bv, wo, g, u, dn;
        KvLayerView kv;
    };
    const int64_t q_dim = int64_t{d.n_head} * d.hd, kv_dim = int64_t{d.n_kv} * d.hd;
    // Each matrix in the type, or where its blocks do not tile the rows llama.cpp's fallback (the
    // 0.5b's 896-wide rows take q5_0 for q4_K, as llama-quantize writes them)
    const TensorType t_e = quant_fallback_type(*t, d.embd), t_q = quant_fallback_type(*t, q_dim),
                     t_f = quant_fallback_type(*t, d.ff);
    auto w_q = random_weight(t_e, q_dim, d.embd, 1), w_kv = random_weight(t_e, kv_dim, d.embd, 2),
         w_o = random_weight(t_q, d.embd, q_dim, 3), w_ff = random_weight(t_e, d.ff, d.embd, 4),
         w_dn = random_weight(t_f, d.embd, d.ff, 5);
    // the output matrix (and the embedding table, tied): --out-type, else the weights' type
    TensorType t_out = t_e;
    if (!args.out_type.empty()) {
        const auto o = parse_tensor_type(args.out_type);
        if (!o) fail("gpu_bench: unknown type {}", args.out_type);
        t_out = quant_fallback_type(*o, d.embd);
    }
    auto w_out = random_weight(t_out, d.vocab, d.embd, 6);
    std::vector<float> ones(static_cast<size_t>(std::max(d.embd, q_dim)), 1.0f), small(static_cast<size_t>(q_dim), 0.01f);
    const int max_ctx = *std::max_element(args.ctxs.begin(), args.ctxs.end());
    const int bs = 16, n_blocks = (max_ctx + args.warmup + args.steps) / bs + 2;
    size_t weight_bytes = 0;
    std::vector<L> layers(static_cast<size_t>(d.layers));
    for (auto& l : layers) {
        l.an = be->load_weight(TensorType::F32, d.embd, 1, 1, ones.data());
        l.fn = be->load_weight(TensorType::F32, d.embd, 1, 1, ones.data());
        l.wq = be->load_weight(t_e, d.embd, q_dim, 1, w_q.data());
        l.wk = be->load_weight(t_e, d.embd, kv_dim, 1, w_kv.data());
        l.wv = be->load_weight(t_e, d.embd, kv_dim, 1, w_kv.data());
        l.bq = be->load_weight(TensorType::F32, q_dim, 1, 1, small.data());
        l.bk = be->load_weight(TensorType::F32, kv_dim, 1, 1, small.data());
        l.bv = be->load_weight(TensorType::F32, kv_dim, 1, 1, small.data());
        l.wo = be->load_weight(t_q, q_dim, d.embd, 1, w_o.data());
        l.g = be->load_weight(t_e, d.embd, d.ff, 1, w_ff.data());
        l.u = be->load_weight(t_e, d.embd, d.ff, 1, w_ff.data());
        l.dn = be->load_weight(t_f, d.ff, d.embd, 1, w_dn.data());
        weight_bytes += w_q.size() + 2 * w_kv.size() + w_o.size() + 2 * w_ff.size() + w_dn.size();
        const size_t kvb = static_cast<size_t>(n_blocks) * d.n_kv * bs * kv_row_bytes(KvCodec::F16, d.hd);
        l.kv = {be->alloc(kvb), be->alloc(kvb), KvCodec::F16, bs, d.n_kv, d.hd};
        be->fill_zero(l.kv.k, kvb);
        be->fill_zero(l.kv.v, kvb);
    }
    const Weight out_norm = be->load_weight(TensorType::F32, d.embd, 1, 1, ones.data());
    const Weight out_w = be->load_weight(t_out, d.embd, d.vocab, 1, w_out.data());
    const Weight embd = be->load_weight(t_out, d.embd, d.vocab, 1, w_out.data());
    weight_bytes += w_out.size();
    auto A = [&](int64_t n) { return static_cast<float*>(be->alloc(static_cast<size_t>(n) * 4)); };
    float *x = A(d.embd), *h = A(d.embd), *q = A(q_dim), *k = A(kv_dim), *v = A(kv_dim), *o = A(q_dim), *g = A(d.ff),
          *u = A(d.ff), *rows = A(d.embd), *logits = A(d.vocab);
    std::vector<int32_t> table(static_cast<size_t>(n_blocks));
    for (int i = 0; i < n_blocks; ++i) table[static_cast<size_t>(i)] = i;

    // records one decode step (launched at the next sync point); from_device: its token is the
    // last argmax_async's result, still on the device (the engine's pipelined greedy decode)
    auto record = [&](int pos, int32_t token, bool from_device = false) {
        StepPlan p;
        p.first_token_from_device = from_device;
        p.tokens = {token};
        p.positions = {pos};
        p.kv_slots = {pos};
        p.token_seq = {0};
        p.seqs = {SeqStep{0, 1, pos, std::vector<int32_t>(table.begin(), table.begin() + pos / bs + 1)}};
        p.output_rows = {0};
        be->begin_step(p);
        Act X{x, 1, d.embd}, H{h, 1, d.embd}, Q{q, 1, q_dim}, K{k, 1, kv_dim}, V{v, 1, kv_dim}, O{o, 1, q_dim},
            G{g, 1, d.ff}, U{u, 1, d.ff};
        RopeParams rp;
        rp.n_rot = d.hd;
        rp.freq_base = 1e6f;
        const AttentionParams ap{d.n_head, d.n_kv, d.hd, 1.0f / std::sqrt(static_cast<float>(d.hd))};
        be->embed(embd, X);
        for (const L& l : layers) {
            be->rms_norm(X, l.an, 1e-6f, H);
            be->matmul(l.wq, H, Q, &l.bq);
            be->matmul(l.wk, H, K, &l.bk);
            be->matmul(l.wv, H, V, &l.bv);
            be->rope(Q, d.n_head, d.hd, rp);
            be->rope(K, d.n_kv, d.hd, rp);
            be->kv_store(l.kv, K, V);
            be->attention(Q, l.kv, ap, O);
            be->matmul(l.wo, O, H);
            be->add(X, H, X);
            be->rms_norm(X, l.fn, 1e-6f, H);
            be->matmul(l.g, H, G);
            be->matmul(l.u, H, U);
            be->swiglu(G, U, G);
            be->matmul(l.dn, G, H);
            be->add(X, H, X);
        }
        Act R{rows, 1, d.embd};
        be->gather_output_rows(X, R);
        be->rms_norm(R, out_norm, 1e-6f, R);
        be->matmul(out_w, R, Act{logits, 1, d.vocab});
    };
    // (with a profiling knock-out the logits can be NaN: no argmax then, a fixed token)
    bool knockout = false;
    auto step = [&](int pos, int32_t token) {
        record(pos, token);
        if (knockout) {
            be->synchronize();
            return int32_t{1};
        }
        return be->argmax(logits, d.vocab);
    };

    // KV bytes read per token at context c: every layer reads c positions of K and V (f16)
    const double kv_bytes_per_pos = 2.0 * d.layers * d.n_kv * d.hd * 2;
    const std::string fallbacks = t_e == *t && t_q == *t && t_f == *t
                                      ? std::string()
                                      : fmt::format(" (rows of {} / {} / {} values: {} / {} / {})", d.embd, q_dim, d.ff,
                                                    type_name(t_e), type_name(t_q), type_name(t_f));
    fmt::print("device: {}; model {} ({} layers, embd {}, ff {}), weights {}{} ({:.2f} GB incl. output)\n", info.name,
               args.model, d.layers, d.embd, d.ff, args.type, fallbacks, weight_bytes / 1e9);
    struct Config {
        bool graphs, fuse, pdl;
    };
    const Config configs[] = {{true, true, true}, {true, true, false}, {false, true, false}, {true, false, false},
                              {false, false, false}};
    for (const std::string& decode : args.decode)
    for (const int ctx : args.ctxs) {
        set_decode_switches(decode);
        knockout = std::getenv("RF_GPU_PROFILE_SKIP") != nullptr;
        const double kv_bytes = kv_bytes_per_pos * (ctx + args.steps / 2.0);
        fmt::print("context {}..{}: KV read {:.3f} GB per token (weights {:.3f} GB), decode switches {}\n", ctx,
                   ctx + args.steps, kv_bytes / 1e9, weight_bytes / 1e9, decode);
        fmt::print("{:<7} {:<7} {:<5} {:>10} {:>10} {:>12} {:>9} {:>9} {:>7}\n", "graphs", "fusion", "pdl", "us/token",
                   "tokens/s", "kernels/step", "GB/s", "flush us", "replays");
        double us_of[5] = {}, kernels_of[5] = {};
        for (int ci = 0; ci < 5; ++ci) {
            if (args.config == "fused" && ci != 1) continue;
            if (args.config == "pdl" && ci != 0) continue;
            if (args.config == "eager" && ci != 4) continue;
            const Config& c = configs[ci];
            be->set_use_graphs(c.graphs);
            be->set_fuse_ops(c.fuse);
            be->set_use_pdl(c.pdl);
            int32_t tok = 1;
            for (int pos = 0; pos < args.warmup; ++pos) tok = step(ctx + pos, tok);  // warm up (capture)
            const GpuGraphStats s0 = be->graph_stats();
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < args.steps; ++i) tok = step(ctx + i, tok);
            const double us =
                std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / args.steps;
            const GpuGraphStats s1 = be->graph_stats();
            us_of[ci] = us;
            kernels_of[ci] = static_cast<double>(s1.kernels - s0.kernels) / args.steps;
            // flush us: host time per step turning the recorded ops into launches; replays: steps relaunched
            // without re-emitting (identical to the previous step)
            fmt::print("{:<7} {:<7} {:<5} {:>10.1f} {:>10.1f} {:>12.1f} {:>9.0f} {:>9.1f} {:>7}\n", c.graphs ? "on" : "off",
                       c.fuse ? "on" : "off", c.pdl ? "on" : "off", us, 1e6 / us, kernels_of[ci],
                       (weight_bytes + kv_bytes) / (us * 1e-6) / 1e9, (s1.flush_ns - s0.flush_ns) / 1e3 / args.steps,
                       s1.fast_replays - s0.fast_replays);
            std::fflush(stdout);
            if (ci == 0) {
                // the same steps queued back to back (fixed token, no argmax, one sync at the end): the
                // device time per step when the host work of the next step overlaps this one
                for (int pos = 0; pos < 2; ++pos) record(ctx + pos, 1);
                be->synchronize();
                const auto q0 = std::chrono::steady_clock::now();
                for (int i = 0; i < args.steps; ++i) record(ctx + i, 1);
                be->synchronize();
                const double qus =
                    std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - q0).count() / args.steps;
                fmt::print("{:<7} {:<7} {:<5} {:>10.1f} {:>10.1f} {:>12} {:>9.0f}  queued (no per-step sync)\n", "on", "on", "on",
                           qus, 1e6 / qus, "", (weight_bytes + kv_bytes) / (qus * 1e-6) / 1e9);
                std::fflush(stdout);
                // as the engine decodes greedily: each step's token fed from the device argmax of the
                // step before (launched after it), the host reading token i - 1 while step i runs
                // (with a knock-out the tokens are wrong but in the vocabulary: the sampling reads the
                // logits the step wrote, or a stale result where a sampling kernel is knocked out)
                {
                    // (a knocked-out step may leave NaN logits: its "no comparable value" error is not
                    // the benchmark's concern; argmax_wait has taken the result off the queue by then)
                    auto wait_token = [&] {
                        try {
                            (void)be->argmax_wait();
                        } catch (const std::exception&) {
                            if (!knockout) throw;
                        }
                    };
                    record(ctx, 1);
                    be->argmax_async(logits, d.vocab);
                    for (int pos = 1; pos < 3; ++pos) {
                        record(ctx + pos, 0, true);
                        be->argmax_async(logits, d.vocab);
                        wait_token();
                    }
                    const auto p0 = std::chrono::steady_clock::now();
                    for (int i = 0; i < args.steps; ++i) {
                        record(ctx + 3 + i, 0, true);
                        be->argmax_async(logits, d.vocab);
                        wait_token();
                    }
                    wait_token();
                    const double pus =
                        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - p0).count() / args.steps;
                    fmt::print("{:<7} {:<7} {:<5} {:>10.1f} {:>10.1f} {:>12} {:>9.0f}  pipelined (device argmax feeds the next step)\n",
                               "on", "on", "on", pus, 1e6 / pus, "", (weight_bytes + kv_bytes) / (pus * 1e-6) / 1e9);
                    std::fflush(stdout);
                }
                if (args.trace == 1) print_attention_trace(*be, [&](int pos) { record(pos, 1); }, ctx + args.steps);
                if (args.trace >= 2) {
                    // pipelined steps as the engine runs them (its device argmax feeding the next)
                    print_step_timeline(*be, [&] {
                        record(ctx, 1);
                        be->argmax_async(logits, d.vocab);
                        for (int i = 1; i < 6; ++i) {
                            record(ctx + i, 0, true);
                            be->argmax_async(logits, d.vocab);
                            try {
                                (void)be->argmax_wait();
                            } catch (const std::exception&) {
                                if (!knockout) throw;
                            }
                        }
                        (void)be->argmax_wait();
                    }, args.trace == 3);
                }
            }
        }
        if (args.config == "all")
            fmt::print("launch overhead removed by graphs: {:.2f} us per kernel (fused), {:.2f} us per kernel (unfused)\n",
                       (us_of[2] - us_of[1]) / kernels_of[1], (us_of[4] - us_of[3]) / kernels_of[3]);
    }
    return 0;
}

}  // namespace
}  // namespace rf

int main(int argc, char** argv) {
    try {
        const rf::Args args = rf::parse(argc, argv);
        if (args.mode == "matvec") return rf::run_matvec(args);
        if (args.mode == "matvecn") return rf::bench::run_matvecn(args.types, args.tokens, args.reps);
        if (args.mode == "step") return rf::run_step(args);
        if (args.mode == "barrier") return rf::run_barrier(args);
        if (args.mode == "layout") return rf::run_layout(args);
        if (args.mode == "colsplit") return rf::run_colsplit(args);
        std::fprintf(stderr, "usage: rocmforge_gpu_bench matvec|matvecn|step|barrier|layout|colsplit [options]\n");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
