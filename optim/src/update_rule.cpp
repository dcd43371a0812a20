#include "ormo/optim/update_rule.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <string>

#include "ormo/optim/gradient_check.hpp"
#include "ormo/sole_owner.hpp"

namespace ormo::optim {

namespace {

std::shared_ptr<Eigen::VectorXf> zero_vector(std::size_t dimension) {
  return std::make_shared<Eigen::VectorXf>(
    Eigen::VectorXf::Zero(static_cast<Eigen::Index>(dimension)));
}

} // namespace

update_rule::update_rule(std::size_t dimension, int iteration_size,
                         closing closing, bool uses_momentum)
  : update_rule(dimension, iteration_size, closing, uses_momentum,
                own_vectors{}) {}

update_rule::update_rule(std::size_t dimension, int iteration_size,
                         closing closing, bool uses_momentum, own_vectors own)
  : dimension_(dimension), iteration_size_(iteration_size), closing_(closing),
    own_spec_(own) {
  assert(iteration_size >= 1);
  assert(own.count >= 0);
  if (uses_momentum)
    momentum_ = Eigen::VectorXf::Zero(static_cast<Eigen::Index>(dimension));
  for (int k = 0; k < own.count; ++k)
    own_.push_back(zero_vector(dimension));
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
  return momentum_;
}

Eigen::VectorXf update_rule::momentum() const {
  return deferred_decay_ * momentum_;
}

bool update_rule::holds_pushes_until_close() const {
  return false;
}

rejection_reason update_rule::admit(iteration_index, std::string&) const {
  return rejection_reason::none;
}

update_rule::own_result update_rule::update_own_vectors(const own_update&) {
  return {};
}

void update_rule::join(worker_id worker) {
  if (own_spec_.per_worker)
    worker_vector(worker);
}

void update_rule::leave(worker_id worker) {
  worker_vectors_.erase(worker);
}

std::shared_ptr<Eigen::VectorXf>& update_rule::worker_vector(worker_id worker) {
  assert(own_spec_.per_worker);
  auto& slot = worker_vectors_[worker];
  if (!slot)
    slot = zero_vector(dimension_);
  return slot;
}

std::shared_ptr<const Eigen::VectorXf>
update_rule::find_worker_vector(worker_id worker) const {
  auto found = worker_vectors_.find(worker);
  if (found == worker_vectors_.end())
    return nullptr;
  return found->second;
}

std::shared_ptr<const Eigen::VectorXf>
update_rule::make_writable(std::shared_ptr<Eigen::VectorXf>& slot) {
  assert(slot);
  if (sole_owner(slot))
    return slot;
  std::shared_ptr<const Eigen::VectorXf> previous = std::move(slot);
  slot = std::make_shared<Eigen::VectorXf>(previous->size());
  return previous;
}

namespace {

/// The offset form of `c` (scaled already), planned with `base` (see
/// plan::base_minus_momentum), whose gradient weight takes `gradient_scale`;
/// `deferred_decay` is the one in force after the step (logical u =
/// deferred_decay * stored u).
offset_step offset_form_of(const update_coefficients& c,
                           const std::optional<update_coefficients>& base,
                           float gradient_scale, float deferred_decay) {
  offset_step step;
  step.coefficients = c;
  if (base) {
    step.coefficients.parameter_gradient_weight
      = base->parameter_gradient_weight * gradient_scale;
    step.coefficients.parameter_momentum_weight
      = base->parameter_momentum_weight;
    step.momentum_offset = deferred_decay;
  }
  return step;
}

} // namespace

placement update_rule::offer(std::size_t size, std::size_t first_non_finite,
                             iteration_index computed_at, worker_id worker,
                             const float* values) {
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
  float scale = 1.0f;
  if (iteration_ < warmup_)
    scale = static_cast<float>(iteration_ + 1) / static_cast<float>(warmup_);
  if (own_spec_.any()) {
    // The own pass weighs g; the coefficients apply to its step vector.
    own_update update;
    update.gradient = values;
    update.worker = worker;
    update.gradient_weight = scale;
    update.held = arrivals_;
    update.closes = closes;
    auto own = update_own_vectors(update);
    result.step_vector = std::move(own.step_vector);
    result.look_ahead = std::move(own.look_ahead);
    scale = 1.0f;
  } else if (scale != 1.0f) {
    result.coefficients.momentum_gradient_weight *= scale;
    result.coefficients.parameter_gradient_weight *= scale;
  }
  deferred_decay_ = planned.deferred_decay;
  result.offset_form = offset_form_of(
    result.coefficients, planned.base_minus_momentum, scale, deferred_decay_);
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
  if (!c.changes_momentum() || momentum_.size() == 0)
    return;
  auto& u = momentum_;
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
  if (own_spec_.any()) {
    own_update update;
    update.held = arrivals_;
    update.closes = true;
    // No gradient: the step moves no w (its gradient terms are 0 above).
    result.look_ahead = update_own_vectors(update).look_ahead;
  }
  // No gradient: its weights in the base are 0 too.
  result.offset_form
    = offset_form_of(c, planned.base_minus_momentum, 0.0f, deferred_decay_);
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
                             iteration_index computed_at, worker_id worker) {
  auto result = offer(static_cast<std::size_t>(gradient.size()),
                      first_non_finite_of(gradient, dimension_), computed_at,
                      worker, gradient.data());
  if (result.accepted())
    update_momentum(result.coefficients, result.step_input(gradient));
  return result;
}

placement update_rule::place(const checked_gradient& gradient,
                             iteration_index computed_at, worker_id worker) {
  auto result
    = offer(gradient.size(), gradient.first_non_finite(), computed_at, worker,
            gradient.size() != 0 ? gradient.values().data() : nullptr);
  if (result.accepted())
    update_momentum(result.coefficients, result.step_input(gradient.values()));
  return result;
}

placement update_rule::place_and_apply(gradient_view gradient,
                                       iteration_index computed_at,
                                       parameter_view parameters,
                                       worker_id worker) {
  auto result = offer(static_cast<std::size_t>(gradient.size()),
                      first_non_finite_of(gradient, dimension_), computed_at,
                      worker, gradient.data());
  if (result.accepted())
    apply_fused(result.coefficients, result.step_input(gradient), parameters);
  return result;
}

placement update_rule::place_and_apply(const checked_gradient& gradient,
                                       iteration_index computed_at,
                                       parameter_view parameters,
                                       worker_id worker) {
  auto result
    = offer(gradient.size(), gradient.first_non_finite(), computed_at, worker,
            gradient.size() != 0 ? gradient.values().data() : nullptr);
  if (result.accepted())
    apply_fused(result.coefficients, result.step_input(gradient.values()),
                parameters);
  return result;
}

namespace {

/// w <- w - c.parameter_gradient_weight * g - c.parameter_momentum_weight * u.
void step_parameters(const update_coefficients& c, gradient_view gradient,
                     gradient_view momentum, parameter_view parameters) {
  const float a = c.parameter_gradient_weight;
  const float b = c.parameter_momentum_weight;
  if (a != 0.0f && b != 0.0f)
    parameters -= a * gradient + b * momentum;
  else if (a != 0.0f)
    parameters -= a * gradient;
  else if (b != 0.0f)
    parameters -= b * momentum;
}

} // namespace

void update_rule::apply_fused(const update_coefficients& c,
                              gradient_view gradient,
                              parameter_view parameters) {
  assert(static_cast<std::size_t>(parameters.size()) == dimension_);
  assert(!c.changes_momentum()
         || static_cast<std::size_t>(momentum_.size()) == dimension_);
  if (!c.changes_momentum() || !c.changes_parameters()) {
    update_momentum(c, gradient);
    step_parameters(c, gradient, momentum_, parameters);
    return;
  }
  // Both change: one pass over g, u and w instead of two.
  const float* g = gradient.data();
  float* __restrict u = momentum_.data();
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

void update_rule::apply_step(const offset_step& step, gradient_view gradient,
                             parameter_view momentum, gradient_view from,
                             parameter_view base, parameter_view published) {
  const auto& c = step.coefficients;
  const float decay = c.momentum_decay;
  const float m = c.momentum_gradient_weight;
  const float a = c.parameter_gradient_weight;
  const float b = c.parameter_momentum_weight;
  const float offset = step.momentum_offset;
  const bool moves_u = c.changes_momentum();
  const bool writes_base
    = base.size() != 0
      && (c.changes_parameters() || from.data() != base.data());
  const bool publishes = published.size() != 0;
  assert(from.size() == base.size());
  assert(!publishes || published.size() == base.size());
  assert(!moves_u || base.size() == 0 || momentum.size() == base.size());
  // Blocks of 4 KiB: the new values of u are still in L1 when base and the
  // published w read them, so memory is passed over once.
  constexpr Eigen::Index block = 1024;
  const Eigen::Index n = base.size() != 0 ? base.size() : momentum.size();
  for (Eigen::Index j = 0; j < n; j += block) {
    const auto len = std::min(block, n - j);
    if (moves_u) {
      auto u = momentum.segment(j, len);
      if (m == 0.0f)
        u *= decay;
      else if (decay == 1.0f)
        u += m * gradient.segment(j, len);
      else
        u = decay * u + m * gradient.segment(j, len);
    }
    if (writes_base) {
      auto to = base.segment(j, len);
      auto source = from.segment(j, len);
      if (a != 0.0f && b != 0.0f)
        to = source - a * gradient.segment(j, len)
             - b * momentum.segment(j, len);
      else if (a != 0.0f)
        to = source - a * gradient.segment(j, len);
      else if (b != 0.0f)
        to = source - b * momentum.segment(j, len);
      else
        to = source;
    }
    if (publishes) {
      if (offset != 0.0f)
        published.segment(j, len)
          = base.segment(j, len) - offset * momentum.segment(j, len);
      else
        published.segment(j, len) = base.segment(j, len);
    }
  }
}

rule_state update_rule::state() const {
  rule_state state;
  state.iteration = iteration_;
  state.arrivals = arrivals_;
  state.iteration_size = iteration_size_;
  state.deferred_decay = deferred_decay_;
  state.momentum = momentum_;
  for (const auto& vector : own_)
    state.own_vectors.push_back(*vector);
  for (const auto& [worker, vector] : worker_vectors_)
    state.worker_vectors.emplace(worker, *vector);
  return state;
}

status update_rule::restore(const rule_state& state) {
  auto refuse = [](std::string what) {
    return status::error(status_code::corrupt, "rule state: " + what);
  };
  if (state.iteration < 0)
    return refuse("iteration index " + std::to_string(state.iteration)
                  + " is negative");
  if (state.iteration_size < 1)
    return refuse("iteration size " + std::to_string(state.iteration_size)
                  + " is below 1");
  if (state.arrivals < 0)
    return refuse(std::to_string(state.arrivals)
                  + " arrivals in the open iteration");
  if (!std::isfinite(state.deferred_decay))
    return refuse("deferred decay is not finite");
  if (state.momentum.size() != momentum_.size())
    return refuse("momentum of " + std::to_string(state.momentum.size())
                  + " values, this rule stores "
                  + std::to_string(momentum_.size()));
  if (!state.momentum.allFinite())
    return refuse("momentum is not finite");
  if (state.own_vectors.size() != own_.size())
    return refuse(std::to_string(state.own_vectors.size())
                  + " own vectors, this rule keeps "
                  + std::to_string(own_.size()));
  if (!own_spec_.per_worker && !state.worker_vectors.empty())
    return refuse("vectors of " + std::to_string(state.worker_vectors.size())
                  + " workers, this rule keeps none");
  auto fits = [&](const Eigen::VectorXf& v) {
    return static_cast<std::size_t>(v.size()) == dimension_ && v.allFinite();
  };
  for (std::size_t k = 0; k < state.own_vectors.size(); ++k)
    if (!fits(state.own_vectors[k]))
      return refuse("own vector " + std::to_string(k) + " of "
                    + std::to_string(state.own_vectors[k].size())
                    + " values is not " + std::to_string(dimension_)
                    + " finite values");
  for (const auto& [worker, vector] : state.worker_vectors)
    if (!fits(vector))
      return refuse("the vector of worker " + std::to_string(worker) + " of "
                    + std::to_string(vector.size()) + " values is not "
                    + std::to_string(dimension_) + " finite values");
  iteration_ = state.iteration;
  arrivals_ = state.arrivals;
  iteration_size_ = state.iteration_size;
  deferred_decay_ = state.deferred_decay;
  momentum_ = state.momentum;
  for (std::size_t k = 0; k < own_.size(); ++k)
    own_[k] = std::make_shared<Eigen::VectorXf>(state.own_vectors[k]);
  worker_vectors_.clear();
  for (const auto& [worker, vector] : state.worker_vectors)
    worker_vectors_.emplace(worker, std::make_shared<Eigen::VectorXf>(vector));
  return status::ok();
}

} // namespace ormo::optim
