// momentum_orderer: owns the update rule of one shard (t, n and the
// coefficients; the vector u lives beside w in the parameter server, which
// applies each step to both in one pass).
//
// Validates every push (registered worker, fresh sequence number, then the
// rule's own checks: dimension, finite values, 0 <= i <= t), places the
// gradient by its iteration index and delegates the push to its parameter
// server with the step u and w must take, so the worker's answer carries the
// parameters that include its gradient. Rejections are counted by reason and
// answered to the worker, never dropped.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "ormo/actors/interfaces.hpp"
#include "ormo/optim/update_rule.hpp"

namespace ormo::actors {

/// Spawns the orderer of the shard `server` owns. `rule` must fit it
/// (same dimension); the orderer takes it over (the caller must not use it
/// any more): u then lives in the server.
momentum_orderer_actor
spawn_momentum_orderer(caf::actor_system& system,
                       std::shared_ptr<optim::update_rule> rule,
                       parameter_server_actor server);

} // namespace ormo::actors
