# Files `rocmforge convert hf` writes, read by an independent parser: @huggingface/gguf must see
# the same metadata and tensor table as `rocmforge info --json` (tests/interop/gguf_interop.cmake)
# in the q8_0 conversions of the three shared models and the q4_k_m of tiny-qwen3. The CLI runs
# that write them are fixture setup tests, so they also cover `convert hf` end to end; the q8_0
# of tiny-qwen3 must equal the committed default model (models/tiny-qwen3-q8_0.gguf).
include(${CMAKE_SOURCE_DIR}/tests/interop/gguf_interop.cmake)

set(_models ${ROCMFORGE_SHARED_DIR_FOR_TESTS}/models)
if(EXISTS ${_models}/tiny-qwen3)
    set(_dir ${ROCMFORGE_GGUF_INTEROP_DIR}/converted)
    file(MAKE_DIRECTORY ${_dir})
    set(_files "")
    set(_setup "")
    foreach(_conv tiny-qwen3:q8_0 tiny-qwen3moe:q8_0 tiny-qwen35moe:q8_0 tiny-qwen3:q4_k_m)
        string(REPLACE ":" ";" _parts ${_conv})
        list(GET _parts 0 _model)
        list(GET _parts 1 _type)
        add_test(NAME convert_cli_${_model}_${_type}
            COMMAND rocmforge convert hf ${_models}/${_model} ${_dir}/${_model}-${_type}.gguf
                    --type ${_type})
        list(APPEND _files ${_dir}/${_model}-${_type}.gguf)
        list(APPEND _setup convert_cli_${_model}_${_type})
    endforeach()
    set_tests_properties(${_setup} PROPERTIES FIXTURES_SETUP convert_interop_files)
    rocmforge_gguf_interop_test(converted FILES ${_files} FIXTURES convert_interop_files)

    add_test(NAME convert_default_model_up_to_date
        COMMAND ${CMAKE_COMMAND} -E compare_files ${CMAKE_SOURCE_DIR}/models/tiny-qwen3-q8_0.gguf
                ${_dir}/tiny-qwen3-q8_0.gguf)
    set_tests_properties(convert_default_model_up_to_date PROPERTIES
        FIXTURES_REQUIRED convert_interop_files)
endif()
