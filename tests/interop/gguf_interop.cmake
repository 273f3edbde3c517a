# GGUF interoperability with an independent parser (@huggingface/gguf, tests/node).
#
#   rocmforge_gguf_interop_test(<name> FILES <file.gguf>... [FIXTURES <fixture>...])
#
# registers the test gguf_interop_<name>: for every file, `rocmforge info --json` and
# tests/node/gguf_dump.mjs must agree on version, alignment, data offset, metadata (keys, order,
# values, types) and the tensor table (names, types, shapes, offsets). Files produced by other
# tests (a converter run, our writer) are made by CTest fixture setup tests named in FIXTURES.
# Include this file from any tests/scripts/*.cmake; it defines things once.
include_guard(GLOBAL)

find_program(ROCMFORGE_NODE node)

# The helper that writes test files with our writer and compares the two JSON dumps.
include(${CMAKE_SOURCE_DIR}/tests/tools/format_test_tool.cmake)

set(ROCMFORGE_GGUF_INTEROP_DIR ${CMAKE_BINARY_DIR}/test_tmp/gguf_interop)

# The fixtures (../shared, or $ROCMFORGE_SHARED_DIR at the first configure), as the unit tests find
# them (tests/unit/test_paths.h). Cached, so that a re-configure run by the build keeps it.
if(DEFINED ENV{ROCMFORGE_SHARED_DIR})
    set(_shared_default $ENV{ROCMFORGE_SHARED_DIR})
else()
    get_filename_component(_shared_default ${CMAKE_SOURCE_DIR}/../shared ABSOLUTE)
endif()
set(ROCMFORGE_SHARED_DIR_FOR_TESTS ${_shared_default} CACHE PATH "Test fixtures (models, tokenizers)")

function(rocmforge_gguf_interop_test name)
    cmake_parse_arguments(ARG "" "" "FILES;FIXTURES" ${ARGN})
    if(NOT ROCMFORGE_NODE)
        message(STATUS "node not found: GGUF interop test '${name}' is not registered")
        return()
    endif()
    # A list cannot pass through add_test's command line (';' splits arguments).
    string(REPLACE ";" "|" files "${ARG_FILES}")
    add_test(NAME gguf_interop_${name}
        COMMAND ${CMAKE_COMMAND}
            -DRF_EXE=$<TARGET_FILE:rocmforge>
            -DTOOL=$<TARGET_FILE:rocmforge_format_test_tool>
            -DNODE=${ROCMFORGE_NODE}
            -DNODE_DIR=${CMAKE_SOURCE_DIR}/tests/node
            -DWORK_DIR=${ROCMFORGE_GGUF_INTEROP_DIR}/${name}
            -DFILES=${files}
            -P ${CMAKE_SOURCE_DIR}/tests/interop/gguf_interop_check.cmake)
    set_tests_properties(gguf_interop_${name} PROPERTIES TIMEOUT 300 LABELS "interop")
    if(ARG_FIXTURES)
        set_tests_properties(gguf_interop_${name} PROPERTIES FIXTURES_REQUIRED "${ARG_FIXTURES}")
    endif()
endfunction()
