#include "ormo/config/run_config.hpp"

#include <filesystem>

namespace ormo::config {

const char* to_string(data_source source) {
  switch (source) {
    case data_source::synthetic:
      return "synthetic";
    case data_source::fashion_mnist:
      return "fashion-mnist";
  }
  return "unknown";
}

const char* to_string(speed_profile profile) {
  switch (profile) {
    case speed_profile::uniform:
      return "uniform";
    case speed_profile::factors:
      return "factors";
    case speed_profile::slow_fraction:
      return "slow_fraction";
    case speed_profile::lognormal:
      return "lognormal";
  }
  return "unknown";
}

std::string checkpoint_directory(const run_config& run) {
  if (!run.checkpoints.dir.empty())
    return run.checkpoints.dir;
  return (std::filesystem::path(run.output.dir) / "checkpoints").string();
}

} // namespace ormo::config
