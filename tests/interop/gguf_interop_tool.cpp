// Test helper for the GGUF interoperability check (tests/interop/gguf_interop_check.cmake); not
// part of the rocmforge CLI.
//
//   rocmforge_gguf_interop_tool write-every-type OUT.gguf ALIGNMENT
//       every metadata value type, nested arrays, one tensor of every type (our writer)
//   rocmforge_gguf_interop_tool rewrite IN.gguf OUT.gguf [ALIGNMENT]
//       read IN with our reader, write it again with our writer
//   rocmforge_gguf_interop_tool compare OURS.json THEIRS.json
//       OURS: `rocmforge info --json`; THEIRS: tests/node/gguf_dump.mjs. Compares version,
//       alignment, data offset, metadata (keys in order, values exactly, types) and tensors
//       (name, type id, shape, offset). Prints the differences; exit 1 if there are any.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "../common/gguf_fixtures.h"
#include "core/error.h"

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
        if (ours != theirs) add(where + ": rocmforge " + show(ours) + ", @huggingface/gguf " + show(theirs));
    }
    void add(const std::string& what) {
        if (list_.size() < 40) list_.push_back(what);
        ++count_;
    }
    size_t count() const { return count_; }
    void print() const {
        for (const auto& d : list_) std::fprintf(stderr, "  %s\n", d.c_str());
        if (count_ > list_.size()) std::fprintf(stderr, "  ... and %zu more\n", count_ - list_.size());
    }

private:
    std::vector<std::string> list_;
    size_t count_ = 0;
};

int compare(const std::string& ours_path, const std::string& theirs_path) {
    const ojson ours = load(ours_path);
    const ojson theirs = load(theirs_path);
    Differences d;
    for (const char* field : {"version", "alignment", "data_offset"}) d.check(field, ours.at(field), theirs.at(field));

    const ojson& om = ours.at("metadata");
    const ojson& tm = theirs.at("metadata");
    std::vector<std::string> okeys, tkeys;
    for (const auto& [k, v] : om.items()) okeys.push_back(k);
    for (const auto& [k, v] : tm.items()) tkeys.push_back(k);
    if (okeys != tkeys) {
        d.add(fmt::format("metadata keys differ: rocmforge has {} keys, @huggingface/gguf {}", okeys.size(),
                          tkeys.size()));
        for (size_t i = 0; i < std::max(okeys.size(), tkeys.size()); ++i) {
            const std::string a = i < okeys.size() ? okeys[i] : "(none)";
            const std::string b = i < tkeys.size() ? tkeys[i] : "(none)";
            if (a != b) d.add(fmt::format("  key #{}: rocmforge '{}', @huggingface/gguf '{}'", i, a, b));
        }
    }
    for (const auto& key : okeys) {
        if (!tm.contains(key)) continue;
        d.check("metadata '" + key + "'", om.at(key), tm.at(key));
        d.check("type of '" + key + "'", ours.at("metadata_types").at(key), theirs.at("metadata_types").at(key));
    }

    const ojson& ot = ours.at("tensors");
    const ojson& tt = theirs.at("tensors");
    if (ot.size() != tt.size()) d.add(fmt::format("tensor count: rocmforge {}, @huggingface/gguf {}", ot.size(), tt.size()));
    for (size_t i = 0; i < std::min(ot.size(), tt.size()); ++i) {
        const std::string where = fmt::format("tensor #{} '{}'", i, ot[i].at("name").get<std::string>());
        for (const char* field : {"name", "type_id", "shape", "offset"})
            d.check(where + " " + field, ot[i].at(field), tt[i].at(field));
    }

    if (d.count() > 0) {
        std::fprintf(stderr, "%s vs %s: %zu differences\n", ours_path.c_str(), theirs_path.c_str(), d.count());
        d.print();
        return 1;
    }
    std::printf("identical: version %s, alignment %s, %zu metadata keys, %zu tensors\n", ours.at("version").dump().c_str(),
                ours.at("alignment").dump().c_str(), okeys.size(), ot.size());
    return 0;
}

uint64_t parse_alignment(const std::string& s) {
    try {
        return std::stoull(s);
    } catch (const std::exception&) {
        rf::fail("alignment '{}' is not a number", s);
    }
}

int usage() {
    std::fprintf(stderr,
                 "usage: rocmforge_gguf_interop_tool write-every-type OUT.gguf ALIGNMENT\n"
                 "       rocmforge_gguf_interop_tool rewrite IN.gguf OUT.gguf [ALIGNMENT]\n"
                 "       rocmforge_gguf_interop_tool compare OURS.json THEIRS.json\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() == 3 && args[0] == "write-every-type") {
            rf::test::every_type_writer(parse_alignment(args[2])).write(args[1]);
            return 0;
        }
        if ((args.size() == 3 || args.size() == 4) && args[0] == "rewrite") {
            const rf::GgufFile f(args[1]);
            rf::test::copy_to_writer(f, args.size() == 4 ? parse_alignment(args[3]) : 0).write(args[2]);
            return 0;
        }
        if (args.size() == 3 && args[0] == "compare") return compare(args[1], args[2]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return usage();
}
