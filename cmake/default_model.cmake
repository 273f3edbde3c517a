# Embeds the default model (a small GGUF committed under models/) into rocmforge_lib with an
# assembler .incbin, so `rocmforge run` works with no -m and no files beside the binary.
set(ROCMFORGE_DEFAULT_MODEL "${CMAKE_SOURCE_DIR}/models/tiny-qwen3-q8_0.gguf" CACHE FILEPATH
    "GGUF file embedded as the default model (empty: none)")
if(ROCMFORGE_DEFAULT_MODEL AND EXISTS "${ROCMFORGE_DEFAULT_MODEL}")
    enable_language(ASM)
    get_filename_component(_model_name "${ROCMFORGE_DEFAULT_MODEL}" NAME)
    set(_blob "${CMAKE_BINARY_DIR}/default_model_blob.S")
    file(WRITE "${_blob}.in"
"    .section .rodata
    .global rf_default_model_data
    .balign 64
rf_default_model_data:
    .incbin \"${ROCMFORGE_DEFAULT_MODEL}\"
    .global rf_default_model_end
rf_default_model_end:
    .byte 0
    .section .note.GNU-stack,\"\",@progbits
")
    configure_file("${_blob}.in" "${_blob}" COPYONLY)
    set_source_files_properties("${_blob}" PROPERTIES OBJECT_DEPENDS "${ROCMFORGE_DEFAULT_MODEL}")
    target_sources(rocmforge_lib PRIVATE "${_blob}")
    target_compile_definitions(rocmforge_lib PRIVATE ROCMFORGE_DEFAULT_MODEL_NAME="${_model_name}")
    message(STATUS "rocmforge: embedded default model ${_model_name}")
else()
    message(STATUS "rocmforge: no default model embedded (${ROCMFORGE_DEFAULT_MODEL} not found)")
endif()
