// Test helper for format tests (the GGUF interop check in tests/interop, the fuzz seed corpora in
// fuzz/corpus); not part of the rocmforge CLI.
//
//   rocmforge_format_test_tool write-every-type OUT.gguf ALIGNMENT
//       every metadata value type, nested arrays, one tensor of every type (our writer)
//   rocmforge_format_test_tool rewrite IN.gguf OUT.gguf [ALIGNMENT]
//       read IN with our reader, write it again with our writer
//   rocmforge_format_test_tool compare OURS.json THEIRS.json
//       OURS: `rocmforge info --json`; THEIRS: tests/node/gguf_dump.mjs. Compares version,
//       alignment, data offset, metadata (keys in order, values exactly, types) and tensors
//       (name, type id, shape, offset). Prints the differences; exit 1 if there are any.
//   rocmforge_format_test_tool minimise-gguf IN.gguf OUT.gguf MAX_TENSORS
//       a small copy for a fuzz seed: arrays cut to 8 elements, strings to 64 bytes, the first
//       MAX_TENSORS tensors shrunk to one block by at most 2 x 2 x 2
//   rocmforge_format_test_tool minimise-safetensors IN OUT.safetensors MAX_TENSORS
//       the same for safetensors (IN: file or model directory): dims cut to at most 4
//   rocmforge_format_test_tool every-dtype-safetensors OUT.safetensors
//       one small tensor of every safetensors dtype
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../common/gguf_fixtures.h"
#include "core/error.h"
#include "formats/safetensors/safetensors_file.h"

namespace {

using ojson = nlohmann::ordered_json;

ojson load(const std::string& path) {
    std::ifstream in(path);
    if (!in) rf::fail("{}: cannot open", path);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return ojson::parse(ss.str());
    } catch (const std::exception& e) {
        rf::fail("{}: not JSON: {}", path, e.what());
    }
}

std::string show(const ojson& j) {
    std::string s = j.dump(-1, ' ', false, ojson::error_handler_t::replace);
    return s.size() > 200 ? s.substr(0, 197) + "..." : s;
}

class Differences {
  public:
    void check(const std::string& where, const ojson& ours, const ojson& theirs) {
        // nlohmann compares numbers by value across integer/unsigned/float kinds, so 1 (u32) and
        // 1.0 compare equal, and an f32 widened to double must match bit for bit.
        if (ours != theirs)
            add(where + ": rocmforge " + show(ours) + ", @huggingface/gguf " + show(theirs));
    }
    void add(const std::string& what) {
        if (list_.size() < 40) list_.push_back(what);
        ++count_;
    }
    size_t count() const { return count_; }
    void print() const {
        for (const auto& d : list_) std::fprintf(stderr, "  %s\n", d.c_str());
        if (count_ > list_.size())
            std::fprintf(stderr, "  ... and %zu more\n", count_ - list_.size());
    }

  private:
    std::vector<std::string> list_;
    size_t count_ = 0;
};

int compare(const std::string& ours_path, const std::string& theirs_path) {
    const ojson ours = load(ours_path);
    const ojson theirs = load(theirs_path);
    Differences d;
    for (const char* field : {"version", "alignment", "data_offset"})
        d.check(field, ours.at(field), theirs.at(field));

    const ojson& om = ours.at("metadata");
    const ojson& tm = theirs.at("metadata");
    std::vector<std::string> okeys, tkeys;
    for (const auto& [k, v] : om.items()) okeys.push_back(k);
    for (const auto& [k, v] : tm.items()) tkeys.push_back(k);
    if (okeys != tkeys) {
        d.add(fmt::format("metadata keys differ: rocmforge has {} keys, @huggingface/gguf {}",
                          okeys.size(), tkeys.size()));
        for (size_t i = 0; i < std::max(okeys.size(), tkeys.size()); ++i) {
            const std::string a = i < okeys.size() ? okeys[i] : "(none)";
            const std::string b = i < tkeys.size() ? tkeys[i] : "(none)";
            if (a != b)
                d.add(fmt::format("  key #{}: rocmforge '{}', @huggingface/gguf '{}'", i, a, b));
        }
    }
    for (const auto& key : okeys) {
        if (!tm.contains(key)) continue;
        d.check("metadata '" + key + "'", om.at(key), tm.at(key));
        d.check("type of '" + key + "'", ours.at("metadata_types").at(key),
                theirs.at("metadata_types").at(key));
    }

    const ojson& ot = ours.at("tensors");
    const ojson& tt = theirs.at("tensors");
    if (ot.size() != tt.size())
        d.add(
            fmt::format("tensor count: rocmforge {}, @huggingface/gguf {}", ot.size(), tt.size()));
    for (size_t i = 0; i < std::min(ot.size(), tt.size()); ++i) {
        const std::string where =
            fmt::format("tensor #{} '{}'", i, ot[i].at("name").get<std::string>());
        for (const char* field : {"name", "type_id", "shape", "offset"})
            d.check(where + " " + field, ot[i].at(field), tt[i].at(field));
    }

    if (d.count() > 0) {
        std::fprintf(stderr, "%s vs %s: %zu differences\n", ours_path.c_str(), theirs_path.c_str(),
                     d.count());
        d.print();
        return 1;
    }
    std::printf("identical: version %s, alignment %s, %zu metadata keys, %zu tensors\n",
                ours.at("version").dump().c_str(), ours.at("alignment").dump().c_str(),
                okeys.size(), ot.size());
    return 0;
}

uint64_t parse_number(const std::string& s) {
    try {
        return std::stoull(s);
    } catch (const std::exception&) {
        rf::fail("'{}' is not a number", s);
    }
}

// ---- fuzz seeds ----

rf::GgufArray shorten(const rf::GgufArray& a, size_t max_items, size_t max_bytes) {
    rf::GgufArray out;
    out.elem_type = a.elem_type;
    std::visit(
        [&](const auto& vec) {
            using Vec = std::decay_t<decltype(vec)>;
            Vec cut(vec.begin(),
                    vec.begin() + static_cast<std::ptrdiff_t>(std::min(vec.size(), max_items)));
            if constexpr (std::is_same_v<Vec, std::vector<std::string>>) {
                for (auto& x : cut) x.resize(std::min(x.size(), max_bytes));
            } else if constexpr (std::is_same_v<Vec, std::vector<rf::GgufArray>>) {
                for (auto& x : cut) x = shorten(x, max_items, max_bytes);
            }
            out.values = std::move(cut);
        },
        a.values);
    return out;
}

void minimise_gguf(const std::string& in, const std::string& out, size_t max_tensors) {
    constexpr size_t kItems = 8;
    constexpr size_t kBytes = 64;
    const rf::GgufFile f(in);
    rf::GgufWriter w(f.alignment());
    for (const auto& [key, value] : f.metadata()) {
        if (const rf::GgufArray* a = value.as_array()) {
            w.set(key, rf::GgufValue(rf::GgufType::ARRAY,
                                     std::make_shared<rf::GgufArray>(shorten(*a, kItems, kBytes))));
        } else if (const std::string* str = value.as_string()) {
            w.set(key, rf::GgufValue(rf::GgufType::STRING, str->substr(0, kBytes)));
        } else {
            w.set(key, value);
        }
    }
    for (size_t i = 0; i < std::min(max_tensors, f.tensors().size()); ++i) {
        const rf::GgufTensorInfo& t = f.tensors()[i];
        std::vector<int64_t> ne = t.ne;
        ne[0] = rf::block_size(t.type);
        for (size_t d = 1; d < ne.size(); ++d) ne[d] = std::min<int64_t>(ne[d], 2);
        const uint8_t* src = t.data;
        w.add_tensor(t.name, t.type, ne,
                     [src](uint8_t* dst, size_t n) { std::memcpy(dst, src, n); });
    }
    w.write(out);
}

void write_safetensors(const std::string& out, const nlohmann::json& header,
                       const std::vector<uint8_t>& data) {
    const std::string text = header.dump();
    const uint64_t n = text.size();
    std::ofstream f(out, std::ios::binary);
    f.write(reinterpret_cast<const char*>(&n), 8);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!f) rf::fail("{}: write failed", out);
}

void minimise_safetensors(const std::string& in, const std::string& out, size_t max_tensors) {
    const rf::SafetensorsModel m(in);
    nlohmann::json header;
    header["__metadata__"] = m.metadata();
    std::vector<uint8_t> data;
    for (size_t i = 0; i < std::min(max_tensors, m.tensors().size()); ++i) {
        const rf::SafetensorsTensor& t = m.tensors()[i];
        std::vector<int64_t> shape = t.shape;
        size_t n = 1;
        for (auto& d : shape) n *= static_cast<size_t>(d = std::min<int64_t>(d, 4));
        const size_t nbytes = n * rf::safetensors_dtype_size(t.dtype);
        header[t.name] = {{"dtype", rf::safetensors_dtype_name(t.dtype)},
                          {"shape", shape},
                          {"data_offsets", {data.size(), data.size() + nbytes}}};
        data.insert(data.end(), t.data, t.data + nbytes);
    }
    write_safetensors(out, header, data);
}

void every_dtype_safetensors(const std::string& out) {
    nlohmann::json header;
    header["__metadata__"] = {{"format", "pt"}};
    std::vector<uint8_t> data;
    uint32_t seed = 1;
    for (auto dt : {rf::SafetensorsDType::F32, rf::SafetensorsDType::F16,
                    rf::SafetensorsDType::BF16, rf::SafetensorsDType::F64,
                    rf::SafetensorsDType::I64, rf::SafetensorsDType::I32, rf::SafetensorsDType::I16,
                    rf::SafetensorsDType::I8, rf::SafetensorsDType::U8, rf::SafetensorsDType::BOOL,
                    rf::SafetensorsDType::U16, rf::SafetensorsDType::U32, rf::SafetensorsDType::U64,
                    rf::SafetensorsDType::F8_E4M3, rf::SafetensorsDType::F8_E5M2}) {
        const size_t nbytes = 6 * rf::safetensors_dtype_size(dt);
        header[std::string("t.") + rf::safetensors_dtype_name(dt)] = {
            {"dtype", rf::safetensors_dtype_name(dt)},
            {"shape", {2, 3}},
            {"data_offsets", {data.size(), data.size() + nbytes}}};
        const size_t at = data.size();
        data.resize(at + nbytes);
        if (dt == rf::SafetensorsDType::BOOL) {
            for (size_t i = 0; i < nbytes; ++i) data[at + i] = i % 2;
        } else {
            rf::test::fill_pattern(data.data() + at, nbytes, seed++);
        }
    }
    header["scalar"] = {{"dtype", "F32"},
                        {"shape", nlohmann::json::array()},
                        {"data_offsets", {data.size(), data.size() + 4}}};
    data.insert(data.end(), {0, 0, 128, 63});
    header["empty"] = {
        {"dtype", "F32"}, {"shape", {0, 5}}, {"data_offsets", {data.size(), data.size()}}};
    write_safetensors(out, header, data);
}

int usage() {
    std::fprintf(
        stderr,
        "usage: rocmforge_format_test_tool write-every-type OUT.gguf ALIGNMENT\n"
        "       rocmforge_format_test_tool rewrite IN.gguf OUT.gguf [ALIGNMENT]\n"
        "       rocmforge_format_test_tool compare OURS.json THEIRS.json\n"
        "       rocmforge_format_test_tool minimise-gguf IN.gguf OUT.gguf MAX_TENSORS\n"
        "       rocmforge_format_test_tool minimise-safetensors IN OUT.safetensors MAX_TENSORS\n"
        "       rocmforge_format_test_tool every-dtype-safetensors OUT.safetensors\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 3 && args[0] == "write-every-type") {
            rf::test::every_type_writer(parse_number(args[2])).write(args[1]);
            return 0;
        }
        if ((args.size() == 3 || args.size() == 4) && args[0] == "rewrite") {
            const rf::GgufFile f(args[1]);
            rf::test::copy_to_writer(f, args.size() == 4 ? parse_number(args[3]) : 0)
                .write(args[2]);
            return 0;
        }
        if (args.size() == 3 && args[0] == "compare") return compare(args[1], args[2]);
        if (args.size() == 4 && args[0] == "minimise-gguf") {
            minimise_gguf(args[1], args[2], parse_number(args[3]));
            return 0;
        }
        if (args.size() == 4 && args[0] == "minimise-safetensors") {
            minimise_safetensors(args[1], args[2], parse_number(args[3]));
            return 0;
        }
        if (args.size() == 2 && args[0] == "every-dtype-safetensors") {
            every_dtype_safetensors(args[1]);
            return 0;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return usage();
}
