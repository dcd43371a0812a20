#include "ormo/optim/update_rule.hpp"

#include <cassert>

#include "ormo/optim/gradient_check.hpp"
#include "ormo/sole_owner.hpp"

namespace ormo::optim {

const char* to_string(rejection_reason reason) {
  switch (reason) {
    case rejection_reason::none:
      return "none";
    case rejection_reason::dimension_mismatch:
      return "dimension_mismatch";
    case rejection_reason::non_finite_value:
      return "non_finite_value";
    case rejection_reason::future_iteration:
      return "future_iteration";
    case rejection_reason::negative_iteration:
      return "negative_iteration";
    case rejection_reason::not_synchronous:
      return "not_synchronous";
  }
  return "unknown";
}

update_rule::update_rule(std::size_t dimension, int iteration_size,
                         closing closing, bool uses_momentum)
  : dimension_(dimension), iteration_size_(iteration_size), closing_(closing) {
  assert(iteration_size >= 1);
  if (uses_momentum)
    momentum_ = std::make_shared<Eigen::VectorXf>(
      Eigen::VectorXf::Zero(static_cast<Eigen::Index>(dimension)));
}

update_rule::~update_rule() = default;

int update_rule::arrivals_per_iteration() const {
  return closing_ == closing::every_arrival ? 1 : iteration_size_;
}

void update_rule::set_iteration_size(int size) {
  assert(size >= 1);
  iteration_size_ = size;
}

const Eigen::VectorXf& update_rule::momentum_storage() const {
  static const Eigen::VectorXf none;
  return momentum_ ? *momentum_ : none;
}

Eigen::VectorXf update_rule::momentum() const {
  return deferred_decay_ * momentum_storage();
}

Eigen::VectorXf& update_rule::writable_momentum() {
  if (!sole_owner(momentum_))
    momentum_ = std::make_shared<Eigen::VectorXf>(*momentum_);
  return *momentum_;
}

rejection_reason update_rule::admit(iteration_index, std::string&) const {
  return rejection_reason::none;
}

placement update_rule::offer(std::size_t size, std::size_t first_non_finite,
                             iteration_index computed_at) {
  placement result;
  result.iteration = iteration_;
  auto reject = [&](rejection_reason reason, std::string detail) {
    result.rejection = reason;
    result.detail = std::move(detail);
    return result;
  };
  if (size != dimension_)
    return reject(rejection_reason::dimension_mismatch,
                  "gradient has " + std::to_string(size)
                    + " values, the parameters have "
                    + std::to_string(dimension_));
  if (computed_at < 0)
    return reject(rejection_reason::negative_iteration,
                  "iteration index " + std::to_string(computed_at)
                    + " is negative");
  if (computed_at > iteration_)
    return reject(rejection_reason::future_iteration,
                  "iteration index " + std::to_string(computed_at)
                    + " is ahead of the current iteration "
                    + std::to_string(iteration_));
  if (first_non_finite != size)
    return reject(rejection_reason::non_finite_value,
                  "gradient value " + std::to_string(first_non_finite)
                    + " is not finite");
  auto delay = iteration_ - computed_at;
  std::string detail;
  if (auto reason = admit(delay, detail); reason != rejection_reason::none)
    return reject(reason, std::move(detail));
  bool closes = arrivals_ + 1 >= arrivals_per_iteration();
  auto planned = plan_for(delay, closes);
  result.coefficients = planned.coefficients;
  result.coefficients.momentum_decay *= deferred_decay_;
  if (iteration_ < warmup_) {
    auto scale
      = static_cast<float>(iteration_ + 1) / static_cast<float>(warmup_);
    result.coefficients.momentum_gradient_weight *= scale;
    result.coefficients.parameter_gradient_weight *= scale;
  }
  deferred_decay_ = planned.deferred_decay;
  result.delay = delay;
  result.closed_iteration = closes;
  if (closes) {
    ++iteration_;
    arrivals_ = 0;
  } else {
    ++arrivals_;
  }
  result.iteration = iteration_;
  return result;
}

void update_rule::update_momentum(const update_coefficients& c,
                                  gradient_view gradient) {
  if (!c.changes_momentum())
    return;
  auto& u = writable_momentum();
  if (c.momentum_gradient_weight == 0.0f)
    u *= c.momentum_decay;
  else if (c.momentum_decay == 1.0f)
    u += c.momentum_gradient_weight * gradient;
  else
    u = c.momentum_decay * u + c.momentum_gradient_weight * gradient;
}

placement update_rule::close_iteration() {
  placement result;
  result.iteration = iteration_;
  if (closing_ != closing::every_k_arrivals || arrivals_ == 0
      || arrivals_ < iteration_size_)
    return result;
  auto planned = plan_for(0, true);
  auto& c = result.coefficients;
  c = planned.coefficients;
  c.momentum_gradient_weight = 0;
  c.parameter_gradient_weight = 0;
  c.momentum_decay *= deferred_decay_;
  deferred_decay_ = planned.deferred_decay;
  update_momentum(c, Eigen::VectorXf{});
  result.closed_iteration = true;
  result.iteration = ++iteration_;
  arrivals_ = 0;
  return result;
}

namespace {

std::size_t first_non_finite_of(gradient_view gradient, std::size_t dimension) {
  auto size = static_cast<std::size_t>(gradient.size());
  return size == dimension ? find_non_finite(gradient.data(), size) : size;
}

} // namespace

placement update_rule::place(gradient_view gradient,
                             iteration_index computed_at) {
  auto result = offer(static_cast<std::size_t>(gradient.size()),
                      first_non_finite_of(gradient, dimension_), computed_at);
  if (result.accepted())
    update_momentum(result.coefficients, gradient);
  return result;
}

placement update_rule::place(const checked_gradient& gradient,
                             iteration_index computed_at) {
  auto result
    = offer(gradient.size(), gradient.first_non_finite(), computed_at);
  if (result.accepted())
    update_momentum(result.coefficients, gradient.values());
  return result;
}

placement update_rule::place_and_apply(gradient_view gradient,
                                       iteration_index computed_at,
                                       parameter_view parameters) {
  auto result = offer(static_cast<std::size_t>(gradient.size()),
                      first_non_finite_of(gradient, dimension_), computed_at);
  if (result.accepted())
    apply_fused(result.coefficients, gradient, parameters);
  return result;
}

placement update_rule::place_and_apply(const checked_gradient& gradient,
                                       iteration_index computed_at,
                                       parameter_view parameters) {
  auto result
    = offer(gradient.size(), gradient.first_non_finite(), computed_at);
  if (result.accepted())
    apply_fused(result.coefficients, gradient.values(), parameters);
  return result;
}

void update_rule::apply_fused(const update_coefficients& c,
                              gradient_view gradient,
                              parameter_view parameters) {
  assert(static_cast<std::size_t>(parameters.size()) == dimension_);
  if (!c.changes_momentum() || !c.changes_parameters()) {
    update_momentum(c, gradient);
    apply_parameter_step(c, gradient, momentum_storage(), parameters);
    return;
  }
  // Both change: one pass over g, u and w instead of two.
  const float* g = gradient.data();
  float* __restrict u = writable_momentum().data();
  float* __restrict w = parameters.data();
  const float decay = c.momentum_decay;
  const float momentum_weight = c.momentum_gradient_weight;
  const float gradient_step = c.parameter_gradient_weight;
  const float momentum_step = c.parameter_momentum_weight;
  const auto n = static_cast<std::ptrdiff_t>(dimension_);
  for (std::ptrdiff_t j = 0; j < n; ++j) {
    float updated = decay * u[j] + momentum_weight * g[j];
    u[j] = updated;
    w[j] -= gradient_step * g[j] + momentum_step * updated;
  }
}

void update_rule::apply_parameter_step(const update_coefficients& c,
                                       gradient_view gradient,
                                       gradient_view momentum,
                                       parameter_view parameters) {
  const float a = c.parameter_gradient_weight;
  const float b = c.parameter_momentum_weight;
  if (a != 0.0f && b != 0.0f)
    parameters -= a * gradient + b * momentum;
  else if (a != 0.0f)
    parameters -= a * gradient;
  else if (b != 0.0f)
    parameters -= b * momentum;
}

} // namespace ormo::optim
