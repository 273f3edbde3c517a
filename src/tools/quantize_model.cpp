#include "tools/quantize_model.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "formats/quant/quantize.h"
#include "tools/quant_mix.h"

namespace rf {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION

bool is_float_type(TensorType t) {
    return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16;
}

// Converts every row of `src` (type `from`) to `to` into dst, chunk by chunk on the pool.
void requantize(const GgufTensorInfo& src, TensorType to, uint8_t* dst, ThreadPool& pool) {
    const int64_t cols = src.ne[0];
    const int64_t rows = src.n_rows();
    const size_t in_row = row_size(src.type, cols);
    const size_t out_row = row_size(to, cols);
    const int64_t chunk_rows = std::max<int64_t>(1, (int64_t{1} << 22) / cols);
    std::vector<float> f32(static_cast<size_t>(std::min(rows, chunk_rows) * cols));
    for (int64_t c0 = 0; c0 < rows; c0 += chunk_rows) {
        const int64_t n = std::min(chunk_rows, rows - c0);
        pool.parallel_for(
            n,
            [&](int64_t b, int64_t e) {
                float* x = f32.data() + b * cols;
                for (int64_t r = b; r < e; ++r)
                    dequantize_row_fast(src.type, src.data + static_cast<size_t>(c0 + r) * in_row,
                                        x + (r - b) * cols, cols);
                quantize_rows(to, x, dst + static_cast<size_t>(c0 + b) * out_row, e - b, cols);
            },
            std::max<int64_t>(1, 8192 / cols));
    }
}

}  // namespace

QuantizeResult quantize_model(const QuantizeOptions& o) {
    const std::optional<QuantFileType> ft = parse_quant_file_type(o.type);
    RF_CHECK(ft.has_value(),
             "quantize: unknown type '{}' (supported: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, "
             "q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, q4_k_m, q5_k_m)",
             o.type);
    const GgufFile in(o.in_path);
    const std::string arch = in.get_string("general.architecture").value_or("");
    const int64_t n_expert = arch.empty() ? 0 : in.get_int(arch + ".expert_count").value_or(0);
    int64_t n_gqa = 0;
    if (!arch.empty()) {
        const auto heads = in.get_int(arch + ".attention.head_count");
        const auto heads_kv = in.get_int(arch + ".attention.head_count_kv");
        if (heads && heads_kv && *heads_kv > 0) n_gqa = *heads / *heads_kv;
    }

    std::vector<QuantTensor> list;
    for (const GgufTensorInfo& t : in.tensors()) list.push_back({t.name, t.ne});
    const QuantMixPlanner planner(*ft, list, static_cast<int>(n_expert), static_cast<int>(n_gqa));

    GgufWriter w(in.alignment());
    for (const auto& [key, value] : in.metadata()) {
        if (key == "general.alignment" || key == "general.quantization_version" ||
            key == "general.file_type")
            continue;
        w.set(key, value);
    }
    w.set_u32("general.quantization_version", kQuantizationVersion);
    w.set_u32("general.file_type", ft->gguf_file_type);

    ThreadPool pool(o.n_threads);
    QuantizeResult result;
    result.n_tensors = in.tensors().size();
    result.n_threads = pool.size();
    std::string dequantized_types;
    for (size_t i = 0; i < in.tensors().size(); ++i) {
        const GgufTensorInfo& t = in.tensors()[i];
        result.bytes_in += t.nbytes;
        const TensorType to = tensor_is_quantizable(t.name, t.ne) ? planner.type_for(i) : t.type;
        if (to == t.type) {
            w.add_tensor(t.name, t.type, t.ne, t.data, t.nbytes);
            result.bytes_out += t.nbytes;
            continue;
        }
        ++result.n_converted;
        result.n_weights_converted += t.n_elements();
        if (!is_float_type(t.type)) {
            ++result.n_dequantized;
            if (dequantized_types.find(type_name(t.type)) == std::string::npos)
                dequantized_types +=
                    std::string(dequantized_types.empty() ? "" : ", ") + type_name(t.type);
        }
        result.bytes_out += row_size(to, t.ne[0]) * static_cast<uint64_t>(t.n_rows());
        w.add_tensor(t.name, to, t.ne, [&t, to, &pool, &result](uint8_t* dst, size_t) {
            const auto start = std::chrono::steady_clock::now();
            requantize(t, to, dst, pool);
            result.convert_seconds +=
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        });
    }
    if (result.n_dequantized > 0)
        spdlog::warn(
            "quantize: {} tensors are stored as {}: they are dequantized to f32 and "
            "quantized again (quantize from an f32/f16/bf16 file to avoid the double loss)",
            result.n_dequantized, dequantized_types);

    ProgressBar bar("quantize", static_cast<int64_t>(in.tensors().size()));
    const auto start = std::chrono::steady_clock::now();
    w.write(o.out_path, [&](size_t, size_t) { bar.advance(); });
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bar.finish();
    return result;
}

}  // namespace rf
