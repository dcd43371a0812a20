// Deterministic partition of a data set's samples across workers.
//
// Thread-safety: shard_indices shares no state; a sample_partition is
// immutable after construction, so concurrent calls are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ormo/status.hpp"

namespace ormo::data {

/// A permutation of [0, samples) drawn from `seed`, cut into parts for the
/// workers. Drawing it once and cutting it for every worker costs one
/// shuffle instead of one per worker.
class sample_partition {
public:
  sample_partition(std::size_t samples, std::uint64_t seed);

  /// The sample indices of worker `shard` out of `count`: the permutation
  /// cut into `count` contiguous parts whose sizes differ by at most one
  /// (the first samples % count parts are the larger ones). The parts are
  /// disjoint and together cover each index exactly once. A part is empty
  /// when samples < count. Fails with invalid_argument when count == 0 or
  /// shard >= count.
  result<std::vector<std::size_t>> shard(std::size_t shard,
                                         std::size_t count) const;

private:
  std::vector<std::size_t> permutation_;
};

/// sample_partition(samples, seed).shard(shard, count).
result<std::vector<std::size_t>> shard_indices(std::size_t samples,
                                               std::size_t shard,
                                               std::size_t count,
                                               std::uint64_t seed);

} // namespace ormo::data
