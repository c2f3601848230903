# The comparators of docs/design.md, "Targets", each optional, for the study and the
# benchmarks: a program builds with whichever are found and says which are missing
# (PMEMPERM_BENCH_HAVE_* macros). Boost.ICL: libboost-dev; CRoaring: libroaring-dev;
# Abseil: libabsl-dev (only absl::btree is used).

find_package(Boost 1.74 QUIET)
find_package(roaring CONFIG QUIET)
find_package(absl CONFIG QUIET)

# pmemperm_link_comparators(<target>): link what was found, define the macros, and
# switch the malloc-level heap meter (bench/support/heap_meter.hpp) off where it
# cannot work: under sanitizers, which replace malloc themselves, and off Linux.
function(pmemperm_link_comparators target)
  set(have_icl 0)
  set(have_roaring 0)
  set(have_absl 0)
  if(Boost_FOUND)
    set(have_icl 1)
    target_link_libraries(${target} PRIVATE Boost::headers)
  endif()
  if(TARGET roaring::roaring)
    set(have_roaring 1)
    target_link_libraries(${target} PRIVATE roaring::roaring)
  endif()
  if(TARGET absl::btree)
    set(have_absl 1)
    target_link_libraries(${target} PRIVATE absl::btree)
  endif()
  target_compile_definitions(${target} PRIVATE
    PMEMPERM_BENCH_HAVE_ICL=${have_icl}
    PMEMPERM_BENCH_HAVE_ROARING=${have_roaring}
    PMEMPERM_BENCH_HAVE_ABSL=${have_absl})
  if(PMEMPERM_SANITIZE OR NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
    target_compile_definitions(${target} PRIVATE PMEMPERM_BENCH_HEAP_HOOKS=0)
  endif()
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/bench)
endfunction()

get_property(_pmemperm_reported GLOBAL PROPERTY PMEMPERM_COMPARATORS_REPORTED)
if(NOT _pmemperm_reported)
  set_property(GLOBAL PROPERTY PMEMPERM_COMPARATORS_REPORTED TRUE)
  if(NOT Boost_FOUND)
    message(STATUS "pmemperm: Boost headers not found, the study and benchmarks run without Boost.ICL (install libboost-dev)")
  endif()
  if(NOT TARGET roaring::roaring)
    message(STATUS "pmemperm: CRoaring not found, the study and benchmarks run without it (install libroaring-dev)")
  endif()
  if(NOT TARGET absl::btree)
    message(STATUS "pmemperm: Abseil not found, the study and benchmarks run without absl::btree_map (install libabsl-dev)")
  endif()
endif()
