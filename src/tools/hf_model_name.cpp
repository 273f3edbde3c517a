// A port of llama.cpp's gguf-py naming heuristics (Metadata.get_model_id_components,
// id_to_title, size_label). Character classes are ASCII: Python's str.isalpha/islower/title on
// non-ASCII letters are not reproduced (such bytes count as neither letters nor digits).
#include "tools/hf_model_name.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "formats/gguf/gguf_writer.h"

namespace rf {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
char to_upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c;
}
char to_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}
std::string upper(std::string s) {
    for (char& c : s) c = to_upper(c);
    return s;
}

bool full_match(const std::string& s, const char* pattern) {
    const std::regex re(pattern, std::regex::ECMAScript | std::regex::icase);
    return std::regex_match(s, re);
}

// Python float(): the whole string must be a number.
std::optional<double> parse_float(const std::string& s) {
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
    return v;
}

// "7B" -> 7e9; nullopt where Python's float() raises.
std::optional<double> size_label_params(const std::string& label) {
    if (label.empty()) return std::nullopt;
    const auto v = parse_float(label.substr(0, label.size() - 1));
    if (!v) return std::nullopt;
    const size_t scale = std::string_view(" KMBT").find(label.back());
    if (scale == std::string_view::npos) return *v / 1000.0;  // Python's pow(1000, -1)
    return *v * std::pow(1000.0, static_cast<double>(scale));
}

std::string normalize_size_label(std::string label) {
    for (char& c : label)
        if (c == '_') c = '.';
    // bloom-7b1 -> 7.1b
    if (label.size() >= 2 && is_digit(label.back()))
        label = label.substr(0, label.size() - 2) + "." + label.back() + label[label.size() - 2];
    if (label.size() > 1 && is_digit(label[label.size() - 2]) &&
        std::string_view("kmbt").find(label.back()) != std::string_view::npos)
        label.back() = to_upper(label.back());
    return label;
}

enum : unsigned { kBasename = 1, kSizeLabel = 2, kFinetune = 4, kVersion = 8, kType = 16 };

std::optional<std::string> join_parts(const std::vector<std::string>& parts,
                                      const std::vector<unsigned>& types, unsigned want,
                                      unsigned exclude, bool dedupe) {
    std::string out;
    std::vector<std::string> seen;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (!(types[i] & want) || (types[i] & exclude)) continue;
        if (dedupe) {
            if (std::find(seen.begin(), seen.end(), parts[i]) != seen.end()) continue;
            seen.push_back(parts[i]);
        }
        if (!out.empty()) out += "-";
        out += parts[i];
    }
    if (out.empty()) return std::nullopt;
    return out;
}

std::optional<nlohmann::json> read_json_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream text;
    text << in.rdbuf();
    try {
        return nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;  // as llama.cpp: an unreadable generation_config.json is skipped
    }
}

std::string weight_count(int64_t n) {
    double scaled;
    char suffix;
    const double x = static_cast<double>(n);
    if (x > 1e12) {
        scaled = x * 1e-12;
        suffix = 'T';
    } else if (x > 1e9) {
        scaled = x * 1e-9;
        suffix = 'B';
    } else if (x > 1e6) {
        scaled = x * 1e-6;
        suffix = 'M';
    } else {
        scaled = x * 1e-3;
        suffix = 'K';
    }
    // Digits of round(scaled) (Python rounds half to even) without leading zeros.
    const auto rounded = static_cast<int64_t>(std::nearbyint(scaled));
    std::string digits = std::to_string(rounded);
    digits.erase(0, digits.find_first_not_of('0') == std::string::npos
                        ? digits.size()
                        : digits.find_first_not_of('0'));
    const int fix = std::max(2 - static_cast<int>(digits.size()), 0);
    return fmt::format("{:.{}f}{}", scaled, fix, suffix);
}

}  // namespace

std::string hf_id_to_title(std::string_view id) {
    std::string s(id);
    for (char& c : s)
        if (c == '-') c = ' ';
    std::istringstream words(s);
    std::string out, w;
    while (words >> w) {
        bool has_lower = false, has_upper = false;
        for (char c : w) {
            has_lower |= c >= 'a' && c <= 'z';
            has_upper |= c >= 'A' && c <= 'Z';
        }
        const bool keep = std::regex_match(w, std::regex(R"((v\d+(?:\.\d+)*|\d.*))"));
        if (has_lower && !has_upper && !keep) {
            bool after_letter = false;
            for (char& c : w) {
                c = after_letter ? to_lower(c) : to_upper(c);
                after_letter = is_alpha(c);
            }
        }
        if (!out.empty()) out += ' ';
        out += w;
    }
    return out;
}

HfModelIdParts hf_model_id_parts(const std::string& model_id, int64_t total_params) {
    HfModelIdParts r;
    if (model_id.find(' ') != std::string::npos) {
        r.full_name = model_id;
        return r;
    }
    std::string name = model_id;
    if (const size_t slash = model_id.find('/'); slash != std::string::npos) {
        const std::string org = model_id.substr(0, slash);
        name = model_id.substr(slash + 1);
        if (!org.empty() && org[0] != '.') r.organization = org;
    }
    r.full_name = name;

    std::vector<std::string> parts;
    for (size_t b = 0; b <= name.size();) {
        const size_t e = std::min(name.find('-', b), name.size());
        if (e > b) parts.push_back(name.substr(b, e - b));
        b = e + 1;
    }
    std::vector<unsigned> types(parts.size(), 0);
    const double total = static_cast<double>(total_params);
    for (size_t i = 0; i < parts.size(); ++i) {
        std::string part = parts[i];
        if (full_match(part, R"((v|iter)?\d+([.]\d+)*)")) {
            types[i] |= kVersion;
        } else if (full_match(part, R"(i?q\d(_\w)*|b?fp?(16|32))")) {
            types[i] |= kType;
            parts[i] = upper(part);
        } else if (i > 0 &&
                   full_match(
                       part,
                       R"((([A]|\d+[x])?\d+([._]\d+)?[KMBT][\d]?|small|mini|medium|large|x?xl))")) {
            part = normalize_size_label(part);
            if (total_params != 0) {
                if (const auto label = size_label_params(part)) {
                    std::optional<std::string> next;
                    if (i + 1 < parts.size()) next = normalize_size_label(parts[i + 1]);
                    bool active_follows = false;
                    if (next && full_match(*next, R"(A\d+([._]\d+)?[KMBT][\d]?)")) {
                        const auto active = size_label_params(next->substr(1));
                        active_follows =
                            active && std::abs(*active - std::abs(total)) <=
                                          static_cast<double>(7 * std::llabs(total_params) / 8);
                    }
                    const bool context_like =
                        (total_params < 0 &&
                         *label < static_cast<double>(std::llabs(total_params) / 8)) ||
                        (total_params > 0 &&
                         std::abs(*label - total) > static_cast<double>(7 * total_params / 8));
                    if (!active_follows && context_like) {
                        types[i] |= kFinetune;  // likely a context length ("-32k")
                        part.back() = to_lower(part.back());
                    }
                }
            }
            if (types[i] == 0) types[i] |= kSizeLabel;
            parts[i] = part;
        } else if (i > 0 && full_match(part, "chat|instruct|vision|lora")) {
            if (total_params < 0 && upper(part) == "LORA")
                types[i] |= kType;
            else
                types[i] |= kFinetune;
        }
    }
    // Word size labels ("small") give way to numeric ones.
    bool numeric_label = false;
    for (size_t i = 0; i < parts.size(); ++i)
        if (types[i] & kSizeLabel)
            for (char c : parts[i]) numeric_label |= is_digit(c);
    if (numeric_label)
        for (size_t i = 0; i < parts.size(); ++i)
            if ((types[i] & kSizeLabel) &&
                std::all_of(parts[i].begin(), parts[i].end(), [](char c) { return is_alpha(c); }))
                types[i] &= ~kSizeLabel;
    bool at_start = true;
    for (size_t i = 0; i < parts.size(); ++i) {
        if (at_start && ((types[i] == 0 && is_alpha(parts[i][0])) || (types[i] & kVersion))) {
            types[i] |= kBasename;
        } else {
            at_start = false;
            if (types[i] == 0) types[i] |= kFinetune;
        }
    }
    for (size_t i = parts.size(); i-- > 0;) {  // a trailing version is not part of the basename
        if ((types[i] & kBasename) && types[i] != kBasename)
            types[i] &= ~kBasename;
        else
            break;
    }
    r.basename = join_parts(parts, types, kBasename, 0, false);
    r.size_label = join_parts(parts, types, kSizeLabel, 0, true);
    r.finetune = join_parts(parts, types, kFinetune, 0, false);
    r.version = join_parts(parts, types, kVersion, kBasename, false);
    if (!r.size_label && !r.finetune && !r.version) r.basename.reset();  // too ambiguous
    return r;
}

std::string gguf_size_label(int64_t total_params, int64_t shared_params, int64_t expert_params,
                            int64_t expert_count) {
    if (expert_count > 0)
        return fmt::format("{}x{}", expert_count,
                           weight_count(std::llabs(shared_params) + std::llabs(expert_params)));
    return weight_count(std::llabs(total_params));
}

ParamCounts count_params(const std::vector<std::pair<std::string, std::vector<int64_t>>>& tensors) {
    ParamCounts c;
    int64_t expert_sum = 0, n_expert_tensors = 0;
    for (const auto& [name, ne] : tensors) {
        int64_t size = 1;
        for (int64_t d : ne) size *= d;
        if (name.find("_exps.") != std::string::npos && ne.size() >= 3) {
            // numpy shape[-3] (shape[-2] for biases) is ne[2] (ne[1]).
            const int64_t n = name.find(".bias") != std::string::npos ? ne[1] : ne[2];
            c.expert += size / n;
            expert_sum += n;
            ++n_expert_tensors;
        } else {
            c.shared += size;
        }
        c.total += size;
    }
    c.expert_count = n_expert_tensors > 0 ? expert_sum / n_expert_tensors : 0;
    return c;
}

void write_hf_general_metadata(const std::string& model_dir, const ParamCounts& counts,
                               GgufWriter& w) {
    namespace fs = std::filesystem;
    const fs::path dir = fs::weakly_canonical(fs::absolute(model_dir));

    std::optional<std::string> name, organization, basename, finetune, version, size_label;
    auto take = [&](const HfModelIdParts& p) {
        if (!name && p.full_name) name = hf_id_to_title(*p.full_name);
        if (!organization && p.organization) organization = hf_id_to_title(*p.organization);
        if (!basename && p.basename) basename = p.basename;
        if (!finetune && p.finetune) finetune = p.finetune;
        if (!version && p.version) version = p.version;
        if (!size_label && p.size_label) size_label = p.size_label;
    };
    if (const auto config = read_json_file(dir / "config.json"); config && config->is_object()) {
        const auto it = config->find("_name_or_path");
        if (it != config->end() && it->is_string()) {
            const std::string id = it->get<std::string>();
            if (std::count(id.begin(), id.end(), '/') <= 1)
                take(hf_model_id_parts(id, counts.total));
        }
    }
    take(hf_model_id_parts(dir.filename().string(), counts.total));
    if (!size_label && counts.total > 0)
        size_label =
            gguf_size_label(counts.total, counts.shared, counts.expert, counts.expert_count);

    w.set_string("general.type", "model");
    if (const auto gen = read_json_file(dir / "generation_config.json"); gen && gen->is_object()) {
        auto number = [&](const char* key) -> std::optional<double> {
            const auto it = gen->find(key);
            if (it == gen->end() || !it->is_number()) return std::nullopt;
            return it->get<double>();
        };
        if (const auto it = gen->find("sequence"); it != gen->end() && it->is_string())
            w.set_string("general.sampling.sequence", it->get<std::string>());
        if (auto v = number("top_k")) w.set_i32("general.sampling.top_k", static_cast<int32_t>(*v));
        if (auto v = number("top_p")) w.set_f32("general.sampling.top_p", static_cast<float>(*v));
        if (auto v = number("min_p")) w.set_f32("general.sampling.min_p", static_cast<float>(*v));
        if (auto v = number("xtc_probability"))
            w.set_f32("general.sampling.xtc_probability", static_cast<float>(*v));
        if (auto v = number("xtc_threshold"))
            w.set_f32("general.sampling.xtc_threshold", static_cast<float>(*v));
        if (auto v = number("temperature"))
            w.set_f32("general.sampling.temp", static_cast<float>(*v));
        if (auto v = number("penalty_last_n"))
            w.set_i32("general.sampling.penalty_last_n", static_cast<int32_t>(*v));
        if (auto v = number("penalty_repeat"))
            w.set_f32("general.sampling.penalty_repeat", static_cast<float>(*v));
        if (auto v = number("mirostat"))
            w.set_i32("general.sampling.mirostat", static_cast<int32_t>(*v));
        if (auto v = number("mirostat_tau"))
            w.set_f32("general.sampling.mirostat_tau", static_cast<float>(*v));
        if (auto v = number("mirostat_eta"))
            w.set_f32("general.sampling.mirostat_eta", static_cast<float>(*v));
    }
    // add_string skips empty strings.
    auto str = [&](const char* key, const std::optional<std::string>& v) {
        if (v && !v->empty()) w.set_string(key, *v);
    };
    str("general.name", name ? name : dir.filename().string());
    str("general.version", version);
    str("general.organization", organization);
    str("general.finetune", finetune);
    str("general.basename", basename);
    str("general.size_label", size_label);
}

}  // namespace rf
