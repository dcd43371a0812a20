// A small, seeded, platform-independent random source. std::mt19937_64 is
// fixed by the standard but the std distributions are not, so the
// distributions are written out here: the same seed gives the same numbers
// with any standard library.
//
// Thread-safety: an instance is not thread-safe; give each user its own.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace ormo {

class random_source {
public:
  explicit random_source(std::uint64_t seed) : engine_(seed) {}

  /// Derives an independent seed for stream `index` of `seed` (splitmix64),
  /// e.g. one per worker.
  static std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (index + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  std::uint64_t next() { return engine_(); }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, bound). REQUIRES: bound >= 1.
  std::uint64_t below(std::uint64_t bound) {
    // Rejection sampling removes the modulo bias.
    std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
    std::uint64_t x;
    do {
      x = next();
    } while (x >= limit);
    return x % bound;
  }

  /// Standard normal (Box-Muller, one value per call).
  double normal() {
    constexpr double two_pi = 6.283185307179586476925;
    double u1 = uniform();
    double u2 = uniform();
    if (u1 <= 0.0)
      u1 = 0x1.0p-53;
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(two_pi * u2);
  }

  /// Fisher-Yates shuffle of [first, last).
  template <class RandomIt>
  void shuffle(RandomIt first, RandomIt last) {
    auto n = static_cast<std::uint64_t>(last - first);
    for (std::uint64_t i = n; i > 1; --i) {
      auto j = below(i);
      using std::swap;
      swap(first[i - 1], first[j]);
    }
  }

private:
  std::mt19937_64 engine_;
};

} // namespace ormo
