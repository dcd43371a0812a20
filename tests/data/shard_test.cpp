// Sharding: a partition of all indices into balanced, seeded parts.
#include "ormo/data/shard.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

#include <doctest/doctest.h>

using namespace ormo;
using namespace ormo::data;

namespace {

std::vector<std::vector<std::size_t>>
all_shards(std::size_t samples, std::size_t count, std::uint64_t seed) {
  std::vector<std::vector<std::size_t>> result;
  for (std::size_t shard = 0; shard < count; ++shard) {
    auto indices = shard_indices(samples, shard, count, seed);
    REQUIRE_MESSAGE(indices.has_value(), indices.error().message());
    result.push_back(std::move(indices).value());
  }
  return result;
}

} // namespace

TEST_CASE("shards partition the samples into balanced parts") {
  const std::size_t sizes[][2]
    = {{0, 1},   {0, 3},   {1, 1},  {1, 4},     {7, 3},    {10, 10},
       {11, 10}, {100, 7}, {97, 1}, {1000, 16}, {60000, 9}};
  for (const auto& size : sizes) {
    // Not a structured binding: C++17 lambdas (INFO's) cannot capture one.
    const std::size_t samples = size[0];
    const std::size_t count = size[1];
    INFO(samples << " samples in " << count << " shards");
    auto shards = all_shards(samples, count, 5);
    std::vector<int> seen(samples, 0);
    std::size_t smallest = samples;
    std::size_t largest = 0;
    for (std::size_t shard = 0; shard < count; ++shard) {
      const auto& part = shards[shard];
      smallest = std::min(smallest, part.size());
      largest = std::max(largest, part.size());
      // The first samples % count parts are the larger ones.
      CHECK(part.size() == samples / count + (shard < samples % count));
      for (auto index : part) {
        REQUIRE(index < samples);
        ++seen[index];
      }
    }
    CHECK(largest - std::min(smallest, largest) <= 1);
    // Disjoint and complete: every index exactly once.
    CHECK(std::all_of(seen.begin(), seen.end(),
                      [](int times) { return times == 1; }));
  }
}

TEST_CASE("shards are shuffled and reproducible from the seed") {
  auto first = all_shards(1000, 4, 77);
  CHECK(first == all_shards(1000, 4, 77));
  auto other = all_shards(1000, 4, 78);
  CHECK(first != other);
  for (std::size_t shard = 0; shard < 4; ++shard)
    CHECK(first[shard] != other[shard]);
  // Not contiguous ranges of the original order, not sorted.
  for (const auto& part : first) {
    CHECK_FALSE(std::is_sorted(part.begin(), part.end()));
    auto [low, high] = std::minmax_element(part.begin(), part.end());
    CHECK(*high - *low > 900);
  }
  // One shard is a permutation of everything.
  auto whole = shard_indices(1000, 0, 1, 77);
  REQUIRE(whole.has_value());
  auto sorted = *whole;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i)
    REQUIRE(sorted[i] == i);
  CHECK(*whole != sorted);
}

TEST_CASE("shards are contiguous cuts of one permutation") {
  // Concatenated in shard order, the parts are the single-shard permutation:
  // workers agree on one shuffle whatever their count.
  auto whole = shard_indices(101, 0, 1, 9);
  REQUIRE(whole.has_value());
  std::vector<std::size_t> joined;
  for (const auto& part : all_shards(101, 6, 9))
    joined.insert(joined.end(), part.begin(), part.end());
  CHECK(joined == *whole);
}

TEST_CASE("shard arguments out of range are rejected") {
  auto none = shard_indices(10, 0, 0, 1);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.error().code() == status_code::invalid_argument);
  CHECK(none.error().message().find("at least 1") != std::string::npos);
  auto beyond = shard_indices(10, 3, 3, 1);
  REQUIRE_FALSE(beyond.has_value());
  CHECK(beyond.error().code() == status_code::invalid_argument);
  CHECK(beyond.error().message().find("shard 3") != std::string::npos);
  CHECK(shard_indices(10, 2, 3, 1).has_value());
}

TEST_CASE("one sample_partition cuts every worker's shard as shard_indices "
          "does") {
  const sample_partition partition(1001, 77);
  for (std::size_t count : {1, 3, 16}) {
    for (std::size_t shard = 0; shard < count; ++shard) {
      auto cut = partition.shard(shard, count);
      auto alone = shard_indices(1001, shard, count, 77);
      REQUIRE(cut.has_value());
      REQUIRE(alone.has_value());
      CHECK(*cut == *alone);
    }
    CHECK_FALSE(partition.shard(count, count).has_value());
  }
  CHECK_FALSE(partition.shard(0, 0).has_value());
}
