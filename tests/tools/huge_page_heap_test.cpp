#include "huge_page_heap.hpp"

#include <cstdint>
#include <fstream>
#include <string>

#include <doctest/doctest.h>

namespace {

/// Whether /proc/self/smaps has a mapping containing `address` whose
/// VmFlags include `hg` (advised for transparent huge pages).
bool advised_for_huge_pages(std::uintptr_t address) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    char dash = 0;
    if (std::sscanf(line.c_str(), "%lx%c%lx", &begin, &dash, &end) == 3
        && dash == '-') {
      inside = begin <= address && address < end;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line.find(" hg") != std::string::npos;
    }
  }
  return false;
}

} // namespace

// Sanitizers bring their own allocator: glibc's heap is not theirs.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ORMO_OWN_ALLOCATOR 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ORMO_OWN_ALLOCATOR 1
#endif

#if defined(__GLIBC__) && defined(__linux__) && !defined(ORMO_OWN_ALLOCATOR)
TEST_CASE("huge_page_heap: the heap's reserve is advised for huge pages and "
          "serves later allocations") {
  constexpr std::size_t reserve = std::size_t{64} << 20;
  REQUIRE(ormo::tools::serve_heap_from_huge_pages(reserve));
  // A block below 32 MiB (larger than any free one this test process had):
  // from the heap's advised reserve, not from a mapping of its own.
  std::string buffer(std::size_t{8} << 20, 'x');
  CHECK(advised_for_huge_pages(
    reinterpret_cast<std::uintptr_t>(buffer.data() + buffer.size() / 2)));
  CHECK_FALSE(
    advised_for_huge_pages(reinterpret_cast<std::uintptr_t>(&buffer)));
}
#endif

TEST_CASE("huge_page_heap: a reserve below two huge pages changes nothing") {
  CHECK_FALSE(ormo::tools::serve_heap_from_huge_pages(1 << 20));
}
