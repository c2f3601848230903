// tests/support/allocators.hpp — an allocator that audits every call.
//
// tracking_allocator forwards to new_allocator and records each live block with the
// size and alignment it was allocated with, so it can tell when a backend returns a
// block with another size or alignment, frees something twice or never allocated,
// asks for 0 bytes or for an alignment that is not a power of two. It also keeps an
// alloc_stats, so memory_bytes() can be compared with its live bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include <pmemperm/allocator.hpp>
#include <pmemperm/testing.hpp>

namespace pmemperm::test {

struct allocation_audit {
  alloc_stats stats;
  std::map<const void*, std::pair<std::size_t, std::size_t>> blocks;  // live: size, alignment
  std::uint64_t zero_sized = 0, bad_alignment = 0, misaligned = 0, unknown_frees = 0, mismatched_frees = 0;

  /// "" when every call so far was well-formed, else what was not.
  [[nodiscard]] std::string problems() const {
    std::string out;
    const auto note = [&out](std::uint64_t n, const char* what) {
      if (n != 0) out += std::to_string(n) + " " + what + "; ";
    };
    note(zero_sized, "allocations of 0 bytes");
    note(bad_alignment, "alignments that are not a power of two");
    note(misaligned, "blocks not aligned as asked");
    note(unknown_frees, "frees of blocks not allocated (or freed twice)");
    note(mismatched_frees, "frees with another size or alignment than allocated");
    return out;
  }
};

class tracking_allocator {
 public:
  explicit tracking_allocator(allocation_audit& a) noexcept : audit_(&a) {}

  [[nodiscard]] void* allocate(std::size_t bytes, std::size_t align) noexcept {
    if (bytes == 0) ++audit_->zero_sized;
    if (align == 0 || (align & (align - 1)) != 0) {
      ++audit_->bad_alignment;
      return nullptr;
    }
    void* p = new_allocator{}.allocate(bytes == 0 ? 1 : bytes, align);
    if (p == nullptr) return nullptr;
    if (reinterpret_cast<std::uintptr_t>(p) % align != 0) ++audit_->misaligned;
    audit_->blocks.emplace(p, std::make_pair(bytes, align));
    ++audit_->stats.allocations;
    ++audit_->stats.attempts;
    audit_->stats.live_bytes += bytes;
    if (audit_->stats.live_bytes > audit_->stats.peak_bytes) audit_->stats.peak_bytes = audit_->stats.live_bytes;
    return p;
  }

  void deallocate(void* p, std::size_t bytes, std::size_t align) noexcept {
    ++audit_->stats.deallocations;
    const auto it = audit_->blocks.find(p);
    if (it == audit_->blocks.end()) {
      ++audit_->unknown_frees;
      return;  // freeing it would be undefined behaviour; the audit reports it
    }
    if (it->second != std::make_pair(bytes, align)) ++audit_->mismatched_frees;
    new_allocator{}.deallocate(p, it->second.first == 0 ? 1 : it->second.first, it->second.second);
    audit_->stats.live_bytes -= it->second.first;
    audit_->blocks.erase(it);
  }

 private:
  allocation_audit* audit_;
};

static_assert(byte_allocator<tracking_allocator>);

}  // namespace pmemperm::test
