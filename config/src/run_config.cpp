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

const char* to_string(fault_kind kind) {
  switch (kind) {
    case fault_kind::kill_worker:
      return "kill_worker";
    case fault_kind::fail_gradient:
      return "fail_gradient";
    case fault_kind::slow_worker:
      return "slow_worker";
    case fault_kind::freeze_worker:
      return "freeze_worker";
    case fault_kind::drop:
      return "drop";
    case fault_kind::delay:
      return "delay";
    case fault_kind::duplicate:
      return "duplicate";
    case fault_kind::reorder:
      return "reorder";
    case fault_kind::partition:
      return "partition";
    case fault_kind::kill_shard:
      return "kill_shard";
    case fault_kind::kill_node:
      return "kill_node";
    case fault_kind::stop_node:
      return "stop_node";
  }
  return "unknown";
}

bool is_link_fault(fault_kind kind) {
  switch (kind) {
    case fault_kind::drop:
    case fault_kind::delay:
    case fault_kind::duplicate:
    case fault_kind::reorder:
    case fault_kind::partition:
      return true;
    default:
      return false;
  }
}

bool is_node_fault(fault_kind kind) {
  return kind == fault_kind::kill_node || kind == fault_kind::stop_node;
}

} // namespace ormo::config
