// parameter_server: owns one shard of the parameters w and the momentum u
// beside it.
//
// The orderer sends each step as scalars and g (optim::offset_step); the
// server applies it to u and w in one pass over memory. Pulls get an
// immutable snapshot that shares w's buffer (copy-on-write): a step is
// applied in place when no reader holds the buffer, otherwise into a
// recycled buffer that becomes the new w, so no pull ever copies.
#pragma once

#include <Eigen/Core>
#include <caf/fwd.hpp>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/shard_checkpoint.hpp"

namespace ormo::actors {

/// Spawns the server of one shard holding `initial` as its w (u = 0).
/// REQUIRES: initial is not empty.
parameter_server_actor spawn_parameter_server(caf::actor_system& system,
                                              Eigen::VectorXf initial);

/// Spawns the server of one shard as checkpoint `cut` left it: w with its
/// version and iteration index, u and the base.
/// REQUIRES: cut decoded whole (decode_shard_checkpoint).
parameter_server_actor spawn_parameter_server(caf::actor_system& system,
                                              const shard_checkpoint& cut);

} // namespace ormo::actors
