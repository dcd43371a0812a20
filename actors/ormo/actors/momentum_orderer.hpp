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
//
// A rule with vectors of its own (shifted-momentum's momentum per worker,
// smega2's momentum and accumulator) keeps them here, in the rule: the
// orderer tells it who joins and leaves, and its steps hand the server the
// vector to apply, shared in this process. When the rule says the worker
// receives something else than w (smega2's look-ahead), the orderer answers
// the push itself, from the w the server answers with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/shard_checkpoint.hpp"
#include "ormo/optim/update_rule.hpp"

namespace ormo::actors {

/// Where and how often a shard writes its checkpoints: whenever an
/// iteration closes at a multiple of every_iterations, the orderer takes
/// its own state and asks its server for its own (answered after every
/// step sent before: one consistent cut) and writes them to `directory`,
/// keeping the newest `keep`. A checkpoint that cannot be written ends the
/// orderer with checkpoint_failed.
struct shard_checkpointing {
  std::uint32_t shard = 0;
  std::int64_t offset = 0;
  std::string directory;
  /// 0 = none on the orderer's own account (deterministic runs are cut
  /// at the monitor's request, checkpoint_atom).
  std::int64_t every_iterations = 0;
  int keep = 3;
};

/// Spawns the orderer of the shard `server` owns. `rule` must fit it
/// (same dimension); the orderer takes it over (the caller must not use it
/// any more): u then lives in the server. With `restored` (a checkpoint's
/// cut, whose rule state `rule` was restored from), it begins with the
/// cut's ledger and counters.
momentum_orderer_actor spawn_momentum_orderer(
  caf::actor_system& system, std::shared_ptr<optim::update_rule> rule,
  parameter_server_actor server, shard_checkpointing checkpointing = {},
  const shard_checkpoint* restored = nullptr);

} // namespace ormo::actors
