// workers_last_sharing: which jobs are a worker's, and the order the queue
// hands jobs out (driven by hand, no threads: the actors are only queued,
// never run).
#include "ormo/actors/workers_last_sharing.hpp"

#include <vector>

#include <caf/resumable.hpp>

#include "actors/actor_testing.hpp"
#include "ormo/optim/ordered_momentum.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;

namespace {

/// Stands in for caf::scheduler::coordinator: the policy uses its data().
struct fake_coordinator {
  workers_last_sharing::coordinator_data queue{nullptr};
  workers_last_sharing::coordinator_data& data() { return queue; }
};

/// Stands in for a scheduler thread: the policy uses its parent().
struct fake_thread {
  fake_coordinator* coordinator;
  fake_coordinator* parent() { return coordinator; }
};

/// A resumable that is no actor (as CAF's function_view jobs).
struct plain_job : caf::resumable {
  resume_result resume(caf::execution_unit*, size_t) override { return done; }
  void intrusive_ptr_add_ref_impl() override {}
  void intrusive_ptr_release_impl() override {}
};

template <class Handle>
caf::resumable* job_of(const Handle& handle) {
  return dynamic_cast<caf::resumable*>(
    caf::actor_cast<caf::abstract_actor*>(handle));
}

struct two_workers_and_a_shard {
  deterministic_system env;
  shard_route shard = spawn_shard(env, Eigen::VectorXf::Zero(2),
                                  std::make_unique<optim::ordered_momentum>(
                                    2, 1, optim::ordered_momentum_settings{}));
  caf::resumable* first_worker = job_of(spawn(1));
  caf::resumable* second_worker = job_of(spawn(2));

  worker_actor spawn(worker_id id) {
    caf::anon_send(shard.orderer, join_atom::value, id);
    return env.track(
      spawn_worker(env.sys(), id, {shard},
                   std::make_shared<quadratic_source>(Eigen::VectorXf::Ones(2)),
                   virtual_timing()));
  }
};

} // namespace

TEST_CASE("workers_last_sharing: a worker's job is known from the others") {
  two_workers_and_a_shard actors;
  plain_job plain;
  CHECK(workers_last_sharing::is_worker(actors.first_worker));
  CHECK(workers_last_sharing::is_worker(actors.second_worker));
  CHECK_FALSE(workers_last_sharing::is_worker(job_of(actors.shard.orderer)));
  CHECK_FALSE(workers_last_sharing::is_worker(job_of(actors.shard.server)));
  CHECK_FALSE(workers_last_sharing::is_worker(&plain));
}

TEST_CASE("workers_last_sharing: other jobs first, each kind first in first "
          "out") {
  two_workers_and_a_shard actors;
  auto orderer = job_of(actors.shard.orderer);
  auto server = job_of(actors.shard.server);
  workers_last_sharing policy;
  fake_coordinator coordinator;
  fake_thread thread{&coordinator};
  policy.central_enqueue(&coordinator, actors.first_worker);
  policy.external_enqueue(&thread, orderer);
  policy.internal_enqueue(&thread, actors.second_worker);
  policy.resume_job_later(&thread, server);
  std::vector<caf::resumable*> order;
  for (int i = 0; i < 3; ++i)
    order.push_back(policy.dequeue(&thread));
  // A job queued after the others still goes ahead of the waiting worker.
  policy.internal_enqueue(&thread, orderer);
  order.push_back(policy.dequeue(&thread));
  order.push_back(policy.dequeue(&thread));
  CHECK(order
        == std::vector<caf::resumable*>{orderer, server, actors.first_worker,
                                        orderer, actors.second_worker});
  CHECK(coordinator.queue.others.empty());
  CHECK(coordinator.queue.workers.empty());
}

TEST_CASE("workers_last_sharing: at shutdown every queued job is handed "
          "over once") {
  two_workers_and_a_shard actors;
  auto server = job_of(actors.shard.server);
  workers_last_sharing policy;
  fake_coordinator coordinator;
  policy.central_enqueue(&coordinator, actors.first_worker);
  policy.central_enqueue(&coordinator, server);
  policy.central_enqueue(&coordinator, actors.second_worker);
  std::vector<caf::resumable*> handed;
  policy.foreach_central_resumable(
    &coordinator, [&](caf::resumable* job) { handed.push_back(job); });
  CHECK(handed
        == std::vector<caf::resumable*>{server, actors.first_worker,
                                        actors.second_worker});
  CHECK(coordinator.queue.others.empty());
  CHECK(coordinator.queue.workers.empty());
}
