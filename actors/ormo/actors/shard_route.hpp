// How a worker reaches one shard of the parameters.
#pragma once

#include <Eigen/Core>

#include "ormo/actors/interfaces.hpp"

namespace ormo::actors {

/// Shard s holds parameters [offset, offset + size) of the full vector.
struct shard_route {
  parameter_server_actor server;
  momentum_orderer_actor orderer;
  Eigen::Index offset = 0;
  Eigen::Index size = 0;
};

} // namespace ormo::actors
