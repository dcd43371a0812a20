#include "ormo/optim/smega2.hpp"

#include "ormo/sole_owner.hpp"

namespace ormo::optim {

namespace {

/// A buffer of `size` values in `slot` that nobody else holds (values
/// unspecified): the slot's own, or a new one.
Eigen::VectorXf& unshared(std::shared_ptr<Eigen::VectorXf>& slot,
                          std::size_t size) {
  if (!slot || !sole_owner(slot))
    slot = std::make_shared<Eigen::VectorXf>(static_cast<Eigen::Index>(size));
  return *slot;
}

} // namespace

smega2::smega2(std::size_t dimension, int iteration_size,
               const smega2_settings& settings)
  : update_rule(dimension, iteration_size, closing::every_k_arrivals, false,
                own_vectors{2, false}),
    settings_(settings) {}

const char* smega2::name() const {
  return "smega2";
}

Eigen::VectorXf smega2::single_momentum() const {
  return own_vector(momentum_slot);
}

Eigen::VectorXf smega2::accumulator() const {
  return own_vector(accumulator_slot);
}

update_rule::plan smega2::plan_for(iteration_index, bool) const {
  // w <- w - eta * (g + beta * m): the step applies to that direction.
  plan result;
  result.coefficients.parameter_gradient_weight
    = static_cast<float>(settings_.learning_rate);
  return result;
}

update_rule::own_result smega2::update_own_vectors(const own_update& update) {
  const double eta = settings_.learning_rate;
  const double beta_d = settings_.momentum;
  const float beta = static_cast<float>(beta_d);
  const bool has_gradient = update.gradient != nullptr;
  // The cycle's gradients at a close (K, unless K changed during it), and
  // the arrivals s the open cycle holds after this one.
  const int in_cycle = update.held + (has_gradient ? 1 : 0);
  const int after = update.closes ? 0 : in_cycle;
  const auto cycle = static_cast<double>(iteration_size());
  // The estimate one cycle ahead if no gradient came: the cycle's other
  // C - s arrivals each step by eta * beta * m; then m <- beta * m + G / C
  // and s more arrivals step by eta * beta times that.
  const auto look_ahead_momentum = static_cast<float>(
    eta * beta_d * (cycle + static_cast<double>(after) * (beta_d - 1.0)));
  const auto look_ahead_sum
    = static_cast<float>(eta * beta_d * static_cast<double>(after) / cycle);
  const float close_weight = update.closes && in_cycle > 0
                               ? 1.0f / static_cast<float>(in_cycle)
                               : 0.0f;
  const float weight = update.gradient_weight;
  const bool looks_ahead
    = look_ahead_momentum != 0.0f || look_ahead_sum != 0.0f;

  auto& momentum = own_vector(momentum_slot);
  auto& sum = own_vector(accumulator_slot);
  float* m = momentum.data();
  float* gradient_sum = sum.data();
  const float* g = update.gradient;
  float* direction
    = has_gradient ? unshared(direction_, dimension()).data() : nullptr;
  float* offset
    = looks_ahead ? unshared(look_ahead_, dimension()).data() : nullptr;
  const auto n = static_cast<std::ptrdiff_t>(dimension());
  for (std::ptrdiff_t j = 0; j < n; ++j) {
    if (has_gradient) {
      const float weighted = weight == 1.0f ? g[j] : weight * g[j];
      direction[j] = weighted + beta * m[j]; // with the m before the close
      gradient_sum[j] += weighted;
    }
    if (update.closes) {
      m[j] = beta * m[j] + close_weight * gradient_sum[j];
      gradient_sum[j] = 0.0f;
    }
    if (looks_ahead)
      offset[j] = look_ahead_sum * gradient_sum[j] + look_ahead_momentum * m[j];
  }
  own_result result;
  if (has_gradient)
    result.step_vector = direction_;
  if (looks_ahead)
    result.look_ahead = look_ahead_;
  return result;
}

} // namespace ormo::optim
