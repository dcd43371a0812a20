#include "ormo/actors/speed_profile.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "ormo/random.hpp"

namespace ormo::actors {

namespace {

constexpr std::uint64_t speed_stream = 0x5eed'0000'0000'0001ull;

double lognormal_draw(double sigma, std::size_t slot, std::uint64_t seed) {
  random_source random(random_source::derive_seed(seed ^ speed_stream, slot));
  return std::exp(sigma * random.normal());
}

} // namespace

double slowdown_for(const config::speed_config& speed, std::size_t slot,
                    std::size_t initial_workers, std::uint64_t seed) {
  switch (speed.profile) {
    case config::speed_profile::uniform:
      return 1.0;
    case config::speed_profile::factors:
      return slot < speed.factors.size() ? speed.factors[slot] : 1.0;
    case config::speed_profile::slow_fraction: {
      if (slot >= initial_workers) {
        random_source random(
          random_source::derive_seed(seed ^ speed_stream, slot));
        return random.uniform() < speed.fraction ? speed.factor : 1.0;
      }
      std::vector<std::size_t> order(initial_workers);
      std::iota(order.begin(), order.end(), std::size_t{0});
      random_source random(seed ^ speed_stream);
      random.shuffle(order.begin(), order.end());
      auto slow = static_cast<std::size_t>(
        std::lround(speed.fraction * static_cast<double>(initial_workers)));
      auto position
        = std::find(order.begin(), order.end(), slot) - order.begin();
      return static_cast<std::size_t>(position) < slow ? speed.factor : 1.0;
    }
    case config::speed_profile::lognormal: {
      double fastest = std::numeric_limits<double>::infinity();
      for (std::size_t k = 0; k < std::max<std::size_t>(initial_workers, 1);
           ++k)
        fastest = std::min(fastest, lognormal_draw(speed.sigma, k, seed));
      return std::max(1.0, lognormal_draw(speed.sigma, slot, seed) / fastest);
    }
  }
  return 1.0;
}

} // namespace ormo::actors
