#include "huge_page_heap.hpp"

#include <cstdint>

#if defined(__GLIBC__) && defined(__linux__)
#include <climits>
#include <cstdlib>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace ormo::tools {

bool serve_heap_from_huge_pages(std::size_t reserve) {
#if defined(__GLIBC__) && defined(__linux__)
  constexpr std::uintptr_t huge_page = std::uintptr_t{2} << 20;
  if (reserve < 2 * huge_page || reserve > static_cast<std::size_t>(INT_MAX))
    return false;
  // One heap for every thread (glibc's per-thread arenas are mapped apart,
  // in pieces the kernel would not back with huge pages), never trimmed,
  // holding every block below glibc's largest mmap threshold, and grown by
  // `reserve` at once: that growth is the region advised below.
  if (mallopt(M_ARENA_MAX, 1) == 0 || mallopt(M_TRIM_THRESHOLD, INT_MAX) == 0
      || mallopt(M_MMAP_THRESHOLD, 32 << 20) == 0
      || mallopt(M_TOP_PAD, static_cast<int>(reserve)) == 0)
    return false;
  auto begin = reinterpret_cast<std::uintptr_t>(sbrk(0));
  void* grow = std::malloc(1 << 20);
  std::free(grow);
  auto end = reinterpret_cast<std::uintptr_t>(sbrk(0));
  // Later growth in glibc's default steps: a reserve the kernel refused
  // (strict overcommit) must not be asked for again on every growth.
  mallopt(M_TOP_PAD, 128 << 10);
  if (grow == nullptr || begin == UINTPTR_MAX || end - begin < reserve)
    return false;
  begin = (begin + huge_page - 1) & ~(huge_page - 1);
  end &= ~(huge_page - 1);
  return madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE)
         == 0;
#else
  (void)reserve;
  return false;
#endif
}

} // namespace ormo::tools
