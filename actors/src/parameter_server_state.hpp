// The state and behaviour of a parameter server (see
// ormo/actors/parameter_server.hpp); private to the actors library.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/typed_response_promise.hpp>

#include "ormo/actors/parameter_server.hpp"

namespace ormo::actors {

struct parameter_server_state {
  /// w; snapshots alias it.
  std::shared_ptr<Eigen::VectorXf> parameters;
  /// u; empty until a step moves it.
  Eigen::VectorXf momentum;
  /// When the steps have a momentum offset: w = base - offset * u.
  Eigen::VectorXf base;
  iteration_index iteration = 0;
  std::uint64_t version = 0;
  /// Former w buffers, reused once no reader holds them.
  std::vector<std::shared_ptr<Eigen::VectorXf>> retired;
  /// Synchronous reference only: pushes answered when the iteration closes.
  std::vector<caf::typed_response_promise<push_outcome>> held;

  static inline const char* name = "ormo.parameter_server";
};

using parameter_server_pointer
  = parameter_server_actor::stateful_pointer<parameter_server_state>;

/// REQUIRES: initial is not empty; `cut` null or of initial's size (then
/// the server starts from it: version, iteration, u, base).
parameter_server_actor::behavior_type
parameter_server(parameter_server_pointer self, Eigen::VectorXf initial,
                 std::shared_ptr<const shard_checkpoint> cut);

} // namespace ormo::actors
