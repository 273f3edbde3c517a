# Third-party dependencies, all from Debian packages (see scripts/install_deps.sh).
# Everything the library needs is gathered in one INTERFACE target: rocmforge_deps.
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)

add_library(rocmforge_deps INTERFACE)
target_link_libraries(rocmforge_deps INTERFACE
    Threads::Threads
    nlohmann_json::nlohmann_json
    CLI11::CLI11
    fmt::fmt
    spdlog::spdlog
    PkgConfig::PCRE2
    PkgConfig::OPENBLAS
    PkgConfig::XXHASH
    PkgConfig::UTF8PROC)
target_compile_definitions(rocmforge_deps INTERFACE PCRE2_CODE_UNIT_WIDTH=8 SPDLOG_FMT_EXTERNAL)
