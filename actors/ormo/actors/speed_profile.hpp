// Slowdown factors of worker slots from a speed profile (no CAF).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ormo/config/run_config.hpp"

namespace ormo::actors {

/// The slowdown (>= 1, 1 = nominal) of worker slot `slot` for a run that
/// starts with `initial_workers`, drawn deterministically from `seed`:
/// uniform: 1; factors: factors[slot] (slots past the list: 1);
/// slow_fraction: exactly round(fraction * initial_workers) of the initial
/// slots (a seeded choice) run at `factor`, later slots with probability
/// `fraction`; lognormal: exp(sigma * z), z ~ N(0, 1) per slot, divided by
/// the smallest factor of the initial slots so the fastest runs at 1.
double slowdown_for(const config::speed_config& speed, std::size_t slot,
                    std::size_t initial_workers, std::uint64_t seed);

} // namespace ormo::actors
