#include "ormo/optim/asgd.hpp"

#include "ormo/optim/delay_adaptive_rate.hpp"

namespace ormo::optim {

asgd::asgd(std::size_t dimension, int iteration_size,
           const asgd_settings& settings)
  : update_rule(dimension, iteration_size, closing::every_arrival, false),
    settings_(settings) {}

const char* asgd::name() const {
  return settings_.delay_threshold ? "asgd-da" : "asgd";
}

update_rule::plan asgd::plan_for(iteration_index delay, bool) const {
  double rate = settings_.learning_rate;
  if (settings_.delay_threshold)
    rate = delay_adaptive_rate(rate, delay,
                               *settings_.delay_threshold * iteration_size());
  plan result;
  result.coefficients.parameter_gradient_weight = static_cast<float>(rate);
  return result;
}

} // namespace ormo::optim
