// gradient_pool: gradient buffers shared by the workers of one process.
//
// With K workers taking turns on a few cores, a worker that kept its own
// buffer wrote each gradient into memory untouched since its last push,
// K pushes ago and long out of the cache. From the pool it takes the buffer
// a server returned last, whose values that server has just read. A buffer
// goes back when the last pointer to it goes, so a worker that draws from
// the pool keeps no copy of its pushes (see worker_timing::gradients).
//
// No CAF. Thread-safe: any thread may take and return buffers.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include <Eigen/Core>

namespace ormo::actors {

class gradient_pool {
public:
  /// REQUIRES: size >= 1.
  explicit gradient_pool(Eigen::Index size);

  /// A buffer of size() floats (its values are whatever they were): the
  /// most recently returned one, or a new one. Back in the pool when the
  /// last shared_ptr to it goes, even after the pool itself is gone.
  std::shared_ptr<Eigen::VectorXf> take();

  Eigen::Index size() const { return size_; }

  /// Buffers in the pool now (none of them in use).
  std::size_t idle() const;

  /// Buffers made so far (in use or idle).
  std::size_t made() const;

private:
  struct free_list {
    mutable std::mutex mutex;
    std::vector<std::unique_ptr<Eigen::VectorXf>> buffers;
    std::size_t made = 0;
  };

  Eigen::Index size_;
  std::shared_ptr<free_list> free_;
};

} // namespace ormo::actors
