// Deterministic partition of a data set's samples across workers.
//
// Thread-safety: shard_indices shares no state; concurrent calls are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ormo/status.hpp"

namespace ormo::data {

/// The sample indices of worker `shard` out of `count`: a permutation of
/// [0, samples) drawn from `seed`, cut into `count` contiguous parts whose
/// sizes differ by at most one (the first samples % count parts are the
/// larger ones). Every worker calling with the same samples, count and seed
/// gets a disjoint part, and together they cover each index exactly once.
/// A part is empty when samples < count. Fails with invalid_argument when
/// count == 0 or shard >= count.
result<std::vector<std::size_t>> shard_indices(std::size_t samples,
                                               std::size_t shard,
                                               std::size_t count,
                                               std::uint64_t seed);

} // namespace ormo::data
