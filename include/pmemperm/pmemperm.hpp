// pmemperm/pmemperm.hpp — everything an embedder needs, in one include.
//
// Brings in the vocabulary, the allocator, page_set and visitor concepts
// (range_visitor, visitor_of) and every core backend. config.hpp comes first, as in
// every public header: below C++20 it stops with one #error. Optional parts have
// their own headers and are not included here: <pmemperm/synchronized.hpp> (the
// reader/writer wrapper, std::shared_mutex by default), <pmemperm/testing.hpp>
// (test allocators), <pmemperm/backends/icl.hpp> (needs Boost),
// <pmemperm/study/...> (benchmark helpers).
#pragma once

#include "config.hpp"  // first: below C++20 it stops with one #error
#include "types.hpp"
#include "allocator.hpp"
#include "detail/visitor.hpp"
#include "page_set.hpp"
#include "backends/rangeset.hpp"
#include "backends/capped_page.hpp"
#include "backends/flat_bitmap.hpp"
#include "backends/chunked_bitmap.hpp"
#include "backends/hybrid.hpp"
#include "permission_map.hpp"
