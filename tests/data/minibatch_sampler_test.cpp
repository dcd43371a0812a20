// The minibatch sampler: epochs without replacement, reproducible, no
// allocation after the first batch.
#include "ormo/data/minibatch_sampler.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include <doctest/doctest.h>

using namespace ormo;
using namespace ormo::data;

namespace {

/// `samples` samples of 3 inputs; sample j is (j, j + 0.25, j + 0.5) with
/// label j % 7, so a column tells which sample it is.
dataset numbered(std::size_t samples) {
  dataset result;
  result.name = "numbered";
  result.classes = 7;
  const auto count = static_cast<Eigen::Index>(samples);
  result.features.resize(3, count);
  result.labels.resize(count);
  for (Eigen::Index j = 0; j < count; ++j) {
    for (Eigen::Index i = 0; i < 3; ++i)
      result.features(i, j) = static_cast<float>(j) + 0.25f * i;
    result.labels[j] = static_cast<int>(j % 7);
  }
  return result;
}

std::vector<std::size_t> range(std::size_t first, std::size_t last) {
  std::vector<std::size_t> result(last - first);
  std::iota(result.begin(), result.end(), first);
  return result;
}

/// The samples of a batch, checking that each column and label match.
std::vector<std::size_t> samples_of(const minibatch& batch) {
  std::vector<std::size_t> result;
  for (Eigen::Index j = 0; j < batch.size(); ++j) {
    const float first = batch.features(0, j);
    const auto sample = static_cast<std::size_t>(first);
    REQUIRE(first == static_cast<float>(sample));
    CHECK(batch.features(1, j) == first + 0.25f);
    CHECK(batch.features(2, j) == first + 0.5f);
    CHECK(batch.labels[j] == static_cast<int>(sample % 7));
    result.push_back(sample);
  }
  return result;
}

/// The next `batches` batches, concatenated.
std::vector<std::size_t> draw(minibatch_sampler& sampler, int batches) {
  std::vector<std::size_t> result;
  minibatch batch;
  for (int b = 0; b < batches; ++b) {
    sampler.next(batch);
    REQUIRE(batch.size() == static_cast<Eigen::Index>(sampler.batch_size()));
    REQUIRE(batch.features.rows() == 3);
    auto samples = samples_of(batch);
    result.insert(result.end(), samples.begin(), samples.end());
  }
  return result;
}

std::vector<std::size_t> sorted(std::vector<std::size_t> values) {
  std::sort(values.begin(), values.end());
  return values;
}

} // namespace

TEST_CASE("sampler visits each shard index once per epoch") {
  auto data = numbered(50);
  auto shard = range(20, 32); // 12 samples
  auto sampler = minibatch_sampler::make(data, shard, 4, 3);
  REQUIRE_MESSAGE(sampler.has_value(), sampler.error().message());
  CHECK(sampler->shard_size() == 12);
  CHECK(sampler->epoch() == 0);
  CHECK(sampler->epoch_progress() == 0.0);
  auto first = draw(*sampler, 3);
  CHECK(sorted(first) == shard);
  CHECK(first != shard); // shuffled
  CHECK(sampler->epoch() == 1);
  CHECK(sampler->samples_drawn() == 12);
  CHECK(sampler->epoch_progress() == 0.0);
  auto second = draw(*sampler, 3);
  CHECK(sorted(second) == shard);
  CHECK(second != first); // reshuffled
  CHECK(sampler->epoch() == 2);
}

TEST_CASE("sampler batches cross epoch boundaries and stay full") {
  auto data = numbered(10);
  auto sampler = minibatch_sampler::make(data, range(0, 10), 4, 8);
  REQUIRE(sampler.has_value());
  auto drawn = draw(*sampler, 3); // 12 samples: one epoch and 2 more
  CHECK(sampler->epoch() == 1);
  CHECK(sampler->epoch_progress() == doctest::Approx(0.2));
  CHECK(sampler->samples_drawn() == 12);
  auto rest = draw(*sampler, 2); // up to 20: the second epoch is complete
  drawn.insert(drawn.end(), rest.begin(), rest.end());
  CHECK(sampler->epoch() == 2);
  CHECK(sorted({drawn.begin(), drawn.begin() + 10}) == range(0, 10));
  CHECK(sorted({drawn.begin() + 10, drawn.end()}) == range(0, 10));
}

TEST_CASE("sampler allows batches larger than the shard") {
  auto data = numbered(5);
  auto sampler = minibatch_sampler::make(data, {1, 3, 4}, 8, 2);
  REQUIRE(sampler.has_value());
  auto drawn = draw(*sampler, 3); // 24 draws: 8 epochs of 3
  CHECK(sampler->epoch() == 8);
  CHECK(sampler->epoch_progress() == 0.0);
  for (std::size_t epoch = 0; epoch < 8; ++epoch)
    CHECK(sorted({drawn.begin() + 3 * epoch, drawn.begin() + 3 * epoch + 3})
          == std::vector<std::size_t>{1, 3, 4});
  auto single = minibatch_sampler::make(data, {2}, 4, 2);
  REQUIRE(single.has_value());
  CHECK(draw(*single, 2) == std::vector<std::size_t>(8, 2));
}

TEST_CASE("sampler is reproducible from its seed") {
  auto data = numbered(200);
  auto shard = range(0, 200);
  auto a = minibatch_sampler::make(data, shard, 16, 99);
  auto b = minibatch_sampler::make(data, shard, 16, 99);
  auto c = minibatch_sampler::make(data, shard, 16, 100);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  REQUIRE(c.has_value());
  auto from_a = draw(*a, 40);
  CHECK(from_a == draw(*b, 40));
  auto from_c = draw(*c, 40);
  CHECK(from_c != from_a);
  CHECK(sorted({from_c.begin(), from_c.begin() + 200}) == shard);
  // The order is a fresh permutation, not a rotation of the same one.
  std::size_t same_place = 0;
  for (std::size_t i = 0; i < 200; ++i)
    same_place += from_a[i] == from_c[i] ? 1 : 0;
  CHECK(same_place < 10);
}

TEST_CASE("sampler positions are uniform over many seeds") {
  // Where sample 0 lands in the first epoch: uniform over 8 places.
  auto data = numbered(8);
  std::vector<int> landed(8, 0);
  const int trials = 8000;
  for (int seed = 0; seed < trials; ++seed) {
    auto sampler = minibatch_sampler::make(data, range(0, 8), 8,
                                           static_cast<std::uint64_t>(seed));
    REQUIRE(sampler.has_value());
    auto drawn = draw(*sampler, 1);
    auto place = std::find(drawn.begin(), drawn.end(), 0) - drawn.begin();
    ++landed[static_cast<std::size_t>(place)];
  }
  for (int count : landed)
    CHECK(count == doctest::Approx(trials / 8).epsilon(0.12));
}

TEST_CASE("sampler reuses the minibatch storage") {
  auto data = numbered(100);
  auto sampler = minibatch_sampler::make(data, range(0, 100), 32, 1);
  REQUIRE(sampler.has_value());
  minibatch batch;
  sampler->next(batch);
  const float* features = batch.features.data();
  const int* labels = batch.labels.data();
  for (int b = 0; b < 50; ++b) {
    sampler->next(batch);
    REQUIRE(batch.features.data() == features);
    REQUIRE(batch.labels.data() == labels);
  }
  samples_of(batch);
  // A minibatch of another shape is resized to fit.
  minibatch wrong;
  wrong.features.resize(5, 7);
  wrong.labels.resize(2);
  sampler->next(wrong);
  CHECK(wrong.features.rows() == 3);
  CHECK(wrong.features.cols() == 32);
  CHECK(wrong.labels.size() == 32);
  samples_of(wrong);
}

TEST_CASE("sampler rejects bad arguments") {
  auto data = numbered(10);
  auto zero_batch = minibatch_sampler::make(data, range(0, 10), 0, 1);
  REQUIRE_FALSE(zero_batch.has_value());
  CHECK(zero_batch.error().code() == status_code::invalid_argument);
  CHECK(zero_batch.error().message().find("batch size") != std::string::npos);
  auto empty = minibatch_sampler::make(data, {}, 4, 1);
  REQUIRE_FALSE(empty.has_value());
  CHECK(empty.error().code() == status_code::invalid_argument);
  auto beyond = minibatch_sampler::make(data, {3, 10}, 4, 1);
  REQUIRE_FALSE(beyond.has_value());
  CHECK(beyond.error().code() == status_code::invalid_argument);
  CHECK(beyond.error().message().find("index 10 at position 1")
        != std::string::npos);
  auto broken = numbered(10);
  broken.labels.resize(9);
  auto mismatched = minibatch_sampler::make(broken, range(0, 5), 4, 1);
  REQUIRE_FALSE(mismatched.has_value());
  CHECK(mismatched.error().code() == status_code::invalid_argument);
}

TEST_CASE("sampler skip lands where as many batches would") {
  auto data = numbered(50);
  auto shard = range(0, 50);
  // 7 does not divide 50: skips end inside epochs and cross their ends.
  for (std::uint64_t skipped : {0, 1, 7, 8, 23}) {
    CAPTURE(skipped);
    auto drawn = minibatch_sampler::make(data, shard, 7, 5);
    auto skipping = minibatch_sampler::make(data, shard, 7, 5);
    REQUIRE(drawn.has_value());
    REQUIRE(skipping.has_value());
    draw(*drawn, static_cast<int>(skipped));
    skipping->skip(skipped);
    CHECK(skipping->samples_drawn() == drawn->samples_drawn());
    CHECK(draw(*skipping, 12) == draw(*drawn, 12));
  }
}
