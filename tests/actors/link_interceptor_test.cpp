// link_interceptor in front of a recording orderer, in virtual time: each
// fault does to the pushes and answers what it says, only while it lasts,
// and the counts reach the observer.
#include "ormo/actors/link_interceptor.hpp"

#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "actors/actor_testing.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;
using std::chrono::milliseconds;

namespace {

/// What the recording orderer saw, and the observer heard.
struct record {
  /// (worker, sequence) of each push, in arrival order.
  std::vector<std::pair<worker_id, std::uint64_t>> pushes;
  std::vector<std::pair<std::uint64_t, iteration_index>> tallies;
};

/// Accepts every push at once with iteration index = pushes received.
momentum_orderer_actor::behavior_type
recording_orderer(momentum_orderer_actor::pointer,
                  std::shared_ptr<record> seen) {
  return {
    [=](push_atom, const gradient_push& push) {
      seen->pushes.emplace_back(push.worker, push.sequence);
      push_outcome outcome;
      outcome.snapshot.parameters = share(Eigen::VectorXf::Zero(2));
      outcome.snapshot.iteration
        = static_cast<iteration_index>(seen->pushes.size());
      return outcome;
    },
    [](join_atom, worker_id) {},
    [](leave_atom, worker_id) {},
    [](resize_atom, std::int32_t) {},
    [](stats_atom) { return orderer_stats{}; },
    [](watch_atom, std::uint8_t, std::uint64_t, iteration_index,
       run_monitor_actor) {},
    [](checkpoint_atom) { return iteration_index{0}; },
    [](fault_atom, const run_monitor_actor&) {},
    [](route_atom, const caf::actor&) {},
  };
}

fault_observer_actor::behavior_type
recording_observer(fault_observer_actor::pointer,
                   std::shared_ptr<record> seen) {
  return {
    [=](tally_atom, std::uint64_t gradients, iteration_index iteration) {
      seen->tallies.emplace_back(gradients, iteration);
    },
  };
}

struct fixture {
  deterministic_system env;
  std::shared_ptr<record> seen = std::make_shared<record>();
  link_interceptor_actor link;

  fixture() {
    link_settings settings;
    settings.orderer = env.track(env.sys().spawn(recording_orderer, seen));
    settings.observer = env.track(env.sys().spawn(recording_observer, seen));
    settings.seed = 7;
    link = env.track(spawn_link_interceptor(env.sys(), settings));
  }

  std::shared_ptr<reply<push_outcome>> push(worker_id worker,
                                            std::uint64_t sequence) {
    return env.request<push_outcome>(
      link, push_atom::value,
      make_push(worker, sequence, 0, Eigen::VectorXf::Ones(2)));
  }

  void inject(link_fault_kind kind, milliseconds duration,
              double probability = 1, milliseconds delay = milliseconds(0)) {
    link_fault fault;
    fault.kind = kind;
    fault.duration = duration;
    fault.probability = probability;
    fault.delay = delay;
    caf::anon_send(link, fault_atom::value, fault);
    env.run();
  }

  std::vector<std::uint64_t> sequences() const {
    std::vector<std::uint64_t> out;
    for (const auto& [worker, sequence] : seen->pushes)
      out.push_back(sequence);
    return out;
  }
};

using sequences = std::vector<std::uint64_t>;

} // namespace

TEST_CASE("link_interceptor: without a fault it forwards pushes and answers") {
  fixture f;
  auto first = f.push(1, 1);
  auto second = f.push(1, 2);
  f.env.run();
  REQUIRE(first->value);
  REQUIRE(second->value);
  CHECK(first->value->snapshot.iteration == 1);
  CHECK(second->value->snapshot.iteration == 2);
  CHECK(f.sequences() == sequences{1, 2});
  // Each gradient counted once (a repeat of 2 is not new), each higher
  // iteration index reported.
  auto again = f.push(1, 2);
  f.env.run();
  CHECK(f.seen->tallies
        == std::vector<std::pair<std::uint64_t, iteration_index>>{
          {1, 0}, {1, 0}, {0, 1}, {0, 2}, {0, 3}});
  // A restarted worker (new id) starts its own sequence.
  f.push(2, 1);
  f.env.run();
  CHECK(f.seen->tallies.at(5)
        == std::make_pair(std::uint64_t{1}, iteration_index{3}));
}

TEST_CASE("link_interceptor: drop loses pushes while it lasts") {
  fixture f;
  f.inject(link_fault_kind::drop, milliseconds(10));
  auto lost = f.push(1, 1);
  f.env.run_for(milliseconds(20));
  CHECK_FALSE(lost->arrived());
  CHECK(f.seen->pushes.empty());
  // Over: the same push sent again passes.
  auto again = f.push(1, 1);
  f.env.run();
  REQUIRE(again->value);
  CHECK(f.sequences() == sequences{1});
}

TEST_CASE("link_interceptor: drop with a probability loses some messages "
          "each way, the same ones for the same seed") {
  auto run = [] {
    fixture f;
    f.inject(link_fault_kind::drop, milliseconds(1000), 0.5);
    std::vector<bool> answered;
    std::vector<std::shared_ptr<reply<push_outcome>>> replies;
    for (std::uint64_t k = 1; k <= 40; ++k)
      replies.push_back(f.push(1, k));
    f.env.run();
    for (auto& r : replies)
      answered.push_back(r->arrived());
    return std::make_pair(answered, f.sequences());
  };
  auto [answered, arrived] = run();
  auto count = std::count(answered.begin(), answered.end(), true);
  // Each push passes both ways with probability 1/4.
  CHECK(count > 2);
  CHECK(count < 20);
  CHECK(arrived.size() > static_cast<std::size_t>(count));
  CHECK(arrived.size() < 32);
  CHECK(run() == std::make_pair(answered, arrived));
}

TEST_CASE("link_interceptor: partition loses everything, both ways") {
  fixture f;
  f.inject(link_fault_kind::partition, milliseconds(10));
  auto lost = f.push(1, 1);
  f.env.run_for(milliseconds(5));
  CHECK_FALSE(lost->arrived());
  CHECK(f.seen->pushes.empty());
  f.env.run_for(milliseconds(10));
  auto passes = f.push(1, 2);
  f.env.run();
  CHECK(passes->arrived());
}

TEST_CASE("link_interceptor: duplicate delivers a push twice, one answer") {
  fixture f;
  f.inject(link_fault_kind::duplicate, milliseconds(10));
  auto answer = f.push(1, 1);
  f.env.run();
  REQUIRE(answer->value);
  CHECK(f.sequences() == sequences{1, 1});
  // Counted once for the injector.
  CHECK(f.seen->tallies.front()
        == std::make_pair(std::uint64_t{1}, iteration_index{0}));
}

TEST_CASE("link_interceptor: delay holds a push and its answer") {
  fixture f;
  f.inject(link_fault_kind::delay, milliseconds(100), 1, milliseconds(10));
  auto answer = f.push(1, 1);
  f.env.run_for(milliseconds(9));
  CHECK(f.seen->pushes.empty());
  f.env.run_for(milliseconds(2));
  CHECK(f.sequences() == sequences{1});
  CHECK_FALSE(answer->arrived());
  f.env.run_for(milliseconds(10));
  CHECK(answer->arrived());
}

TEST_CASE("link_interceptor: reorder lets the next push overtake a held "
          "one; a push with none behind it waits at most its delay") {
  fixture f;
  f.inject(link_fault_kind::reorder, milliseconds(100), 1, milliseconds(10));
  auto first = f.push(1, 1);
  auto second = f.push(1, 2);
  f.env.run();
  CHECK(f.sequences() == sequences{2, 1});
  CHECK(first->arrived());
  CHECK(second->arrived());
  auto alone = f.push(1, 3);
  f.env.run_for(milliseconds(5));
  CHECK(f.sequences() == sequences{2, 1});
  f.env.run_for(milliseconds(6));
  CHECK(f.sequences() == sequences{2, 1, 3});
  CHECK(alone->arrived());
}
