// How a worker reaches one shard of the parameters.
#pragma once

#include <Eigen/Core>
#include <caf/meta/type_name.hpp>

#include "ormo/actors/interfaces.hpp"

namespace ormo::actors {

/// Shard s holds parameters [offset, offset + size) of the full vector.
struct shard_route {
  parameter_server_actor server;
  momentum_orderer_actor orderer;
  Eigen::Index offset = 0;
  Eigen::Index size = 0;
};

/// A route crosses nodes as two actor handles (CAF makes them proxies) and
/// the slice; the receiver checks the slice against its plan.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shard_route& x) {
  return f(caf::meta::type_name("shard_route"), x.server, x.orderer, x.offset,
           x.size);
}

/// Restarts a lost shard of a multi-process run on the node that hosts it,
/// from its newest checkpoint, and answers the restarted shard's route as
/// the asking node reaches it.
using shard_keeper_actor = caf::typed_actor<
  caf::replies_to<restart_atom, std::uint64_t>::with<shard_route>>;

} // namespace ormo::actors
