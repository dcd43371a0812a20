// workers_last_sharing: the real-time scheduler policy of a training run.
//
// As CAF's work sharing, one queue first in first out, so that workers
// sharing cores take turns. But a job of any other actor (orderer, server,
// supervisor, monitor, the middleman's brokers) goes ahead of every waiting
// worker job. A server on its own machine answers a push at once; here,
// behind a queue of K workers' gradients, it answered only after all of
// them, so that K gradients, each in a buffer of its own, waited out of the
// cache to be applied (docs/performance.md, "Many workers on few cores").
//
// Used as caf::scheduler::coordinator<workers_last_sharing>.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>

#include <caf/policy/unprofiled.hpp>
#include <caf/resumable.hpp>

namespace caf::scheduler {
class abstract_coordinator;
} // namespace caf::scheduler

namespace ormo::actors {

class workers_last_sharing : public caf::policy::unprofiled {
public:
  /// True for the resumable of a worker actor (actors::spawn_worker).
  static bool is_worker(caf::resumable* job);

  struct coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator*) {
      // nop
    }

    std::deque<caf::resumable*> others;
    std::deque<caf::resumable*> workers;
    std::mutex lock;
    std::condition_variable cv;
  };

  struct worker_data {
    explicit worker_data(caf::scheduler::abstract_coordinator*) {
      // nop
    }
  };

  template <class Coordinator>
  void enqueue(Coordinator* self, caf::resumable* job) {
    auto& queue = is_worker(job) ? d(self).workers : d(self).others;
    std::unique_lock<std::mutex> guard(d(self).lock);
    queue.push_back(job);
    d(self).cv.notify_one();
  }

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    enqueue(self, job);
  }

  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    enqueue(self->parent(), job);
  }

  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    enqueue(self->parent(), job);
  }

  /// A job that yielded goes to the back of its queue.
  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    enqueue(self->parent(), job);
  }

  /// Blocks until a job is queued; the oldest other job first, else the
  /// oldest worker job.
  template <class Worker>
  caf::resumable* dequeue(Worker* self) {
    auto& data = d(self->parent());
    std::unique_lock<std::mutex> guard(data.lock);
    data.cv.wait(guard,
                 [&] { return !data.others.empty() || !data.workers.empty(); });
    auto& queue = data.others.empty() ? data.workers : data.others;
    auto job = queue.front();
    queue.pop_front();
    return job;
  }

  template <class Worker, class UnaryFunction>
  void foreach_resumable(Worker*, UnaryFunction) {
    // nop: no queue per thread
  }

  /// Hands every queued job to f (at shutdown), emptying the queues.
  template <class Coordinator, class UnaryFunction>
  void foreach_central_resumable(Coordinator* self, UnaryFunction f) {
    auto& data = d(self);
    std::unique_lock<std::mutex> guard(data.lock);
    for (auto* queue : {&data.others, &data.workers})
      while (!queue->empty()) {
        auto job = queue->front();
        queue->pop_front();
        f(job);
      }
  }
};

} // namespace ormo::actors
