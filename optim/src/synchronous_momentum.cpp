#include "ormo/optim/synchronous_momentum.hpp"

namespace ormo::optim {

synchronous_momentum::synchronous_momentum(
  std::size_t dimension, int iteration_size,
  const synchronous_momentum_settings& settings)
  : update_rule(dimension, iteration_size, closing::every_k_arrivals, true),
    settings_(settings) {}

const char* synchronous_momentum::name() const {
  return "ssgdm";
}

bool synchronous_momentum::holds_pushes_until_close() const {
  return true;
}

rejection_reason synchronous_momentum::admit(iteration_index delay,
                                             std::string& detail) const {
  if (delay == 0)
    return rejection_reason::none;
  detail = "gradient is " + std::to_string(delay)
           + " iteration(s) old; the synchronous reference takes only the "
             "current iteration";
  return rejection_reason::not_synchronous;
}

update_rule::plan synchronous_momentum::plan_for(iteration_index,
                                                 bool closes) const {
  // Accumulating (eta/K)*g per arrival into the decayed u is the sum form.
  plan result;
  result.coefficients.momentum_gradient_weight
    = static_cast<float>(settings_.learning_rate / iteration_size());
  result.coefficients.parameter_momentum_weight = closes ? 1.0f : 0.0f;
  result.deferred_decay
    = closes ? static_cast<float>(settings_.momentum) : 1.0f;
  return result;
}

} // namespace ormo::optim
