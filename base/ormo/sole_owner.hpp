// Copy-on-write ownership test for buffers shared across threads.
#pragma once

#include <atomic>
#include <memory>

#if defined(__SANITIZE_THREAD__) // GCC
#define ORMO_THREAD_SANITIZER 1
#elif defined(__has_feature) // Clang
#if __has_feature(thread_sanitizer)
#define ORMO_THREAD_SANITIZER 1
#endif
#endif

namespace ormo {

/// True when `pointer` holds the only reference to its object. Then no other
/// thread reads it any more (their last reads happen before this returns:
/// the acquire fence pairs with the release in shared_ptr's decrement), and
/// the caller may write through it in place.
template <class T>
bool sole_owner(const std::shared_ptr<T>& pointer) {
  if (pointer.use_count() != 1)
    return false;
#ifdef ORMO_THREAD_SANITIZER
  // ThreadSanitizer does not model fences, so it would report the caller's
  // writes as racing with the last readers. Under it, acquire on the count
  // itself: libstdc++ increments it with acq_rel, which synchronizes with
  // every earlier decrement (and this copy's own decrement follows).
  const std::shared_ptr<T> acquire_count{pointer};
#else
  std::atomic_thread_fence(std::memory_order_acquire);
#endif
  return true;
}

} // namespace ormo
