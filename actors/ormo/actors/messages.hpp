// The values ormo's actors exchange. All are inspectable, so CAF can print
// them and serialize them across nodes; in one process they travel by
// reference (shared_vector shares its buffer, never copies it).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/sec.hpp>
#include <caf/timespan.hpp>

#include "ormo/actors/run_checkpoint.hpp"
#include "ormo/net/tensor_serialization.hpp"
#include "ormo/optim/update_rule.hpp"
#include "ormo/rejection_reason.hpp"

namespace ormo::actors {

using optim::iteration_index;

/// Identifies a worker for its whole life; a restarted worker gets a new one.
using worker_id = std::uint32_t;

/// An immutable float vector shared between actors without copying. Crosses
/// a node boundary as one contiguous byte blob (CAF 0.17 serializes a
/// std::vector<float> element by element, a byte buffer in one copy).
struct shared_vector {
  std::shared_ptr<const Eigen::VectorXf> values;

  std::size_t size() const {
    return values ? static_cast<std::size_t>(values->size()) : 0;
  }
  bool empty() const { return size() == 0; }
  const Eigen::VectorXf& operator*() const { return *values; }
  const Eigen::VectorXf* operator->() const { return values.get(); }
};

inline shared_vector share(Eigen::VectorXf values) {
  return {std::make_shared<const Eigen::VectorXf>(std::move(values))};
}

/// Across nodes: the tensor layout of ormo/net/tensor_wire.hpp, moved with
/// apply_raw from and into the vector's memory; a decode error (bad header,
/// count not matching the bytes) fails the whole message. Other inspectors
/// (to_string) see the element count only.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, shared_vector& x) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    return net::save_tensor(f, x.values.get());
  } else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value) {
    return net::load_tensor(f, x.values);
  } else {
    static_assert(!Inspector::writes_state,
                  "shared_vector loads only from a caf::deserializer");
    auto elements = x.size();
    return f(caf::meta::type_name("shared_vector"), elements);
  }
}

} // namespace ormo::actors

// Found by argument-dependent lookup, so in the namespace of the type.
namespace ormo::optim {

/// Crosses a node boundary as a shared_vector does; the receiver checks the
/// values while decoding (a checked_gradient is never trusted from the
/// wire): a non-finite gradient arrives marked so, and its orderer rejects
/// it with a reason.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        optim::checked_gradient& x) {
  if constexpr (std::is_base_of<caf::serializer, Inspector>::value) {
    return net::save_tensor(f, x.shared_values().get());
  } else if constexpr (std::is_base_of<caf::deserializer, Inspector>::value) {
    std::shared_ptr<const Eigen::VectorXf> values;
    if (auto err = net::load_tensor(f, values))
      return err;
    x = optim::checked_gradient::check(std::move(values));
    return caf::none;
  } else {
    static_assert(!Inspector::writes_state,
                  "checked_gradient loads only from a caf::deserializer");
    auto elements = x.size();
    return f(caf::meta::type_name("checked_gradient"), elements);
  }
}

} // namespace ormo::optim

namespace ormo::actors {

/// The parameters of one shard and the iteration index a worker computes
/// its gradient at.
struct parameter_snapshot {
  shared_vector parameters;
  iteration_index iteration = 0;
  /// Parameter steps applied so far.
  std::uint64_t version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parameter_snapshot& x) {
  return f(caf::meta::type_name("parameter_snapshot"), x.parameters,
           x.iteration, x.version);
}

/// A float or double that crosses a node as its bit pattern: CAF 0.17's own
/// encoding of floating-point numbers never ends on an infinity and turns a
/// NaN into garbage.
template <class T>
struct exact {
  static_assert(std::is_floating_point<T>::value, "for float and double");
  T& value;
};

template <class T>
auto bits_of(T value) {
  std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t> bits;
  static_assert(sizeof bits == sizeof value, "an IEEE-754 float or double");
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

template <class T, class Bits>
T from_bits(Bits bits) {
  T value;
  static_assert(sizeof bits == sizeof value, "an IEEE-754 float or double");
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

template <class Inspector, class T>
typename Inspector::result_type inspect(Inspector& f, exact<T>& x) {
  auto bits = bits_of(x.value);
  return f(bits, caf::meta::load_callback([&]() -> caf::error {
             x.value = from_bits<T>(bits);
             return caf::none;
           }));
}

/// One worker's gradient for one shard.
struct gradient_push {
  worker_id worker = 0;
  /// Strictly increasing per worker; a repeated number is a duplicate.
  std::uint64_t sequence = 0;
  /// The iteration index of the parameters the gradient was computed at.
  iteration_index computed_at = 0;
  /// Checked by the worker that computed it (or by the decoder).
  optim::checked_gradient gradient;
  /// Index in the whole gradient (all shards' slices) of its first value
  /// that is not finite, or -1: every shard rejects such a gradient, not
  /// only the one whose slice holds the value, so that none applies a part.
  std::int64_t first_non_finite = -1;
  /// Minibatch loss at those parameters (training-loss metric).
  float loss = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, gradient_push& x) {
  exact<float> loss{x.loss};
  return f(caf::meta::type_name("gradient_push"), x.worker, x.sequence,
           x.computed_at, x.gradient, x.first_non_finite, loss);
}

/// What the momentum orderer tells its parameter server to do with u and w
/// (the server keeps u beside w, so u never travels).
struct parameter_step {
  optim::offset_step update;
  /// Empty when the update uses no gradient.
  shared_vector gradient;
  /// The orderer's iteration index after the placement.
  iteration_index iteration = 0;
  bool closed_iteration = false;
  /// Synchronous reference (SSGDm): answer the pushing worker only when the
  /// iteration closes (the barrier).
  bool hold_until_close = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parameter_step& x) {
  auto& c = x.update.coefficients;
  exact<float> decay{c.momentum_decay};
  exact<float> momentum_gradient{c.momentum_gradient_weight};
  exact<float> parameter_gradient{c.parameter_gradient_weight};
  exact<float> parameter_momentum{c.parameter_momentum_weight};
  exact<float> offset{x.update.momentum_offset};
  return f(caf::meta::type_name("parameter_step"), decay, momentum_gradient,
           parameter_gradient, parameter_momentum, offset, x.gradient,
           x.iteration, x.closed_iteration, x.hold_until_close);
}

/// The answer to a push: accepted, with the shard's parameters after the
/// step, or rejected with a reason (the worker then pulls).
struct push_outcome {
  /// none when accepted.
  rejection_reason rejection = rejection_reason::none;
  /// Human-readable cause of a rejection (empty when accepted).
  std::string detail;
  /// Accepted only.
  parameter_snapshot snapshot;

  bool accepted() const { return rejection == rejection_reason::none; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, push_outcome& x) {
  return f(caf::meta::type_name("push_outcome"), x.rejection, x.detail,
           x.snapshot);
}

/// Counters of one momentum orderer since it started.
struct orderer_stats {
  iteration_index iteration = 0;
  std::int32_t iteration_size = 0;
  /// Pushes decided (each worker's sequence number once).
  std::uint64_t received = 0;
  std::uint64_t accepted = 0;
  /// Reason -> count (only reasons that occurred).
  std::map<rejection_reason, std::uint64_t> rejected;
  /// Pushes received again after their decision (a worker's retry, a copy
  /// a link made): answered as the first time, applied never.
  std::uint64_t duplicates = 0;
  /// Sum and count of the minibatch losses of accepted gradients.
  double loss_sum = 0;
  std::uint64_t loss_count = 0;
  /// Sum and maximum of t - i over accepted gradients.
  double delay_sum = 0;
  iteration_index max_delay = 0;
  std::map<worker_id, std::uint64_t> accepted_by_worker;
  /// Accepted gradients by t - i (only delays that occurred).
  std::map<iteration_index, std::uint64_t> delays;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, orderer_stats& x) {
  exact<double> loss_sum{x.loss_sum};
  exact<double> delay_sum{x.delay_sum};
  return f(caf::meta::type_name("orderer_stats"), x.iteration, x.iteration_size,
           x.received, x.accepted, x.rejected, x.duplicates, loss_sum,
           x.loss_count, delay_sum, x.max_delay, x.accepted_by_worker,
           x.delays);
}

/// Membership as the supervisor sees it.
struct membership_stats {
  std::uint32_t live = 0;
  std::uint32_t joined = 0;
  std::uint32_t left = 0;
  std::uint32_t crashed = 0;
  std::uint32_t restarted = 0;
  std::uint32_t evicted = 0;
  /// Workers lost with their node (never restarted elsewhere).
  std::uint32_t lost = 0;
  /// Nodes whose worker host went down while the run went on.
  std::uint32_t nodes_lost = 0;
  /// Accepted gradients per second of each live worker, measured by the
  /// supervisor over its last interval.
  std::map<worker_id, double> gradients_per_second;
  /// Why the last crash happened (a worker's exit reason, or a gradient
  /// source that could not be made); empty before the first.
  std::string last_failure;
  /// Gradients whose shards disagreed (some applied their slice, some
  /// rejected it), as the workers reported them; never with one shard.
  std::uint64_t gradients_partial = 0;
  /// Per shard (index of the shard route): how many of those gradients it
  /// applied, and how many it rejected by reason. Empty until the first.
  std::vector<std::uint64_t> partial_applied;
  std::vector<std::map<rejection_reason, std::uint64_t>> partial_rejected;
  /// Push slices the workers sent again for want of an answer.
  std::uint64_t retries = 0;
  /// Pushes still awaiting an answer when their worker failed.
  std::uint64_t gradients_lost = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_stats& x) {
  // The speeds as bit patterns (see exact).
  std::map<worker_id, std::uint64_t> speeds;
  for (const auto& [id, speed] : x.gradients_per_second)
    speeds.emplace(id, bits_of(speed));
  auto take_speeds = caf::meta::load_callback([&]() -> caf::error {
    x.gradients_per_second.clear();
    for (const auto& [id, bits] : speeds)
      x.gradients_per_second.emplace(id, from_bits<double>(bits));
    return caf::none;
  });
  return f(caf::meta::type_name("membership_stats"), x.live, x.joined, x.left,
           x.crashed, x.restarted, x.evicted, x.lost, x.nodes_lost, speeds,
           take_speeds, x.last_failure, x.gradients_partial,
           x.partial_applied, x.partial_rejected, x.retries,
           x.gradients_lost);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_progress& x) {
  return f(caf::meta::type_name("worker_progress"), x.id, x.slot, x.sequence,
           x.batches);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, membership_counts& x) {
  return f(caf::meta::type_name("membership_counts"), x.next_id, x.joined,
           x.left, x.crashed, x.restarted, x.evicted, x.retries,
           x.gradients_lost);
}

/// A run with every worker paused and every push answered: where each
/// worker is (by id) and the supervisor's counts.
struct paused_run {
  std::vector<worker_progress> workers;
  membership_counts membership;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, paused_run& x) {
  return f(caf::meta::type_name("paused_run"), x.workers, x.membership);
}

/// What a declared fault does to a worker (see fault_injector.hpp).
enum class worker_fault_kind : std::uint8_t {
  /// Ends the worker with an error (its supervisor restarts it).
  kill,
  /// Each gradient it computes while the fault lasts fails with the
  /// fault's probability, which ends the worker with an error.
  fail_gradient,
  /// Each gradient takes `factor` times as long while the fault lasts.
  slow,
  /// The worker handles no message while the fault lasts. (A freeze of
  /// duration 0 is the worker's own timer that ends one.)
  freeze,
};

/// A declared fault for the worker in one slot, as the supervisor passes it
/// on to the slot's live worker (and, while it lasts, to the worker that
/// replaces it).
struct worker_fault {
  worker_fault_kind kind = worker_fault_kind::kill;
  std::uint64_t slot = 0;
  /// How long it lasts from its arrival (0 for kill).
  caf::timespan duration{0};
  /// fail_gradient: the chance that one gradient fails.
  double probability = 1;
  /// slow: the factor on each gradient's time.
  double factor = 1;
  /// Seeds the worker's draws for fail_gradient.
  std::uint64_t seed = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_fault& x) {
  auto kind = static_cast<std::uint8_t>(x.kind);
  exact<double> probability{x.probability};
  exact<double> factor{x.factor};
  return f(caf::meta::type_name("worker_fault"), kind,
           caf::meta::load_callback([&]() -> caf::error {
             if (kind > static_cast<std::uint8_t>(worker_fault_kind::freeze))
               return caf::sec::invalid_argument;
             x.kind = static_cast<worker_fault_kind>(kind);
             return caf::none;
           }),
           x.slot, x.duration, probability, factor, x.seed);
}

} // namespace ormo::actors
