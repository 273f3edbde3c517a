// The general.* metadata llama.cpp's converter derives for a Hugging Face folder (gguf-py
// metadata.py and utility.py), so a converted file is named like theirs:
//
//   general.type                "model"
//   general.sampling.*          from generation_config.json: top_k (i32), top_p, min_p,
//                               temperature -> temp, ... (f32); HF keys llama.cpp does not read
//                               (repetition_penalty) are not written either
//   general.name                config.json _name_or_path (when it is "org/name" or "name"),
//                               else the folder name, as a title ("tiny-qwen3" -> "Tiny Qwen3")
//   general.organization, .version, .finetune, .basename, .size_label
//                               parsed from that id ("Qwen/Qwen2.5-0.5B-Instruct": basename
//                               Qwen2.5, size label 0.5B, finetune Instruct, organization Qwen)
//   general.size_label          else from the parameter count: "6.8M", "8x4.3M" (experts)
//
// Not read: README.md model-card front matter (license, tags, languages, base models), which
// llama.cpp parses as YAML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rf {

class GgufWriter;

// llama.cpp's Metadata.get_model_id_components.
struct HfModelIdParts {
    std::optional<std::string> full_name, organization, basename, finetune, version, size_label;
};
HfModelIdParts hf_model_id_parts(const std::string& model_id, int64_t total_params);

// Metadata.id_to_title: "-" becomes " ", all-lower-case words are title-cased unless they are
// versions or start with a digit ("qwen35moe" -> "Qwen35Moe").
std::string hf_id_to_title(std::string_view id);

// gguf.size_label: "6.8M", "0.5B", "8x3.4M" (expert_count > 0: shared + one expert's params).
std::string gguf_size_label(int64_t total_params, int64_t shared_params, int64_t expert_params,
                            int64_t expert_count);

// Parameter counts of a tensor list as gguf's GGUFWriter.get_total_parameter_count: tensors
// whose name has "_exps." and 3+ dims count as experts (ne[2] experts each).
struct ParamCounts {
    int64_t total = 0, shared = 0, expert = 0, expert_count = 0;
};
ParamCounts count_params(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors);

// Writes general.type, general.sampling.*, general.name, .version, .organization, .finetune,
// .basename and .size_label (in llama.cpp's order) for the folder `model_dir`.
// counts.total == 0 (a vocab-only file) writes no size label.
void write_hf_general_metadata(const std::string& model_dir, const ParamCounts& counts,
                               GgufWriter& writer);

}  // namespace rf
