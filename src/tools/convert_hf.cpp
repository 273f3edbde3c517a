#include "tools/convert_hf.h"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/progress.h"
#include "core/thread_pool.h"
#include "formats/gguf/gguf_writer.h"
#include "formats/safetensors/safetensors_file.h"
#include "tokenizer/vocab_from_hf.h"
#include "tokenizer/vocab_gguf.h"
#include "tools/convert_tensor.h"
#include "tools/hf_arch.h"
#include "tools/hf_config.h"
#include "tools/hf_model_name.h"
#include "tools/hf_tensor_map.h"
#include "tools/quant_mix.h"

namespace rf {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION
constexpr const char* kTypes =
    "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, "
    "q5_k, q6_k, q4_k_m, q5_k_m";

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// convert_hf_to_gguf.py prepare_tensors: tensors it always writes in f32.
bool converter_keeps_f32(const std::string& name, const std::vector<int64_t>& ne) {
    if (ne.size() <= 1 || ends_with(name, "_norm.weight")) return true;
    for (std::string_view forced :
         {".ffn_gate_inp.weight", ".ffn_gate_inp_shexp.weight", ".ssm_conv1d.weight"})
        if (ends_with(name, forced) && name.starts_with("blk.")) return true;
    if (name == "position_embd.weight" || name == "token_types.weight") return true;
    return !ends_with(name, ".weight");
}

// The types: convert_hf_to_gguf.py's rules for f32/f16/bf16/q8_0, llama-quantize's otherwise.
void choose_types(std::vector<ConvertTensor>& tensors, const QuantFileType& ft, int64_t n_expert) {
    const TensorType base = ft.base;
    const bool python_type = !ft.k_mix && (base == TensorType::F32 || base == TensorType::F16 ||
                                           base == TensorType::BF16 || base == TensorType::Q8_0);
    if (python_type) {
        for (ConvertTensor& t : tensors) {
            t.type = converter_keeps_f32(t.name, t.ne) ? TensorType::F32 : base;
            // gguf-py's quantize raises QuantError for a row that is not whole blocks: f16.
            if (t.type == TensorType::Q8_0 && t.ne[0] % block_size(TensorType::Q8_0) != 0)
                t.type = TensorType::F16;
        }
        return;
    }
    std::vector<QuantTensor> list;
    list.reserve(tensors.size());
    for (const ConvertTensor& t : tensors) list.push_back({t.name, t.ne});
    const QuantMixPlanner planner(ft, list, static_cast<int>(n_expert));
    for (size_t i = 0; i < tensors.size(); ++i) tensors[i].type = planner.type_for(i);
}

std::optional<nlohmann::json> read_json(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    try {
        return nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;  // vocab_from_hf has already reported broken files
    }
}

// The order in which llama.cpp's SpecialVocab writes the special token ids: first the
// tokenizer_config.json "<x>_token" entries found among tokenizer.json's added tokens (bos, eos,
// unk, sep, pad, cls, mask order), then the ones it took from config.json.
std::vector<std::string_view> special_token_order(const std::string& dir) {
    static constexpr std::string_view kTypes[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};
    std::vector<std::string_view> order;
    const auto tc = read_json(fs::path(dir) / "tokenizer_config.json");
    const auto tok = read_json(fs::path(dir) / "tokenizer.json");
    if (!tc || !tc->is_object() || !tok || !tok->is_object()) return order;
    auto content = [&](std::string_view type) -> std::string {
        const auto it = tc->find(std::string(type) + "_token");
        if (it == tc->end()) return "";
        if (it->is_string()) return it->get<std::string>();
        if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
            return (*it)["content"].get<std::string>();
        return "";
    };
    const auto added = tok->find("added_tokens");
    for (std::string_view type : kTypes) {
        std::string c = content(type);
        if (c.empty() && type == "bos") c = content("cls");  // as SpecialVocab: cls/sep stand in
        if (c.empty() && type == "eos") c = content("sep");
        if (c.empty() || added == tok->end() || !added->is_array()) continue;
        for (const auto& a : *added)
            if (a.is_object() && a.value("content", "") == c && a.contains("id")) {
                order.push_back(type);
                break;
            }
    }
    return order;
}

// general.architecture, general.* names, hyper-parameters, quantization version: everything
// before the tokenizer, in llama.cpp's order.
void write_model_metadata(const ConvertHfOptions& o, const HfConfig* config,
                          const HfArchitecture* arch, const HfHparams* hp,
                          const ParamCounts& counts, const QuantFileType& ft, GgufWriter& w) {
    w.set_string("general.architecture", arch != nullptr ? arch->gguf_arch : "qwen2");
    write_hf_general_metadata(o.model_dir, counts, w);
    if (config != nullptr)
        write_gguf_hparams(*config, *arch, *hp, ft.gguf_file_type, w);
    else
        w.set_u32("general.file_type", ft.gguf_file_type);
    w.set_u32("general.quantization_version", kQuantizationVersion);
}

void write_vocab(const std::string& dir, GgufWriter& w) {
    const Vocab vocab = vocab_from_hf(dir);
    const std::vector<std::string_view> order = special_token_order(dir);
    vocab_to_gguf(vocab, w, order);
}

ConvertHfResult convert_vocab_only(const ConvertHfOptions& o, const QuantFileType& ft) {
    std::optional<HfConfig> config;
    const HfArchitecture* arch = nullptr;
    std::optional<HfHparams> hp;
    if (fs::exists(fs::path(o.model_dir) / "config.json")) {
        config = HfConfig::load(o.model_dir);
        const std::string cls = config->architecture();
        arch = find_hf_architecture(cls);
        RF_CHECK(arch != nullptr,
                 "convert: {}: architectures[0] = '{}' is not supported (supported: {})",
                 config->path(), cls, supported_hf_architectures());
        hp = read_hf_hparams(*config, *arch);
    }
    GgufWriter w;
    write_model_metadata(o, config ? &*config : nullptr, arch, hp ? &*hp : nullptr, ParamCounts{},
                         ft, w);
    write_vocab(o.model_dir, w);
    w.write(o.out_path);
    ConvertHfResult r;
    r.architecture = arch != nullptr ? arch->gguf_arch : "qwen2";
    return r;
}

}  // namespace

ConvertHfResult convert_hf_to_gguf(const ConvertHfOptions& o) {
    const std::optional<QuantFileType> ft = parse_quant_file_type(o.type);
    RF_CHECK(ft.has_value(), "convert: unknown --type '{}' (supported: {})", o.type, kTypes);
    RF_CHECK(fs::is_directory(o.model_dir), "convert: {} is not a directory", o.model_dir);
    if (o.vocab_only) return convert_vocab_only(o, *ft);

    const HfConfig config = HfConfig::load(o.model_dir);
    const std::string cls = config.architecture();
    const HfArchitecture* arch = find_hf_architecture(cls);
    RF_CHECK(arch != nullptr,
             "convert: {}: architectures[0] = '{}' is not supported (supported: {})", config.path(),
             cls, supported_hf_architectures());
    const HfHparams hp = read_hf_hparams(config, *arch);
    const SafetensorsModel model(o.model_dir);
    std::vector<ConvertTensor> tensors = map_hf_tensors(model, *arch, hp);
    choose_types(tensors, *ft, hp.n_expert);

    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
    for (const ConvertTensor& t : tensors) shapes.emplace_back(t.name, t.ne);
    const ParamCounts counts = count_params(shapes);

    GgufWriter w;
    write_model_metadata(o, &config, arch, &hp, counts, *ft, w);
    write_vocab(o.model_dir, w);

    ThreadPool pool(o.n_threads);
    ConvertHfResult result;
    result.architecture = arch->gguf_arch;
    result.n_tensors = tensors.size();
    result.n_params = counts.total;
    for (const ConvertTensor& t : tensors) {
        result.tensor_bytes += row_size(t.type, t.ne[0]) * static_cast<uint64_t>(t.n_rows());
        w.add_tensor(t.name, t.type, t.ne,
                     [&t, &pool](uint8_t* dst, size_t) { produce_tensor(t, dst, &pool); });
    }
    ProgressBar bar("convert", static_cast<int64_t>(tensors.size()));
    w.write(o.out_path, [&](size_t, size_t) { bar.advance(); });
    bar.finish();
    return result;
}

}  // namespace rf
