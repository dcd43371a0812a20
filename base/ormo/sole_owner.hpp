// Copy-on-write ownership test for buffers shared across threads.
#pragma once

#include <atomic>
#include <memory>

namespace ormo {

/// True when `pointer` holds the only reference to its object. Then no other
/// thread reads it any more (their last reads happen before this returns:
/// the acquire fence pairs with the release in shared_ptr's decrement), and
/// the caller may write through it in place.
template <class T>
bool sole_owner(const std::shared_ptr<T>& pointer) {
  if (pointer.use_count() != 1)
    return false;
  std::atomic_thread_fence(std::memory_order_acquire);
  return true;
}

} // namespace ormo
