// Serving a training process's buffers from transparent huge pages.
//
// A run allocates buffers of d floats per worker (its gradient, the
// parameter version it computes on) and touches them fresh: with 4 KiB
// pages every first touch is a page fault, about 12 microseconds each in
// the virtual machine we measure on. On 2 MiB pages the kernel maps 512
// times fewer, and the TLB misses on parameter versions that left the
// cache fall too (docs/performance.md, "Many workers on few cores").
#pragma once

#include <cstddef>

namespace ormo::tools {

/// For the whole process, once, before the first large allocation: every
/// thread allocates from glibc's main heap, which never shrinks and whose
/// first `reserve` bytes the kernel backs with transparent huge pages when
/// it allows them (`madvise` mode or `always`). Memory is committed only as
/// it is touched. Returns false, changing nothing or part of it, outside
/// glibc on Linux or when the heap cannot be reserved; allocation then
/// works as before.
bool serve_heap_from_huge_pages(std::size_t reserve);

} // namespace ormo::tools
