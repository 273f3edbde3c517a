# One warning policy for every target of the project. CI builds with -DROCMFORGE_WERROR=ON.
function(rocmforge_set_warnings target)
    target_compile_options(${target} PRIVATE
        $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wshadow=local -Wno-unused-parameter -Wnon-virtual-dtor>)
    if(ROCMFORGE_WERROR)
        target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
    endif()
endfunction()
