// slowdown_for: each speed profile, and that the draws depend on the seed
// only.
#include "ormo/actors/speed_profile.hpp"

#include <cmath>
#include <set>
#include <vector>

#include <doctest/doctest.h>

using namespace ormo;
using namespace ormo::actors;

namespace {

std::vector<double> slowdowns(const config::speed_config& speed,
                              std::size_t slots, std::size_t initial,
                              std::uint64_t seed) {
  std::vector<double> result;
  for (std::size_t slot = 0; slot < slots; ++slot)
    result.push_back(slowdown_for(speed, slot, initial, seed));
  return result;
}

std::set<std::size_t> slow_slots(const std::vector<double>& factors) {
  std::set<std::size_t> result;
  for (std::size_t slot = 0; slot < factors.size(); ++slot)
    if (factors[slot] != 1.0)
      result.insert(slot);
  return result;
}

} // namespace

TEST_CASE("speed_profile: uniform is 1 everywhere") {
  config::speed_config speed;
  speed.profile = config::speed_profile::uniform;
  for (std::size_t slot : {0u, 1u, 7u, 100u})
    CHECK(slowdown_for(speed, slot, 4, 9) == 1.0);
}

TEST_CASE("speed_profile: factors by slot and 1 past the list") {
  config::speed_config speed;
  speed.profile = config::speed_profile::factors;
  speed.factors = {1, 2.5, 4, 1.25};
  CHECK(slowdowns(speed, 6, 4, 1)
        == std::vector<double>{1, 2.5, 4, 1.25, 1, 1});
  CHECK(slowdowns(speed, 4, 4, 2) == slowdowns(speed, 4, 4, 3));
}

TEST_CASE(
  "speed_profile: slow_fraction slows exactly the rounded share of slots") {
  config::speed_config speed;
  speed.profile = config::speed_profile::slow_fraction;
  speed.factor = 6;
  struct example {
    double fraction;
    std::size_t workers;
    std::size_t slow;
  };
  for (auto e : {example{0.25, 4, 1}, example{0.25, 16, 4}, example{0.5, 3, 2},
                 example{0.1, 3, 0}, example{0.3, 10, 3}, example{1.0, 5, 5},
                 example{0.0, 5, 0}, example{0.34, 3, 1}}) {
    CAPTURE(e.fraction);
    CAPTURE(e.workers);
    speed.fraction = e.fraction;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      CAPTURE(seed);
      auto factors = slowdowns(speed, e.workers, e.workers, seed);
      CHECK(slow_slots(factors).size() == e.slow);
      for (double f : factors)
        CHECK((f == 1.0 || f == 6.0));
      // The same seed, the same choice.
      CHECK(slowdowns(speed, e.workers, e.workers, seed) == factors);
    }
  }
  // The choice depends on the seed.
  speed.fraction = 0.25;
  std::set<std::set<std::size_t>> choices;
  for (std::uint64_t seed = 1; seed <= 20; ++seed)
    choices.insert(slow_slots(slowdowns(speed, 8, 8, seed)));
  CHECK(choices.size() > 5);
}

TEST_CASE("speed_profile: slow_fraction slots added later draw by fraction") {
  config::speed_config speed;
  speed.profile = config::speed_profile::slow_fraction;
  speed.fraction = 0.25;
  speed.factor = 3;
  auto factors = slowdowns(speed, 4 + 4000, 4, 17);
  std::size_t slow_later = 0;
  for (std::size_t slot = 4; slot < factors.size(); ++slot) {
    CHECK((factors[slot] == 1.0 || factors[slot] == 3.0));
    slow_later += factors[slot] == 3.0 ? 1 : 0;
  }
  CHECK(slow_later > 900);
  CHECK(slow_later < 1100);
  // Adding later slots does not change the initial ones.
  CHECK(std::vector<double>(factors.begin(), factors.begin() + 4)
        == slowdowns(speed, 4, 4, 17));
  CHECK(slowdowns(speed, 4 + 4000, 4, 17) == factors);
}

TEST_CASE("speed_profile: lognormal is >= 1 with the fastest at exactly 1") {
  config::speed_config speed;
  speed.profile = config::speed_profile::lognormal;
  speed.sigma = 0.5;
  for (std::uint64_t seed : {1u, 2u, 99u}) {
    for (std::size_t workers : {1u, 2u, 8u, 32u}) {
      CAPTURE(seed);
      CAPTURE(workers);
      auto factors = slowdowns(speed, workers + 8, workers, seed);
      for (double f : factors) {
        CHECK(f >= 1.0);
        CHECK(std::isfinite(f));
      }
      std::vector<double> initial(factors.begin(), factors.begin() + workers);
      CHECK(*std::min_element(initial.begin(), initial.end()) == 1.0);
      CHECK(slowdowns(speed, workers + 8, workers, seed) == factors);
      if (workers >= 8) {
        CHECK(*std::max_element(initial.begin(), initial.end()) > 1.2);
        CHECK(*std::max_element(initial.begin(), initial.end()) < 50);
      }
    }
  }
  CHECK(slowdowns(speed, 8, 8, 1) != slowdowns(speed, 8, 8, 2));
  speed.sigma = 0;
  CHECK(slowdowns(speed, 8, 8, 1) == std::vector<double>(8, 1.0));
}
