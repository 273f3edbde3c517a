#include "tools/model_info.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/gguf/gguf_json.h"

namespace rf {

namespace {

constexpr size_t kShownArrayItems = 8;
constexpr size_t kShownStringBytes = 96;

using ojson = nlohmann::ordered_json;

// 6845440 -> "6.85 M"
std::string human_count(double n) {
    if (n >= 1e9) return fmt::format("{:.2f} B", n / 1e9);
    if (n >= 1e6) return fmt::format("{:.2f} M", n / 1e6);
    if (n >= 1e3) return fmt::format("{:.2f} K", n / 1e3);
    return fmt::format("{}", n);
}

std::string human_bytes(double n) {
    if (n >= 1024.0 * 1024 * 1024) return fmt::format("{:.2f} GiB", n / (1024.0 * 1024 * 1024));
    if (n >= 1024.0 * 1024) return fmt::format("{:.2f} MiB", n / (1024.0 * 1024));
    if (n >= 1024.0) return fmt::format("{:.2f} KiB", n / 1024.0);
    return fmt::format("{} B", n);
}

// A table whose columns are as wide as their widest cell; `right` marks right-aligned columns.
std::string format_table(const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right) {
    std::vector<size_t> width(right.size(), 0);
    for (const auto& r : rows)
        for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
    std::string out;
    for (const auto& r : rows) {
        std::string line = " ";
        for (size_t c = 0; c < r.size(); ++c) {
            const size_t pad = width[c] - r[c].size();
            line += ' ';
            if (right[c]) line.append(pad, ' ');
            line += r[c];
            if (!right[c] && c + 1 < r.size()) line.append(pad, ' ');
            if (c + 1 < r.size()) line += ' ';
        }
        out += line + '\n';
    }
    return out;
}

std::string totals_line(int64_t n_params, uint64_t tensor_bytes, uint64_t file_size) {
    const double bpw = n_params > 0
                           ? 8.0 * static_cast<double>(tensor_bytes) / static_cast<double>(n_params)
                           : 0.0;
    return fmt::format(
        "total: {} parameters ({}), tensor data {} ({} bytes), file {} ({} bytes), {:.2f} bits "
        "per weight\n",
        human_count(static_cast<double>(n_params)), n_params,
        human_bytes(static_cast<double>(tensor_bytes)), tensor_bytes,
        human_bytes(static_cast<double>(file_size)), file_size, bpw);
}

bool looks_like_gguf(const std::string& path) {
    if (std::filesystem::path(path).extension() == ".gguf") return true;
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

}  // namespace

std::string gguf_info_text(const GgufFile& f) {
    std::string out;
    out += fmt::format("file: {}\n", f.path());
    out += fmt::format("format: GGUF v{}, alignment {}, tensor data at offset {}\n", f.version(),
                       f.alignment(), f.data_offset());
    out += fmt::format("\nmetadata ({} keys):\n", f.metadata().size());
    std::vector<std::vector<std::string>> rows;
    for (const auto& [key, value] : f.metadata()) {
        std::string type = value.type_string();
        if (const GgufArray* a = value.as_array()) type += fmt::format("[{}]", a->size());
        rows.push_back({key, type, value.to_display_string(kShownArrayItems, kShownStringBytes)});
    }
    out += format_table(rows, {false, false, false});

    out += fmt::format("\ntensors ({}):\n", f.tensors().size());
    rows.clear();
    rows.push_back({"#", "name", "type", "shape (ne)", "bytes", "offset"});
    for (size_t i = 0; i < f.tensors().size(); ++i) {
        const GgufTensorInfo& t = f.tensors()[i];
        rows.push_back({std::to_string(i), t.name, type_name(t.type),
                        fmt::format("{}", fmt::join(t.ne, " x ")), std::to_string(t.nbytes),
                        std::to_string(t.offset)});
    }
    out += format_table(rows, {true, false, false, false, true, true});
    out += '\n' + totals_line(f.n_parameters(), f.tensor_data_bytes(), f.file_size());
    return out;
}

ojson gguf_info_json(const GgufFile& f) {
    ojson j;
    j["format"] = "gguf";
    j["path"] = f.path();
    j["version"] = f.version();
    j["alignment"] = f.alignment();
    j["data_offset"] = f.data_offset();
    j["file_size"] = f.file_size();
    j["n_parameters"] = f.n_parameters();
    j["tensor_bytes"] = f.tensor_data_bytes();
    ojson meta = ojson::object();
    ojson types = ojson::object();
    for (const auto& [key, value] : f.metadata()) {
        meta[key] = gguf_value_to_json(value);
        types[key] = value.type_string();
    }
    j["metadata"] = std::move(meta);
    j["metadata_types"] = std::move(types);
    ojson tensors = ojson::array();
    for (const GgufTensorInfo& t : f.tensors()) {
        tensors.push_back({{"name", t.name},
                           {"type", type_name(t.type)},
                           {"type_id", static_cast<uint32_t>(t.type)},
                           {"shape", t.ne},
                           {"offset", t.offset},
                           {"nbytes", t.nbytes}});
    }
    j["tensors"] = std::move(tensors);
    return j;
}

std::string safetensors_info_text(const SafetensorsModel& m) {
    std::string out;
    const auto files = m.files();
    out += fmt::format("path: {}\n", m.path());
    out +=
        fmt::format("format: safetensors, {} file{}\n", files.size(), files.size() == 1 ? "" : "s");
    for (const auto& [k, v] : m.metadata()) out += fmt::format("metadata: {} = {}\n", k, v);

    out += fmt::format("\ntensors ({}):\n", m.tensors().size());
    std::vector<std::vector<std::string>> rows;
    const bool sharded = files.size() > 1;
    rows.push_back({"#", "name", "dtype", "shape", "bytes", "offset"});
    if (sharded) rows[0].push_back("file");
    int64_t n_params = 0;
    uint64_t bytes = 0;
    uint64_t file_bytes = 0;
    for (const auto& file : files) file_bytes += std::filesystem::file_size(file);
    for (size_t i = 0; i < m.tensors().size(); ++i) {
        const SafetensorsTensor& t = m.tensors()[i];
        rows.push_back({std::to_string(i), t.name, safetensors_dtype_name(t.dtype),
                        fmt::format("[{}]", fmt::join(t.shape, ", ")), std::to_string(t.nbytes),
                        std::to_string(t.offset)});
        if (sharded) rows.back().push_back(std::filesystem::path(t.file).filename().string());
        n_params += t.n_elements();
        bytes += t.nbytes;
    }
    out += format_table(rows, {true, false, false, false, true, true, false});
    out += '\n' + totals_line(n_params, bytes, file_bytes);
    return out;
}

ojson safetensors_info_json(const SafetensorsModel& m) {
    ojson j;
    j["format"] = "safetensors";
    j["path"] = m.path();
    j["files"] = m.files();
    j["metadata"] = m.metadata();
    int64_t n_params = 0;
    uint64_t bytes = 0;
    ojson tensors = ojson::array();
    for (const SafetensorsTensor& t : m.tensors()) {
        tensors.push_back({{"name", t.name},
                           {"dtype", safetensors_dtype_name(t.dtype)},
                           {"shape", t.shape},
                           {"file", t.file},
                           {"offset", t.offset},
                           {"nbytes", t.nbytes}});
        n_params += t.n_elements();
        bytes += t.nbytes;
    }
    j["n_parameters"] = n_params;
    j["tensor_bytes"] = bytes;
    j["tensors"] = std::move(tensors);
    return j;
}

std::string model_info(const std::string& path, bool json) {
    if (!std::filesystem::exists(path)) fail("{}: no such file or directory", path);
    if (!std::filesystem::is_directory(path) && looks_like_gguf(path)) {
        const GgufFile f(path);
        return json ? gguf_info_json(f).dump(2, ' ', false, ojson::error_handler_t::replace) + '\n'
                    : gguf_info_text(f);
    }
    const SafetensorsModel m(path);
    return json ? safetensors_info_json(m).dump(2, ' ', false, ojson::error_handler_t::replace) +
                      '\n'
                : safetensors_info_text(m);
}

}  // namespace rf
