# Installs the configured pmemperm build tree into a fresh prefix for the consumer
# tests and checks the package files landed where the consumers will look.
# Usage: cmake -D PREFIX=<dir> -D BUILD_DIR=<pmemperm build dir>
#              -D INCLUDE_DIR=<rel> -D CMAKE_DIR=<rel> -D PC_DIR=<rel> -P install.cmake
foreach(var PREFIX BUILD_DIR INCLUDE_DIR CMAKE_DIR PC_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "install.cmake: -D ${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${PREFIX}")
execute_process(
  COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}"
  RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${result})")
endif()

foreach(file
    ${INCLUDE_DIR}/pmemperm/config.hpp
    ${INCLUDE_DIR}/pmemperm/page_set.hpp
    ${CMAKE_DIR}/pmemperm-config.cmake
    ${CMAKE_DIR}/pmemperm-config-version.cmake
    ${CMAKE_DIR}/pmemperm-targets.cmake
    ${PC_DIR}/pmemperm.pc)
  if(NOT EXISTS "${PREFIX}/${file}")
    message(FATAL_ERROR "the installed tree lacks ${file}")
  endif()
endforeach()
message(STATUS "pmemperm installed into ${PREFIX}")
