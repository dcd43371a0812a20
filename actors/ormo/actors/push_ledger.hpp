// push_ledger: what a momentum orderer remembers of each worker's pushes,
// so that a push it receives again (a worker's retry, or a copy a faulty
// link made) gets the answer the first one got and is never applied twice.
//
// Per registered worker it keeps the decisions on that worker's last
// `window` sequence numbers and a floor below which every number counts as
// decided. A worker numbers no push `window` or more above its oldest
// unanswered one (however many others it completes meanwhile), so a push it
// sends again is always above the floor: a retry is either still undecided
// (placed now: never lost) or decided (answered as before: never twice).
//
// Plain C++ (no CAF); not thread-safe: one orderer owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "ormo/optim/update_rule.hpp"
#include "ormo/rejection_reason.hpp"

namespace ormo::actors {

class push_ledger {
public:
  /// Decisions kept per worker; at least the largest pushes_in_flight.
  static constexpr std::size_t window = 16;

  /// How a push was answered the first time.
  struct decision {
    rejection_reason rejection = rejection_reason::none;
    std::string detail;
    /// The rule's iteration index right after the decision.
    optim::iteration_index iteration = 0;
    /// The push closed that iteration.
    bool closed_iteration = false;
  };

  /// What a push's (worker, sequence) is to the ledger.
  enum class standing {
    unknown_worker, ///< The worker is not registered.
    fresh,          ///< Not decided: place it, then record().
    repeat,         ///< Decided: answer as `decision` says.
    too_old,        ///< At or below the floor: 0, or older than the window.
  };

  struct lookup {
    standing what = standing::unknown_worker;
    /// The first decision (repeat only).
    const decision* first = nullptr;
  };

  /// Registers `worker` (no decision yet; sequence numbers start at 1). A
  /// registered worker keeps its record.
  void join(std::uint32_t worker);

  /// Forgets `worker`: its pushes are then from an unknown worker.
  void leave(std::uint32_t worker);

  lookup find(std::uint32_t worker, std::uint64_t sequence) const;

  /// Records the decision on a fresh push. REQUIRES: find() said fresh.
  void record(std::uint32_t worker, std::uint64_t sequence, decision made);

  /// Registered workers.
  std::size_t members() const { return workers_.size(); }

  /// Per worker: the floor and the decisions above it.
  struct worker_record {
    std::uint64_t floor = 0;
    std::map<std::uint64_t, decision> decided;
  };

  const std::map<std::uint32_t, worker_record>& records() const {
    return workers_;
  }

  /// Restores a ledger from records() (a checkpoint's).
  explicit push_ledger(std::map<std::uint32_t, worker_record> records = {})
    : workers_(std::move(records)) {}

private:
  std::map<std::uint32_t, worker_record> workers_;
};

} // namespace ormo::actors
