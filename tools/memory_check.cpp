#include "memory_check.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

#include "command_line.hpp"
#include "ormo/config/run_sizes.hpp"

namespace ormo::tools {

namespace {

double gib(std::uint64_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0);
}

} // namespace

std::uint64_t memory_limit_bytes() {
  auto pages = sysconf(_SC_PHYS_PAGES);
  auto page_size = sysconf(_SC_PAGESIZE);
  std::uint64_t limit = UINT64_MAX;
  if (pages > 0 && page_size > 0)
    limit = static_cast<std::uint64_t>(pages)
            * static_cast<std::uint64_t>(page_size);
  rlimit address_space{};
  if (getrlimit(RLIMIT_AS, &address_space) == 0
      && address_space.rlim_cur != RLIM_INFINITY)
    limit = std::min<std::uint64_t>(limit, address_space.rlim_cur);
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");
  std::uint64_t cgroup_limit = 0;
  if (cgroup >> cgroup_limit && cgroup_limit > 0)
    limit = std::min(limit, cgroup_limit);
  return limit;
}

int check_memory(const config::run_config& config, std::uint64_t workers) {
  auto needed = config::minimum_memory_bytes(config, workers);
  auto limit = memory_limit_bytes();
  if (needed <= limit)
    return 0;
  auto sizes = config::sizes_of(config);
  // Name the largest part.
  auto data = (sizes.train_samples + sizes.test_samples) * sizes.inputs;
  auto parameters = sizes.parameters;
  const char* keys
    = parameters >= data / (workers + 1)
        ? "model.hidden, workers.count"
        : (config.data.source == config::data_source::synthetic
             ? "data.inputs, data.train_samples, data.test_samples"
             : "data.path");
  std::fprintf(
    stderr,
    "%s: %s: the run needs at least %.1f GiB (a model of %llu "
    "parameters, %d workers, %llu samples of %llu inputs, "
    "batches of %d), more than the %.1f GiB of memory here\n",
    config.source.c_str(), keys, gib(needed),
    static_cast<unsigned long long>(parameters), static_cast<int>(workers),
    static_cast<unsigned long long>(sizes.train_samples + sizes.test_samples),
    static_cast<unsigned long long>(sizes.inputs), config.model.batch_size,
    gib(limit));
  return exit_usage;
}

} // namespace ormo::tools
