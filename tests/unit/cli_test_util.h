// Runs the rocmforge executable in a subprocess for end-to-end CLI tests.
#pragma once

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "test_paths.h"

namespace rf::test {

struct CliResult {
    int exit_code = -1;
    std::string out;  // stdout
    std::string err;  // stderr
};

// Runs `rocmforge <args>` through /bin/sh (args are shell words), with optional stdin text.
inline CliResult run_cli(const std::string& args, const std::string& stdin_text = "") {
    const auto dir = temp_dir();
    const std::string tag = std::to_string(::getpid());
    const auto in = dir / ("cli_in_" + tag), out = dir / ("cli_out_" + tag), err = dir / ("cli_err_" + tag);
    {
        std::ofstream f(in, std::ios::binary);
        f << stdin_text;
    }
    const std::string cmd = fmt::format("'{}' {} <'{}' >'{}' 2>'{}'", cli_exe().string(), args, in.string(),
                                        out.string(), err.string());
    const int status = std::system(cmd.c_str());
    auto slurp = [](const std::filesystem::path& p) {
        std::ifstream f(p, std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    };
    CliResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
}

inline std::string quote(const std::filesystem::path& p) { return fmt::format("'{}'", p.string()); }

}  // namespace rf::test
