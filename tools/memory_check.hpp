// Refuses a run that cannot fit in this machine's memory before anything is
// allocated (a huge model or data set would otherwise end in
// std::bad_alloc or the kernel's out-of-memory killer).
#pragma once

#include <cstdint>

#include "ormo/config/run_config.hpp"

namespace ormo::tools {

/// The bytes this process may allocate: the least of the physical memory,
/// the address-space limit (ulimit -v) and the cgroup's memory.max.
std::uint64_t memory_limit_bytes();

/// 0 if `workers` of the run's workers fit in memory here (by the lower
/// bound config::minimum_memory_bytes); else prints one line naming the
/// keys that make the run large and returns the exit status of a bad
/// configuration.
int check_memory(const config::run_config& config, std::uint64_t workers);

} // namespace ormo::tools
