# Settings for pmemperm's own tests, examples and benchmarks; never applied to the
# pmemperm target itself, so consumers inherit no warning or sanitizer flags.

# The warning set every program of the project builds clean with.
set(PMEMPERM_WARNINGS -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror)

# pmemperm_add_program(<target>): the pmemperm target, strict ISO C++ (no GNU
# extensions), the warning set and the sanitizers of PMEMPERM_SANITIZE for one of
# the project's executables.
function(pmemperm_add_program target)
  target_link_libraries(${target} PRIVATE pmemperm::pmemperm)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE ${PMEMPERM_WARNINGS})
  if(PMEMPERM_SANITIZE)
    set(flags -fsanitize=${PMEMPERM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_compile_options(${target} PRIVATE ${flags})
    target_link_options(${target} PRIVATE ${flags})
  endif()
endfunction()
