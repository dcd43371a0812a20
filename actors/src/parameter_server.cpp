#include "ormo/actors/parameter_server.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "ormo/sole_owner.hpp"

namespace ormo::actors {

namespace {

constexpr std::size_t max_retired_buffers = 4;

parameter_snapshot snapshot_of(const parameter_server_state& state) {
  return {shared_vector{state.parameters}, state.iteration, state.version};
}

/// A buffer of `size` floats that no reader holds.
std::shared_ptr<Eigen::VectorXf> free_buffer(parameter_server_state& state,
                                             Eigen::Index size) {
  for (auto& buffer : state.retired)
    if (sole_owner(buffer))
      return std::exchange(buffer, nullptr);
  return std::make_shared<Eigen::VectorXf>(size);
}

void retire(parameter_server_state& state,
            std::shared_ptr<Eigen::VectorXf> buffer) {
  auto& retired = state.retired;
  retired.erase(std::remove(retired.begin(), retired.end(), nullptr),
                retired.end());
  if (retired.size() < max_retired_buffers)
    retired.push_back(std::move(buffer));
}

/// Why a step cannot be applied to w, or empty.
std::string invalid_step(const parameter_server_state& state,
                         const parameter_step& step) {
  auto size = static_cast<std::size_t>(state.parameters->size());
  if (step.gradient_weight != 0 && step.gradient.size() != size)
    return "step gradient has " + std::to_string(step.gradient.size())
           + " values, the shard has " + std::to_string(size);
  if (step.momentum_weight != 0 && step.momentum.size() != size)
    return "step momentum has " + std::to_string(step.momentum.size())
           + " values, the shard has " + std::to_string(size);
  return {};
}

void apply(parameter_server_state& state, const parameter_step& step) {
  const float a = step.gradient_weight;
  const float b = step.momentum_weight;
  if (a == 0 && b == 0)
    return;
  optim::update_coefficients coefficients;
  coefficients.parameter_gradient_weight = a;
  coefficients.parameter_momentum_weight = b;
  static const Eigen::VectorXf none;
  const auto& g = a != 0 ? *step.gradient : none;
  const auto& u = b != 0 ? *step.momentum : none;
  auto& w = state.parameters;
  if (sole_owner(w)) {
    optim::update_rule::apply_parameter_step(coefficients, g, u, *w);
  } else {
    // A reader holds w: write w - step into another buffer (same single
    // pass over memory as in place).
    auto next = free_buffer(state, w->size());
    if (a != 0 && b != 0)
      next->noalias() = *w - a * g - b * u;
    else if (a != 0)
      next->noalias() = *w - a * g;
    else
      next->noalias() = *w - b * u;
    retire(state, std::exchange(w, std::move(next)));
  }
  ++state.version;
}

} // namespace

parameter_server_actor::behavior_type
parameter_server(parameter_server_pointer self, Eigen::VectorXf initial) {
  self->state.parameters
    = std::make_shared<Eigen::VectorXf>(std::move(initial));
  return {
    [=](pull_atom) { return snapshot_of(self->state); },
    [=](step_atom, const parameter_step& step) -> caf::result<push_outcome> {
      auto& state = self->state;
      if (auto problem = invalid_step(state, step); !problem.empty())
        return push_outcome{"invalid_step", std::move(problem), {}};
      apply(state, step);
      state.iteration = step.iteration;
      if (step.hold_until_close && !step.closed_iteration) {
        state.held.push_back(self->make_response_promise<push_outcome>());
        return state.held.back();
      }
      push_outcome outcome{{}, {}, snapshot_of(state)};
      for (auto& promise : state.held)
        promise.deliver(outcome);
      state.held.clear();
      return outcome;
    },
  };
}

} // namespace ormo::actors
