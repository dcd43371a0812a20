#include "ormo/data/shard.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "ormo/random.hpp"

namespace ormo::data {

sample_partition::sample_partition(std::size_t samples, std::uint64_t seed)
  : permutation_(samples) {
  std::iota(permutation_.begin(), permutation_.end(), std::size_t{0});
  random_source random{seed};
  random.shuffle(permutation_.begin(), permutation_.end());
}

result<std::vector<std::size_t>>
sample_partition::shard(std::size_t shard, std::size_t count) const {
  if (count == 0)
    return status::error(status_code::invalid_argument,
                         "shard count must be at least 1");
  if (shard >= count)
    return status::error(status_code::invalid_argument,
                         "shard " + std::to_string(shard)
                           + " is out of range for " + std::to_string(count)
                           + " shards");
  const std::size_t samples = permutation_.size();
  const std::size_t base = samples / count;
  const std::size_t larger = samples % count;
  const std::size_t first = shard * base + std::min(shard, larger);
  const std::size_t size = base + (shard < larger ? 1 : 0);
  auto begin = permutation_.begin() + static_cast<std::ptrdiff_t>(first);
  return std::vector<std::size_t>(begin,
                                  begin + static_cast<std::ptrdiff_t>(size));
}

result<std::vector<std::size_t>> shard_indices(std::size_t samples,
                                               std::size_t shard,
                                               std::size_t count,
                                               std::uint64_t seed) {
  return sample_partition(samples, seed).shard(shard, count);
}

} // namespace ormo::data
