#include "ormo/optim/naive_momentum.hpp"

namespace ormo::optim {

naive_momentum::naive_momentum(std::size_t dimension, int iteration_size,
                               const naive_momentum_settings& settings)
  : update_rule(dimension, iteration_size, closing::every_arrival, true),
    settings_(settings) {}

const char* naive_momentum::name() const {
  return "naive-asgdm";
}

update_rule::plan naive_momentum::plan_for(iteration_index, bool) const {
  plan result;
  result.coefficients.momentum_decay = static_cast<float>(settings_.momentum);
  result.coefficients.momentum_gradient_weight = 1.0f;
  result.coefficients.parameter_momentum_weight
    = static_cast<float>(settings_.learning_rate);
  return result;
}

} // namespace ormo::optim
