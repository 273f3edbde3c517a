# GGUF interoperability: files we write, and the llama.cpp files, read the same by
# @huggingface/gguf as by our reader. See tests/interop/gguf_interop.cmake to add files.
include(${CMAKE_SOURCE_DIR}/tests/interop/gguf_interop.cmake)

# Files our writer makes: every metadata type (u64/i64/f64/bool, nested arrays) and every tensor
# type at the default and non-default alignments; llama.cpp q8_0 files read by our reader and
# written again by our writer (same alignment, and re-laid out at alignment 64).
set(_dir ${ROCMFORGE_GGUF_INTEROP_DIR}/files)
set(_llamacpp ${ROCMFORGE_SHARED_DIR_FOR_TESTS}/models/llamacpp-gguf)
file(MAKE_DIRECTORY ${_dir})
set(_written "")
set(_setup "")
foreach(_alignment 32 64 4096)
    add_test(NAME gguf_interop_write_every_type_a${_alignment}
        COMMAND rocmforge_format_test_tool write-every-type ${_dir}/every-type-a${_alignment}.gguf ${_alignment})
    list(APPEND _written ${_dir}/every-type-a${_alignment}.gguf)
    list(APPEND _setup gguf_interop_write_every_type_a${_alignment})
endforeach()
if(EXISTS ${_llamacpp}/tiny-qwen3-llamacpp-q8_0.gguf)
    add_test(NAME gguf_interop_rewrite_llamacpp
        COMMAND rocmforge_format_test_tool rewrite ${_llamacpp}/tiny-qwen3-llamacpp-q8_0.gguf
                ${_dir}/rewrite-tiny-qwen3-q8_0.gguf)
    add_test(NAME gguf_interop_rewrite_llamacpp_a64
        COMMAND rocmforge_format_test_tool rewrite ${_llamacpp}/tiny-qwen3moe-llamacpp-q8_0.gguf
                ${_dir}/rewrite-tiny-qwen3moe-q8_0-a64.gguf 64)
    list(APPEND _written ${_dir}/rewrite-tiny-qwen3-q8_0.gguf ${_dir}/rewrite-tiny-qwen3moe-q8_0-a64.gguf)
    list(APPEND _setup gguf_interop_rewrite_llamacpp gguf_interop_rewrite_llamacpp_a64)
endif()
set_tests_properties(${_setup} PROPERTIES FIXTURES_SETUP gguf_interop_files)
rocmforge_gguf_interop_test(our_writer FILES ${_written} FIXTURES gguf_interop_files)

# The llama.cpp files: both parsers read them identically.
if(EXISTS ${_llamacpp})
    file(GLOB _llamacpp_files ${_llamacpp}/*.gguf)
    list(SORT _llamacpp_files)
    rocmforge_gguf_interop_test(llamacpp FILES ${_llamacpp_files})
endif()
