// SafetensorsModel: one .safetensors file, or a directory with model.safetensors or a sharded
// checkpoint described by model.safetensors.index.json:
//   {"metadata": {...}, "weight_map": {"<tensor name>": "<shard file name>", ...}}
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"
#include "formats/safetensors/safetensors_file.h"

namespace rf {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

// weight_map of an index file: tensor name -> shard file name.
std::map<std::string, std::string> read_weight_map(const fs::path& index_path) {
    const std::string where = index_path.string();
    std::ifstream in(index_path, std::ios::binary);
    if (!in) fail("safetensors {}: cannot open", where);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(ss.str());
    } catch (const nlohmann::json::exception& e) {
        fail("safetensors {}: index JSON does not parse: {}", where, e.what());
    }
    if (!root.is_object() || !root.contains("weight_map") || !root["weight_map"].is_object())
        fail("safetensors {}: index has no \"weight_map\" object", where);
    std::map<std::string, std::string> map;
    for (const auto& [name, file] : root["weight_map"].items()) {
        if (!file.is_string())
            fail("safetensors {}: weight_map entry '{}' is not a file name string", where, name);
        const std::string& f = file.get_ref<const std::string&>();
        // Shards live beside the index: no directories, no way out of the model folder.
        if (f.empty() || f.find('/') != std::string::npos || f.find('\\') != std::string::npos ||
            f == "." || f == "..")
            fail(
                "safetensors {}: weight_map entry '{}' names shard '{}', which is not a plain "
                "file name",
                where, name, f);
        map.emplace(name, f);
    }
    if (map.empty()) fail("safetensors {}: weight_map is empty", where);
    return map;
}

}  // namespace

SafetensorsModel::SafetensorsModel(const std::string& path) : path_(path) {
    std::error_code ec;
    std::vector<fs::path> files;
    std::map<std::string, std::string> weight_map;
    fs::path index_path;
    if (fs::is_directory(path, ec)) {
        const fs::path dir(path);
        if (fs::exists(dir / kIndexName)) {
            index_path = dir / kIndexName;
            weight_map = read_weight_map(index_path);
            std::set<std::string> shards;
            for (const auto& [name, shard] : weight_map) shards.insert(shard);
            for (const auto& shard : shards) files.push_back(dir / shard);
        } else if (fs::exists(dir / kSingleName)) {
            files.push_back(dir / kSingleName);
        } else {
            fail("safetensors {}: directory has neither {} nor {}", path, kIndexName, kSingleName);
        }
    } else {
        files.emplace_back(path);
    }

    for (const fs::path& file : files) {
        const std::string fname = file.string();
        if (!index_path.empty() && !fs::exists(file))
            fail("safetensors {}: shard '{}' named in the index does not exist",
                 index_path.string(), file.filename().string());
        maps_.push_back(std::make_unique<MappedFile>(fname));
        const MappedFile& m = *maps_.back();
        std::map<std::string, std::string> meta;
        auto shard_tensors = parse_safetensors(m.data(), m.size(), fname, &meta);
        if (maps_.size() == 1) metadata_ = std::move(meta);
        for (auto& t : shard_tensors) {
            if (!index_path.empty()) {
                const auto it = weight_map.find(t.name);
                if (it == weight_map.end())
                    fail("safetensors {}: tensor '{}' of shard '{}' is not in the index",
                         index_path.string(), t.name, file.filename().string());
                if (it->second != file.filename().string())
                    fail("safetensors {}: tensor '{}' is in shard '{}', but the index says '{}'",
                         index_path.string(), t.name, file.filename().string(), it->second);
            }
            if (index_.count(t.name) != 0)
                fail("safetensors {}: tensor '{}' appears in two files ({} and {})", path, t.name,
                     tensors_[index_[t.name]].file, fname);
            index_.emplace(t.name, tensors_.size());
            tensors_.push_back(std::move(t));
        }
    }
    for (const auto& [name, shard] : weight_map) {
        if (index_.count(name) == 0)
            fail(
                "safetensors {}: tensor '{}' is listed in shard '{}', but that shard has no such "
                "tensor",
                index_path.string(), name, shard);
    }
}

std::vector<std::string> SafetensorsModel::files() const {
    std::vector<std::string> out;
    for (const auto& m : maps_) out.push_back(m->path());
    return out;
}

const SafetensorsTensor* SafetensorsModel::find(const std::string& name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
}

const SafetensorsTensor& SafetensorsModel::require(const std::string& name) const {
    const SafetensorsTensor* t = find(name);
    if (t == nullptr) fail("safetensors {}: tensor '{}' is missing", path_, name);
    return *t;
}

}  // namespace rf
