#include "ormo/actors/parameter_server.hpp"

#include "parameter_server_state.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>

#include "ormo/sole_owner.hpp"

namespace ormo::actors {

namespace {

constexpr std::size_t max_retired_buffers = 4;

parameter_snapshot snapshot_of(const parameter_server_state& state) {
  return {shared_vector{state.parameters}, state.iteration, state.version};
}

/// A buffer of `size` floats that no reader holds: the most recently
/// retired first. With workers taking turns that is the snapshot the pushing
/// worker has just released, still in its core's cache.
std::shared_ptr<Eigen::VectorXf> free_buffer(parameter_server_state& state,
                                             Eigen::Index size) {
  auto& retired = state.retired;
  for (auto buffer = retired.rbegin(); buffer != retired.rend(); ++buffer)
    if (sole_owner(*buffer))
      return std::exchange(*buffer, nullptr);
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

/// Why a step cannot be applied, or empty.
std::string invalid_step(const parameter_server_state& state,
                         const parameter_step& step) {
  const auto& c = step.update.coefficients;
  for (float value : {c.momentum_decay, c.momentum_gradient_weight,
                      c.parameter_gradient_weight, c.parameter_momentum_weight,
                      step.update.momentum_offset})
    if (!std::isfinite(value))
      return "step coefficient " + std::to_string(value) + " is not finite";
  auto size = static_cast<std::size_t>(state.parameters->size());
  if (c.uses_gradient() && step.gradient.size() != size)
    return "step gradient has " + std::to_string(step.gradient.size())
           + " values, the shard has " + std::to_string(size);
  return {};
}

void apply(parameter_server_state& state, const parameter_step& step) {
  using optim::update_rule;
  const auto& update = step.update;
  const auto& c = update.coefficients;
  auto& w = state.parameters;
  auto& u = state.momentum;
  Eigen::VectorXf none;
  const Eigen::VectorXf& g = c.uses_gradient() ? *step.gradient : none;
  if (c.changes_momentum() && u.size() == 0)
    u = Eigen::VectorXf::Zero(w->size());
  if (!update.changes_parameters()) {
    if (c.changes_momentum())
      update_rule::apply_step(update, g, u, none, none, none);
    return;
  }
  // Until the first step with an offset, w = base - 0 * u: w is the base.
  // From then on the base is kept apart (an offset of 0 later publishes it).
  if (update.momentum_offset != 0 && state.base.size() == 0)
    state.base = *w;
  // The new w goes in place when no reader holds w, otherwise into another
  // buffer (copy-on-write; the same single pass over memory either way).
  auto next = sole_owner(w) ? w : free_buffer(state, w->size());
  if (state.base.size() != 0) // w is derived from base and u
    update_rule::apply_step(update, g, u, state.base, state.base, *next);
  else // w is the base
    update_rule::apply_step(update, g, u, *w, *next, none);
  if (next != w)
    retire(state, std::exchange(w, std::move(next)));
  ++state.version;
}

} // namespace

parameter_server_actor::behavior_type
parameter_server(parameter_server_pointer self, Eigen::VectorXf initial,
                 std::shared_ptr<const shard_checkpoint> cut) {
  auto& state = self->state;
  state.parameters = std::make_shared<Eigen::VectorXf>(std::move(initial));
  if (cut) {
    state.momentum = cut->momentum;
    state.base = cut->base;
    state.version = cut->version;
    state.iteration = cut->server_iteration;
  }
  return {
    [=](pull_atom) { return snapshot_of(self->state); },
    [=](step_atom, const parameter_step& step) -> caf::result<push_outcome> {
      auto& state = self->state;
      if (auto problem = invalid_step(state, step); !problem.empty())
        return push_outcome{rejection_reason::invalid_step, std::move(problem),
                              {}};
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
    [=](checkpoint_atom) {
      auto& state = self->state;
      auto copy = [](const Eigen::VectorXf& v) {
        return v.size() == 0 ? shared_vector{} : share(v);
      };
      return caf::make_result(snapshot_of(state), copy(state.momentum),
                              copy(state.base));
    },
  };
}

parameter_server_actor spawn_parameter_server(caf::actor_system& system,
                                              Eigen::VectorXf initial) {
  return system.spawn(parameter_server, std::move(initial),
                      std::shared_ptr<const shard_checkpoint>{});
}

parameter_server_actor spawn_parameter_server(caf::actor_system& system,
                                              const shard_checkpoint& cut) {
  return system.spawn(parameter_server, cut.parameters,
                      std::make_shared<const shard_checkpoint>(cut));
}

} // namespace ormo::actors
