#include "ormo/actors/workers_last_sharing.hpp"

#include <caf/local_actor.hpp>

#include "worker_state.hpp"

namespace ormo::actors {

bool workers_last_sharing::is_worker(caf::resumable* job) {
  // A worker's name() is its state's name (caf::stateful_actor).
  auto actor = dynamic_cast<caf::local_actor*>(job);
  return actor != nullptr && actor->name() == worker_state::name;
}

} // namespace ormo::actors
