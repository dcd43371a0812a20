// The built-in training problem: a classifier (softmax or MLP) on synthetic
// data or Fashion-MNIST, as a run configuration describes it. No CAF.
#pragma once

#include "ormo/actors/training_problem.hpp"
#include "ormo/config/run_config.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

/// Loads (or draws) the data, builds the model and its initial parameters
/// from run.run.seed, and gives each worker slot its own model instance and
/// data shard. Fails naming the data file or the setting at fault.
result<training_problem>
make_classification_problem(const config::run_config& run);

} // namespace ormo::actors
