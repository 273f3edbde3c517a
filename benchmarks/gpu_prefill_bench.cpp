// GPU prefill benchmarks (a program, not a test; prints tables):
//
//   rocmforge_gpu_prefill_bench pp [--model 7b|0.5b|1.5b] [--type q4_0] [--tokens 512,4096]
//                                  [--chunk N] [--reps 3] [--graphs 0|1]
//       prompt processing of a synthetic Qwen2-shaped model (random weights, one sequence)
//       built from the Backend ops like a real forward pass: tokens/s per prompt length (the
//       prompt fed --chunk tokens per step, i.e. chunked prefill; by default the chunk size the
//       dispatch table gives the scheduler), and the time to first token
//       (prompt + logits of its last token + argmax on the device).
//   rocmforge_gpu_prefill_bench split [same options]
//       the same prompt with a device synchronisation after each op group, timing the groups by
//       kernel class: GEMM (matrix products incl. dequantization / conversion), attention (with
//       the KV store and rope that feed it), the rest (norms, SwiGLU, adds, embedding, output).
//   rocmforge_gpu_prefill_bench gemm [--type q4_0] [--tokens 16,32,...]
//       each many-token matmul path (tiled GEMM on the matrix units, FMA, vendor GEMM on
//       dequantized rows) on the 7b projection shapes: microseconds and TFLOP/s, to place the
//       thresholds of the dispatch table (gpu_dispatch_table.h).
//   rocmforge_gpu_prefill_bench parts [--type q4_0] [--tokens 512,4096]
//       the pieces of the vendor-GEMM path on the 7b shapes, each timed alone: x to f16, the
//       whole weight dequantized to f16 (GB/s written), the vendor GEMM on it (f32 output as the
//       backend uses it, and f16 output for comparison), and the GEMM per L2-sized row chunk.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "backend/gpu/dequant.cuh"
#include "backend/gpu/gemm_q.cuh"
#include "backend/gpu/gpu_backend.h"
#include "gpu_bench_common.h"
#include "backend/gpu/gpu_blas.h"
#include "backend/gpu/gpu_check.h"
#include "backend/gpu/gpu_dispatch_table.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/quant_blocks.h"

#if !defined(ROCMFORGE_WITH_HIP)
#include <cublas_v2.h>
#endif

namespace rf {
namespace {

struct Args {
    std::string mode = "pp";
    std::string model = "7b";
    std::string type = "q4_0";
    std::vector<int> tokens;
    int chunk = 0;  // 0: the device's DispatchTable::prefill_chunk_tokens
    int reps = 3;
    bool graphs = false;
};

Args parse(int argc, char** argv) {
    Args a;
    if (argc > 1) a.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--model") a.model = v;
        else if (k == "--type") a.type = v;
        else if (k == "--tokens") a.tokens = bench::split_ints(v);
        else if (k == "--chunk") a.chunk = std::stoi(v);
        else if (k == "--reps") a.reps = std::stoi(v);
        else if (k == "--graphs") a.graphs = v == "1";
        else fail("gpu_prefill_bench: unknown option {}", k);
    }
    if (a.tokens.empty()) a.tokens = a.mode == "gemm" ? std::vector<int>{16, 32, 64, 128, 256, 512, 2048} : std::vector<int>{512};
    RF_CHECK(a.chunk >= 0 && a.reps > 0, "gpu_prefill_bench: --chunk must be >= 0 and --reps positive");
    return a;
}

// Random weight bytes (the prefill bench's mins: -0.0025); f32 is not a prefill weight type here.
std::vector<uint8_t> random_weight(TensorType t, int64_t rows, int64_t cols, uint64_t seed) {
    RF_CHECK(t != TensorType::F32, "gpu_prefill_bench: f32 weights are not a prefill benchmark type");
    return bench::random_weight(t, rows, cols, seed, -0.01f / 4);
}

using bench::ModelDims;
ModelDims dims_of(const std::string& m) { return bench::dims_of(m, "gpu_prefill_bench"); }

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A synthetic Qwen2-shaped model on the GPU backend and the forward pass of one chunk.
class SyntheticModel {
public:
    enum class Phase { Gemm, Attention, Rest };

    SyntheticModel(GpuBackend& be, const ModelDims& d, TensorType t, int max_tokens, int max_chunk) : be_(be), d_(d) {
        const int64_t q_dim = int64_t{d.n_head} * d.hd, kv_dim = int64_t{d.n_kv} * d.hd;
        const auto w_q = random_weight(t, q_dim, d.embd, 1), w_kv = random_weight(t, kv_dim, d.embd, 2),
                   w_o = random_weight(t, d.embd, q_dim, 3), w_ff = random_weight(t, d.ff, d.embd, 4),
                   w_dn = random_weight(t, d.embd, d.ff, 5), w_out = random_weight(t, d.vocab, d.embd, 6);
        std::vector<float> ones(static_cast<size_t>(std::max(d.embd, q_dim)), 1.0f), small(static_cast<size_t>(q_dim), 0.01f);
        n_blocks_ = (max_tokens + 15) / 16 + 1;
        layers_.resize(static_cast<size_t>(d.layers));
        for (auto& l : layers_) {
            l.an = be.load_weight(TensorType::F32, d.embd, 1, 1, ones.data());
            l.fn = be.load_weight(TensorType::F32, d.embd, 1, 1, ones.data());
            l.wq = be.load_weight(t, d.embd, q_dim, 1, w_q.data());
            l.wk = be.load_weight(t, d.embd, kv_dim, 1, w_kv.data());
            l.wv = be.load_weight(t, d.embd, kv_dim, 1, w_kv.data());
            l.bq = be.load_weight(TensorType::F32, q_dim, 1, 1, small.data());
            l.bk = be.load_weight(TensorType::F32, kv_dim, 1, 1, small.data());
            l.bv = be.load_weight(TensorType::F32, kv_dim, 1, 1, small.data());
            l.wo = be.load_weight(t, q_dim, d.embd, 1, w_o.data());
            l.g = be.load_weight(t, d.embd, d.ff, 1, w_ff.data());
            l.u = be.load_weight(t, d.embd, d.ff, 1, w_ff.data());
            l.dn = be.load_weight(t, d.ff, d.embd, 1, w_dn.data());
            const size_t kvb = static_cast<size_t>(n_blocks_) * d.n_kv * 16 * kv_row_bytes(KvCodec::F16, d.hd);
            l.kv = {be.alloc(kvb), be.alloc(kvb), KvCodec::F16, 16, d.n_kv, d.hd};
            be.fill_zero(l.kv.k, kvb);
            be.fill_zero(l.kv.v, kvb);
        }
        out_norm_ = be.load_weight(TensorType::F32, d.embd, 1, 1, ones.data());
        out_w_ = be.load_weight(t, d.embd, d.vocab, 1, w_out.data());
        embd_ = be.load_weight(t, d.embd, d.vocab, 1, w_out.data());
        auto A = [&](int64_t n) { return static_cast<float*>(be.alloc(static_cast<size_t>(n) * 4)); };
        const int64_t T = max_chunk;
        x_ = A(T * d.embd), h_ = A(T * d.embd), q_ = A(T * q_dim), k_ = A(T * kv_dim), v_ = A(T * kv_dim);
        o_ = A(T * q_dim), g_ = A(T * d.ff), u_ = A(T * d.ff), rows_ = A(d.embd), logits_ = A(d.vocab);
    }

    // Feeds `n` prompt tokens in chunks; returns the argmax of the last token's logits.
    // timer (optional): synchronises after each op group and adds its time to the group's class.
    int32_t prefill(int n, int chunk, double* phase_ms) {
        int32_t tok = -1;
        for (int p0 = 0; p0 < n; p0 += chunk) {
            const int T = std::min(chunk, n - p0);
            tok = forward_chunk(p0, T, p0 + T == n, phase_ms);
        }
        return tok;
    }

private:
    struct L {
        Weight an, fn, wq, wk, wv, bq, bk, bv, wo, g, u, dn;
        KvLayerView kv;
    };

    int32_t forward_chunk(int pos0, int T, bool last, double* phase_ms) {
        StepPlan p;
        p.tokens.resize(static_cast<size_t>(T));
        p.positions.resize(static_cast<size_t>(T));
        p.kv_slots.resize(static_cast<size_t>(T));
        p.token_seq.assign(static_cast<size_t>(T), 0);
        for (int i = 0; i < T; ++i) {
            p.tokens[static_cast<size_t>(i)] = (pos0 + i) * 7919 % static_cast<int>(d_.vocab);
            p.positions[static_cast<size_t>(i)] = pos0 + i;
            p.kv_slots[static_cast<size_t>(i)] = pos0 + i;  // block table = identity
        }
        std::vector<int32_t> table(static_cast<size_t>((pos0 + T + 15) / 16));
        for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<int32_t>(i);
        p.seqs = {SeqStep{0, T, pos0, table}};
        if (last) p.output_rows = {T - 1};
        be_.begin_step(p);
        const int64_t q_dim = int64_t{d_.n_head} * d_.hd, kv_dim = int64_t{d_.n_kv} * d_.hd;
        Act X{x_, T, d_.embd}, H{h_, T, d_.embd}, Q{q_, T, q_dim}, K{k_, T, kv_dim}, V{v_, T, kv_dim}, O{o_, T, q_dim},
            G{g_, T, d_.ff}, U{u_, T, d_.ff};
        RopeParams rp;
        rp.n_rot = d_.hd;
        rp.freq_base = 1e6f;
        const AttentionParams ap{d_.n_head, d_.n_kv, d_.hd, 1.0f / std::sqrt(static_cast<float>(d_.hd))};
        double t_mark = phase_ms ? now_ms() : 0.0;
        auto phase = [&](Phase ph) {
            if (!phase_ms) return;
            be_.synchronize();
            const double t = now_ms();
            phase_ms[static_cast<int>(ph)] += t - t_mark;
            t_mark = t;
        };
        be_.embed(embd_, X);
        phase(Phase::Rest);
        for (const L& l : layers_) {
            be_.rms_norm(X, l.an, 1e-6f, H);
            phase(Phase::Rest);
            be_.matmul(l.wq, H, Q, &l.bq);
            be_.matmul(l.wk, H, K, &l.bk);
            be_.matmul(l.wv, H, V, &l.bv);
            phase(Phase::Gemm);
            be_.rope(Q, d_.n_head, d_.hd, rp);
            be_.rope(K, d_.n_kv, d_.hd, rp);
            be_.kv_store(l.kv, K, V);
            be_.attention(Q, l.kv, ap, O);
            phase(Phase::Attention);
            be_.matmul(l.wo, O, H);
            phase(Phase::Gemm);
            be_.add(X, H, X);
            be_.rms_norm(X, l.fn, 1e-6f, H);
            phase(Phase::Rest);
            be_.matmul(l.g, H, G);
            be_.matmul(l.u, H, U);
            phase(Phase::Gemm);
            be_.swiglu(G, U, G);
            phase(Phase::Rest);
            be_.matmul(l.dn, G, H);
            phase(Phase::Gemm);
            be_.add(X, H, X);
            phase(Phase::Rest);
        }
        if (!last) return -1;
        Act R{rows_, 1, d_.embd};
        be_.gather_output_rows(X, R);
        be_.rms_norm(R, out_norm_, 1e-6f, R);
        be_.matmul(out_w_, R, Act{logits_, 1, d_.vocab});
        const int32_t tok = be_.argmax(logits_, d_.vocab);
        phase(Phase::Rest);
        return tok;
    }

    GpuBackend& be_;
    ModelDims d_;
    int n_blocks_ = 0;
    std::vector<L> layers_;
    Weight out_norm_, out_w_, embd_;
    float *x_, *h_, *q_, *k_, *v_, *o_, *g_, *u_, *rows_, *logits_;
};

// FLOPs of a prompt of n tokens (matrix products of every layer + causal attention; the output
// projection of one token).
double prompt_flops(const ModelDims& d, int n) {
    const double q_dim = double(d.n_head) * d.hd, kv_dim = double(d.n_kv) * d.hd;
    const double per_tok = 2.0 * d.embd * (q_dim + 2 * kv_dim) + 2.0 * q_dim * d.embd + 3 * 2.0 * d.embd * d.ff;
    const double attn = 2.0 * 2.0 * q_dim * (double(n) * (n + 1) / 2.0);  // QK^T and PV, causal
    return d.layers * (per_tok * n + attn) + 2.0 * d.embd * d.vocab;
}

int run_pp(const Args& args_in, bool split) {
    Args args = args_in;
    const ModelDims d = dims_of(args.model);
    const auto t = parse_tensor_type(args.type);
    if (!t) fail("gpu_prefill_bench: unknown type {}", args.type);
    GpuBackendOptions opt;
    opt.use_graphs = args.graphs;
    auto be = make_gpu_backend(opt);
    const GpuDeviceInfo info = be->device_info();
    const gpu::DispatchTable table = gpu::dispatch_table_for(info.arch);
    if (args.chunk == 0) args.chunk = table.prefill_chunk_tokens;
    const int max_tokens = *std::max_element(args.tokens.begin(), args.tokens.end());
    const double t_load = now_ms();
    SyntheticModel m(*be, d, *t, max_tokens, std::min(args.chunk, max_tokens));
    be->synchronize();
    fmt::print("device: {} ({}, {} SMs); model {} {} ({} layers, embd {}, ff {}), loaded in {:.1f} s; chunk {}; graphs {}\n",
               info.name, info.arch, info.multiprocessors, args.model, args.type, d.layers, d.embd, d.ff,
               (now_ms() - t_load) / 1e3, args.chunk, args.graphs ? "on" : "off");
    fmt::print("dispatch table {}: matvec <= {} tokens, tiled GEMM <= {}, flash attention {} (>= {} tokens/seq)\n",
               table.arch, table.matvec_max_tokens, table.gemm_max_tokens, table.flash_attention ? "on" : "off",
               table.flash_min_tokens_per_seq);
    m.prefill(std::min(args.chunk, max_tokens), args.chunk, nullptr);  // warm up (cuBLAS heuristics, module loads)
    be->synchronize();
    if (!split) {
        // ms = time to first token: the whole prompt, the last token's logits and the argmax
        fmt::print("{:>8} {:>10} {:>12} {:>10}   {}\n", "tokens", "TTFT ms", "tokens/s", "TFLOP/s", "runs (ms)");
        for (int n : args.tokens) {
            std::vector<double> ms;
            for (int r = 0; r < args.reps; ++r) {
                be->synchronize();
                const double t0 = now_ms();
                m.prefill(n, args.chunk, nullptr);  // ends in argmax on the device: synchronised
                ms.push_back(now_ms() - t0);
            }
            std::vector<double> sorted = ms;
            std::sort(sorted.begin(), sorted.end());
            const double med = sorted[sorted.size() / 2];
            std::string runs;
            for (double x : ms) runs += fmt::format(" {:.1f}", x);
            fmt::print("{:>8} {:>10.2f} {:>12.0f} {:>10.1f}  {}\n", n, med, n / (med * 1e-3),
                       prompt_flops(d, n) / (med * 1e-3) / 1e12, runs);
            std::fflush(stdout);
        }
        return 0;
    }
    fmt::print("{:>8} {:>10} {:>10} {:>10} {:>10}   {:>6} {:>6} {:>6}\n", "tokens", "total ms", "GEMM ms", "attn ms",
               "rest ms", "GEMM%", "attn%", "rest%");
    for (int n : args.tokens) {
        double best[3] = {0, 0, 0}, best_total = 1e300;
        for (int r = 0; r < args.reps; ++r) {
            double ph[3] = {0, 0, 0};
            be->synchronize();
            m.prefill(n, args.chunk, ph);
            const double total = ph[0] + ph[1] + ph[2];
            if (total < best_total) {
                best_total = total;
                std::copy(ph, ph + 3, best);
            }
        }
        fmt::print("{:>8} {:>10.2f} {:>10.2f} {:>10.2f} {:>10.2f}   {:>5.1f}% {:>5.1f}% {:>5.1f}%\n", n, best_total, best[0],
                   best[1], best[2], 100 * best[0] / best_total, 100 * best[1] / best_total, 100 * best[2] / best_total);
        std::fflush(stdout);
    }
    return 0;
}

int run_gemm(const Args& args) {
    const auto t = parse_tensor_type(args.type);
    if (!t) fail("gpu_prefill_bench: unknown type {}", args.type);
    GpuBackendOptions opt;
    opt.use_graphs = false;
    auto be = make_gpu_backend(opt);
    const GpuDeviceInfo info = be->device_info();
    fmt::print("device: {} ({}); type {}; us per product (TFLOP/s)\n", info.name, info.arch, args.type);
    const std::pair<int64_t, int64_t> shapes[] = {{3584, 3584}, {512, 3584}, {18944, 3584}, {3584, 18944}};
    struct Path {
        const char* name;
        gpu::DispatchTable table;
    };
    auto forced = [&](int64_t gemm_max, gpu::GemmCompute c) {
        gpu::DispatchTable tb = gpu::dispatch_table_for(info.arch);
        tb.matvec_max_tokens = 0;
        tb.gemm_max_tokens = gemm_max;
        tb.gemm_compute = c;
        return tb;
    };
    const Path paths[] = {{"gemm-mma", forced(INT64_MAX, gpu::GemmCompute::Mma)},
                          {"gemm-fma", forced(INT64_MAX, gpu::GemmCompute::Fma)},
                          {"vendor", forced(0, gpu::GemmCompute::Mma)},
                          {"default", gpu::dispatch_table_for(info.arch)}};
    const int max_t = *std::max_element(args.tokens.begin(), args.tokens.end());
    std::vector<float> xh(static_cast<size_t>(max_t) * 18944);
    for (size_t i = 0; i < xh.size(); ++i) xh[i] = static_cast<float>((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    auto* x = static_cast<float*>(be->alloc(xh.size() * 4));
    be->upload(x, xh.data(), xh.size() * 4);
    auto* y = static_cast<float*>(be->alloc(static_cast<size_t>(max_t) * 18944 * 4));
    fmt::print("{:>12} {:>6}", "shape", "T");
    for (const Path& p : paths) fmt::print(" {:>18}", p.name);
    fmt::print("\n");
    for (auto [rows, cols] : shapes) {
        const auto host = random_weight(*t, rows, cols, static_cast<uint64_t>(rows + cols));
        const Weight w = be->load_weight(*t, cols, rows, 1, host.data());
        for (int T : args.tokens) {
            fmt::print("{:>12} {:>6}", fmt::format("{}x{}", rows, cols), T);
            for (const Path& p : paths) {
                if (std::string(p.name) == "gemm-fma" && T > 256) {
                    fmt::print(" {:>18}", "-");
                    continue;
                }
                gpu::set_dispatch_override(&p.table);
                const int reps = 10;
                be->matmul(w, Act{x, T, cols}, Act{y, T, rows});
                be->synchronize();
                std::vector<double> ms;
                for (int r = 0; r < 3; ++r) {
                    const double t0 = now_ms();
                    for (int i = 0; i < reps; ++i) be->matmul(w, Act{x, T, cols}, Act{y, T, rows});
                    be->synchronize();
                    ms.push_back((now_ms() - t0) / reps);
                }
                std::sort(ms.begin(), ms.end());
                const double us = ms[1] * 1e3;
                fmt::print(" {:>9.1f} ({:>5.1f})", us, 2.0 * rows * cols * T / (us * 1e-6) / 1e12);
                gpu::set_dispatch_override(nullptr);
            }
            fmt::print("\n");
            std::fflush(stdout);
        }
        be->release(const_cast<void*>(w.data));
    }
    return 0;
}


// Times `fn` (issuing work on `stream`) as the median of 5 runs of `reps`, in microseconds.
template <typename F>
double time_us(cudaStream_t stream, int reps, F&& fn) {
    cudaEvent_t e0, e1;
    RF_GPU_CHECK(cudaEventCreate(&e0));
    RF_GPU_CHECK(cudaEventCreate(&e1));
    fn();
    std::vector<float> t;
    for (int r = 0; r < 5; ++r) {
        RF_GPU_CHECK(cudaEventRecord(e0, stream));
        for (int i = 0; i < reps; ++i) fn();
        RF_GPU_CHECK(cudaEventRecord(e1, stream));
        RF_GPU_CHECK(cudaEventSynchronize(e1));
        float ms = 0;
        RF_GPU_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        t.push_back(ms * 1000.0f / static_cast<float>(reps));
    }
    std::sort(t.begin(), t.end());
    RF_GPU_CHECK(cudaEventDestroy(e0));
    RF_GPU_CHECK(cudaEventDestroy(e1));
    return t[2];
}

int run_parts(const Args& args) {
    const auto t = parse_tensor_type(args.type);
    if (!t) fail("gpu_prefill_bench: unknown type {}", args.type);
    GpuBackendOptions opt;
    auto be = make_gpu_backend(opt);
    const GpuDeviceInfo info = be->device_info();
    cudaStream_t stream;
    RF_GPU_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    auto blas = gpu::make_gpu_blas();
    if (!blas) fail("gpu_prefill_bench parts: this build has no vendor GEMM");
    fmt::print("device: {} ({}); type {}; microseconds (rate)\n", info.name, info.arch, args.type);
    const int max_t = *std::max_element(args.tokens.begin(), args.tokens.end());
    const int64_t max_k = 18944, max_rows = 18944;
    void* xh = be->alloc(static_cast<size_t>(max_t) * max_k * 2);
    auto* xf = static_cast<float*>(be->alloc(static_cast<size_t>(max_t) * max_k * 4));
    be->fill_zero(xf, static_cast<size_t>(max_t) * max_k * 4);
    void* wh = be->alloc(static_cast<size_t>(max_rows) * 3584 * 2);
    auto* y = static_cast<float*>(be->alloc(static_cast<size_t>(max_t) * max_rows * 4));
#if !defined(ROCMFORGE_WITH_HIP)
    void* yh = be->alloc(static_cast<size_t>(max_t) * max_rows * 2);  // f16 output of the comparison GEMM
#endif
    be->synchronize();
    gpu::Launcher l(gpu::Launcher::Mode::Launch, stream);
    const size_t chunk_bytes = gpu::dispatch_table_for(info.arch).blas_chunk_bytes;
    fmt::print("{:>12} {:>6} {:>16} {:>18} {:>18} {:>18} {:>20}\n", "shape", "T", "x->f16", "dequant (GB/s)",
               "gemm f32 out", "gemm f16 out", "chunked f32 out");
    for (const auto& shape : {std::pair<int64_t, int64_t>{18944, 3584}, {3584, 3584}, {3584, 18944}}) {
        const int64_t rows = shape.first, cols = shape.second;  // (lambdas below capture them)
        const auto host = random_weight(*t, rows, cols, static_cast<uint64_t>(rows + cols));
        const Weight w = be->load_weight(*t, cols, rows, 1, host.data());
        be->synchronize();
        const gpu::QMatrix qm = gpu::qmatrix(*t, w.data, rows, cols);
        const double us_dq = time_us(stream, 5, [&] { gpu::launch_dequant_rows_f16(l, *t, qm, 0, rows, wh, false); });
        for (int T : args.tokens) {
            const double flop = 2.0 * rows * cols * T;
            const double us_cv = time_us(stream, 5, [&] { gpu::launch_convert_f16(l, xf, T * cols, xh, false); });
            gpu::GemmDesc d{};
            d.w = wh;
            d.x = xh;
            d.y = y;
            d.rows = rows;
            d.n_tok = T;
            d.k = cols;
            d.ldy = rows;
            d.type = gpu::GemmType::F16;
            const double us_g = time_us(stream, 5, [&] { blas->gemm(d, stream); });
            double us_h = 0.0;
#if !defined(ROCMFORGE_WITH_HIP)
            {
                cublasHandle_t h;
                cublasCreate(&h);
                cublasSetStream(h, stream);
                const float alpha = 1.0f, beta = 0.0f;
                us_h = time_us(stream, 5, [&] {
                    cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows), T, static_cast<int>(cols), &alpha, wh,
                                 CUDA_R_16F, static_cast<int>(cols), xh, CUDA_R_16F, static_cast<int>(cols), &beta, yh,
                                 CUDA_R_16F, static_cast<int>(rows), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
                });
                cublasDestroy(h);
            }
#endif
            const int64_t chunk = std::max<int64_t>(1, static_cast<int64_t>(chunk_bytes) / (cols * 2));
            const double us_c = time_us(stream, 5, [&] {
                for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
                    gpu::GemmDesc dc = d;
                    dc.rows = std::min(chunk, rows - r0);
                    dc.y = y + r0;
                    blas->gemm(dc, stream);
                }
            });
            fmt::print("{:>12} {:>6} {:>8.1f} ({:>5.0f}) {:>9.1f} ({:>6.0f}) {:>9.1f} ({:>6.1f}) {:>9.1f} ({:>6.1f}) {:>10.1f} ({:>6.1f})\n",
                       fmt::format("{}x{}", rows, cols), T, us_cv, T * cols * 6.0 / (us_cv * 1e3), us_dq,
                       rows * cols * 2.0 / (us_dq * 1e3), us_g, flop / (us_g * 1e6), us_h, flop / (us_h * 1e6), us_c,
                       flop / (us_c * 1e6));
            std::fflush(stdout);
        }
        be->release(const_cast<void*>(w.data));
    }
    RF_GPU_CHECK(cudaStreamDestroy(stream));
    return 0;
}

}  // namespace
}  // namespace rf

int main(int argc, char** argv) {
    try {
        const rf::Args args = rf::parse(argc, argv);
        if (args.mode == "pp") return rf::run_pp(args, false);
        if (args.mode == "split") return rf::run_pp(args, true);
        if (args.mode == "gemm") return rf::run_gemm(args);
        if (args.mode == "parts") return rf::run_parts(args);
        std::fprintf(stderr, "usage: rocmforge_gpu_prefill_bench pp|split|gemm|parts [options]\n");
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
}
