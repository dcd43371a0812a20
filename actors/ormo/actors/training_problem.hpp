// What a run trains, as functions a host program can supply. No CAF.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include <Eigen/Core>

#include "ormo/model/gradient_function.hpp"
#include "ormo/model/gradient_source.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

struct training_problem {
  Eigen::VectorXf initial_parameters;
  /// The gradient source of worker slot `slot` of `slots` initial workers
  /// (slots >= `slots` are workers added later), or why there is none: the
  /// supervisor counts a failure like a crash of that slot's worker (it
  /// retries up to the restart limit, then evicts the slot). Must not
  /// throw. Called from actors: must be safe to call from any thread, one
  /// call at a time.
  std::function<ormo::result<std::shared_ptr<model::gradient_source>>(
    std::size_t slot, std::size_t slots)>
    make_source;
  /// Held-out loss and accuracy of full parameters; may be empty. Called
  /// from one actor only.
  std::function<model::evaluation(const Eigen::VectorXf&)> evaluate;
  /// Training samples per epoch and samples per gradient.
  std::size_t samples_per_epoch = 1;
  std::size_t batch_size = 1;
};

} // namespace ormo::actors
