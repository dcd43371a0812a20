#include "ormo/optim/shifted_momentum.hpp"

#include <cassert>

namespace ormo::optim {

shifted_momentum::shifted_momentum(std::size_t dimension, int iteration_size,
                                   const shifted_momentum_settings& settings)
  : update_rule(dimension, iteration_size, closing::every_arrival, false,
                own_vectors{0, true}),
    settings_(settings) {}

const char* shifted_momentum::name() const {
  return "shifted-momentum";
}

Eigen::VectorXf shifted_momentum::worker_momentum(worker_id worker) const {
  auto vector = find_worker_vector(worker);
  if (!vector)
    return Eigen::VectorXf::Zero(static_cast<Eigen::Index>(dimension()));
  return *vector;
}

update_rule::plan shifted_momentum::plan_for(iteration_index, bool) const {
  // w <- w - eta * m_k: the step applies to the worker's new momentum.
  plan result;
  result.coefficients.parameter_gradient_weight
    = static_cast<float>(settings_.learning_rate);
  return result;
}

update_rule::own_result
shifted_momentum::update_own_vectors(const own_update& update) {
  own_result result;
  if (update.gradient == nullptr) // an early close: nothing per worker
    return result;
  auto& slot = worker_vector(update.worker);
  // In place unless a step handed out before still holds it.
  auto previous = make_writable(slot);
  const float beta = static_cast<float>(settings_.momentum);
  const float weight = update.gradient_weight;
  const float* g = update.gradient;
  const float* old = previous->data();
  float* m = slot->data();
  const auto n = static_cast<std::ptrdiff_t>(dimension());
  if (weight == 1.0f)
    for (std::ptrdiff_t j = 0; j < n; ++j)
      m[j] = beta * old[j] + g[j];
  else
    for (std::ptrdiff_t j = 0; j < n; ++j)
      m[j] = beta * old[j] + weight * g[j];
  result.step_vector = slot;
  return result;
}

} // namespace ormo::optim
