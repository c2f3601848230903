// pmemperm/pmemperm.hpp — everything an embedder needs, in one include.
//
// Brings in the vocabulary, the allocator and page_set concepts and every core
// backend. Optional parts have their own headers and are not included here:
// <pmemperm/testing.hpp> (test allocators), <pmemperm/backends/icl.hpp> (needs
// Boost), <pmemperm/study/...> (benchmark helpers).
#pragma once

#include "config.hpp"
#include "types.hpp"
#include "allocator.hpp"
#include "page_set.hpp"
#include "backends/rangeset.hpp"
#include "backends/capped_page.hpp"
#include "backends/flat_bitmap.hpp"
#include "backends/chunked_bitmap.hpp"
#include "backends/hybrid.hpp"
#include "permission_map.hpp"
