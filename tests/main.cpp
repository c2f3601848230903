// The test runner's entry point. Every test_*.cpp next to this file is linked into
// the one pmemperm_tests executable; this translation unit only provides main().
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
