// Helpers shared by the actor tests: an actor system under CAF's test
// coordinator driven from the test thread (virtual time, no sleeps), a client
// that turns a request into a value the test can check, and tiny gradient
// sources.
//
// Blocking actors (caf::scoped_actor) deadlock under the test coordinator, so
// every request goes through a short-lived event-based client actor. A
// deterministic_system ends every actor it knows of before the actor system
// is destroyed (the destructor of caf::actor_system waits for them).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/send.hpp>
#include <doctest/doctest.h>

#include "ormo/actors/interfaces.hpp"
#include "ormo/actors/momentum_orderer.hpp"
#include "ormo/actors/parameter_server.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/actors/supervisor.hpp"
#include "ormo/actors/training.hpp"
#include "ormo/actors/worker.hpp"
#include "ormo/model/gradient_source.hpp"
#include "ormo/optim/update_rule.hpp"
#include "ormo/status.hpp"

namespace ormo::actors::testing {

/// What make_source functions return.
using source_result = result<std::shared_ptr<model::gradient_source>>;

/// A new `Source` made from `xs...`, as a make_source function returns it.
template <class Source, class... Ts>
source_result source_of(Ts&&... xs) {
  return std::shared_ptr<model::gradient_source>(
    std::make_shared<Source>(std::forward<Ts>(xs)...));
}

/// What a client actor received for one request.
template <class T>
struct reply {
  std::optional<T> value;
  std::optional<caf::error> error;

  bool arrived() const { return value.has_value() || error.has_value(); }
};

/// The configuration of a deterministic ormo system.
struct deterministic_config : caf::actor_system_config {
  deterministic_config() { configure(*this, /*deterministic=*/true); }
};

/// An actor system under CAF's test coordinator (virtual time).
class deterministic_system {
public:
  deterministic_system()
    : system_(config_), sched(dynamic_cast<caf::scheduler::test_coordinator&>(
                          system_.scheduler())) {}

  deterministic_system(const deterministic_system&) = delete;
  deterministic_system& operator=(const deterministic_system&) = delete;

  ~deterministic_system() { shutdown(); }

  caf::actor_system& sys() { return system_; }

  caf::actor_clock::time_point now() { return sched.clock().now(); }

  /// Runs every message that can run now (no time passes).
  void run() { sched.run(); }

  /// Discrete-event simulation up to now + `duration`: runs everything,
  /// fires the next due timeout (delayed messages) and so on; timeouts due
  /// later than the deadline stay pending. Time then stands at the deadline.
  void run_for(caf::timespan duration) {
    auto& clock = sched.clock();
    const auto deadline = clock.now() + duration;
    for (;;) {
      sched.run();
      const auto& schedule = clock.schedule();
      if (schedule.empty() || schedule.begin()->first > deadline)
        break;
      sched.trigger_timeout();
    }
    if (clock.current_time < deadline)
      clock.current_time = deadline;
  }

  /// Keeps `handle` alive (an actor whose last handle is dropped
  /// terminates) and ends it (kill) when the test ends.
  template <class Handle>
  Handle track(Handle handle) {
    tracked_.push_back(caf::actor_cast<caf::actor>(handle));
    return handle;
  }

  /// Sends stop_atom to `handle` when the test ends (it stops its workers).
  supervisor_actor track_supervisor(supervisor_actor handle) {
    supervisors_.push_back(handle);
    return track(handle);
  }

  /// Spawns a client that sends `xs...` to `to` as a request and stores the
  /// answer (or the error) in the returned reply. Run the scheduler to get it.
  template <class T, class Handle, class... Ts>
  std::shared_ptr<reply<T>> request(const Handle& to, Ts... xs) {
    auto result = std::make_shared<reply<T>>();
    // Spawned with arguments: CAF 0.17 binds a null tuple for an actor
    // spawned without any (a UBSan report whose suppression cannot match
    // when the symbolizer's buffer is too small for these type names).
    auto client = system_.spawn(
      [](caf::event_based_actor* self, std::shared_ptr<reply<T>> result,
         Handle to, Ts... xs) {
        self->request(to, caf::infinite, xs...)
          .then([=](T& value) { result->value = std::move(value); },
                [=](caf::error& error) { result->error = std::move(error); });
      },
      result, to, xs...);
    track(client);
    return result;
  }

  /// request() and run(); REQUIRES an answer that is a T.
  template <class T, class Handle, class... Ts>
  T ask(const Handle& to, Ts... xs) {
    auto answer = request<T>(to, std::move(xs)...);
    run();
    REQUIRE(answer->arrived());
    if (answer->error)
      FAIL(system_.render(*answer->error));
    return std::move(*answer->value);
  }

  /// Actors that have not terminated yet (CAF's registry count).
  std::size_t running() { return system_.registry().running(); }

  /// Stops the supervisors, kills everything tracked and lets the system
  /// become idle. Called by the destructor; idempotent.
  void shutdown() {
    for (auto& supervisor : supervisors_)
      caf::anon_send(supervisor, stop_atom::value);
    supervisors_.clear();
    sched.run();
    for (auto& handle : tracked_)
      caf::anon_send_exit(handle, caf::exit_reason::kill);
    for (int round = 0; round < 100000; ++round) {
      sched.run();
      if (!sched.has_pending_timeout())
        break;
      sched.trigger_timeouts();
    }
    sched.run();
    tracked_.clear();
    if (system_.registry().running() != 0) {
      // Do not hang in ~actor_system: report the leak instead.
      FAIL_CHECK("actors still running at the end of the test: "
                 << system_.registry().running());
      system_.await_actors_before_shutdown(false);
    }
  }

private:
  deterministic_config config_;
  caf::actor_system system_;

public:
  caf::scheduler::test_coordinator& sched;

private:
  std::vector<caf::actor> tracked_;
  std::vector<supervisor_actor> supervisors_;
};

/// One parameter_server + momentum_orderer pair.
inline shard_route spawn_shard(deterministic_system& env,
                               Eigen::VectorXf initial,
                               std::unique_ptr<optim::update_rule> rule,
                               Eigen::Index offset = 0) {
  shard_route route;
  route.offset = offset;
  route.size = initial.size();
  route.server = env.track(spawn_parameter_server(env.sys(), initial));
  route.orderer = env.track(spawn_momentum_orderer(
    env.sys(), std::shared_ptr<optim::update_rule>(std::move(rule)),
    route.server));
  return route;
}

/// A push of `gradient` (checked here, as a worker would).
inline gradient_push make_push(worker_id worker, std::uint64_t sequence,
                               iteration_index computed_at,
                               const Eigen::VectorXf& gradient,
                               float loss = 0) {
  gradient_push push;
  push.worker = worker;
  push.sequence = sequence;
  push.computed_at = computed_at;
  push.gradient = optim::checked_gradient::check(
    std::make_shared<const Eigen::VectorXf>(gradient));
  push.loss = loss;
  return push;
}

/// Largest |a - b|; infinity when the sizes differ.
inline double max_abs_difference(const Eigen::VectorXf& a,
                                 const Eigen::VectorXf& b) {
  if (a.size() != b.size())
    return INFINITY;
  if (a.size() == 0)
    return 0;
  return static_cast<double>((a - b).cwiseAbs().maxCoeff());
}

/// The sum of a map's counts (by reason, by reason name, by worker).
template <class Key>
std::uint64_t total(const std::map<Key, std::uint64_t>& counts) {
  std::uint64_t sum = 0;
  for (const auto& [key, count] : counts)
    sum += count;
  return sum;
}

/// gradient = w - target, loss = |w - target|^2 / 2; counts its calls.
class quadratic_source : public model::gradient_source {
public:
  explicit quadratic_source(Eigen::VectorXf target)
    : target_(std::move(target)) {}

  std::size_t dimension() const override {
    return static_cast<std::size_t>(target_.size());
  }
  std::size_t batch_size() const override { return 1; }

  float compute(Eigen::Ref<const Eigen::VectorXf> parameters,
                Eigen::Ref<Eigen::VectorXf> gradient) override {
    ++calls;
    gradient = parameters - target_;
    return 0.5f * gradient.squaredNorm();
  }

  int calls = 0;

private:
  Eigen::VectorXf target_;
};

/// A quadratic_source whose call number `failing_call` (1-based) and every
/// later one throw.
class throwing_source : public quadratic_source {
public:
  throwing_source(Eigen::VectorXf target, int failing_call)
    : quadratic_source(std::move(target)), failing_call_(failing_call) {}

  float compute(Eigen::Ref<const Eigen::VectorXf> parameters,
                Eigen::Ref<Eigen::VectorXf> gradient) override {
    if (calls + 1 >= failing_call_) {
      ++calls;
      throw std::runtime_error("test source fails on purpose");
    }
    return quadratic_source::compute(parameters, gradient);
  }

private:
  int failing_call_;
};

/// Always returns a gradient with a NaN in it.
class nan_source : public quadratic_source {
public:
  using quadratic_source::quadratic_source;

  float compute(Eigen::Ref<const Eigen::VectorXf> parameters,
                Eigen::Ref<Eigen::VectorXf> gradient) override {
    quadratic_source::compute(parameters, gradient);
    gradient[0] = NAN;
    return 1;
  }
};

/// Deterministic timing: `slowdown` * `compute` of virtual time per gradient.
inline worker_timing virtual_timing(double slowdown = 1,
                                    caf::timespan compute
                                    = std::chrono::milliseconds(1)) {
  worker_timing timing;
  timing.slowdown = slowdown;
  timing.virtual_compute = compute;
  return timing;
}

} // namespace ormo::actors::testing
