#include "ormo/optim/ordered_momentum.hpp"

#include <cmath>

#include "ormo/optim/delay_adaptive_rate.hpp"

namespace ormo::optim {

const char* to_string(apply_mode mode) {
  return mode == apply_mode::on_close ? "on_close" : "on_arrival";
}

ordered_momentum::ordered_momentum(std::size_t dimension, int iteration_size,
                                   const ordered_momentum_settings& settings)
  : update_rule(dimension, iteration_size, closing::every_k_arrivals, true),
    settings_(settings) {}

const char* ordered_momentum::name() const {
  return settings_.delay_threshold ? "ormo-da" : "ormo";
}

namespace {

// 1 + beta + ... + beta^(count-1), i.e. (1 - beta^count) / (1 - beta).
double geometric_sum(double beta, iteration_index count) {
  return (1.0 - std::pow(beta, static_cast<double>(count))) / (1.0 - beta);
}

} // namespace

update_rule::plan ordered_momentum::plan_for(iteration_index delay,
                                             bool closes) const {
  const double beta = settings_.momentum;
  double rate = settings_.learning_rate;
  if (settings_.delay_threshold)
    rate = delay_adaptive_rate(rate, delay, *settings_.delay_threshold);
  // c = eta(t - i) / K, with the K in force at arrival.
  const double c = rate / iteration_size();
  plan result;
  auto& coefficients = result.coefficients;
  coefficients.momentum_gradient_weight
    = static_cast<float>(std::pow(beta, static_cast<double>(delay)) * c);
  // on_close: the step the gradient would already have caused in the
  // `delay` iterations closed since i; the current one moves w at the close.
  update_coefficients on_close = coefficients;
  on_close.parameter_gradient_weight
    = static_cast<float>(geometric_sum(beta, delay) * c);
  on_close.parameter_momentum_weight = closes ? 1.0f : 0.0f;
  if (settings_.apply == apply_mode::on_close) {
    coefficients = on_close;
  } else {
    // Its full weight including the current iteration; at a close the
    // decayed momentum (beta * u) is applied as the next iteration opens.
    coefficients.parameter_gradient_weight
      = static_cast<float>(geometric_sum(beta, delay + 1) * c);
    coefficients.parameter_momentum_weight
      = closes ? static_cast<float>(beta) : 0.0f;
    // The same w is on_close's minus the logical momentum: the placements
    // differ by exactly u at every moment.
    result.base_minus_momentum = on_close;
  }
  result.deferred_decay = closes ? static_cast<float>(beta) : 1.0f;
  return result;
}

} // namespace ormo::optim
