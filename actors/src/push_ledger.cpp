#include "ormo/actors/push_ledger.hpp"

#include <utility>

namespace ormo::actors {

void push_ledger::join(std::uint32_t worker) {
  workers_.try_emplace(worker);
}

void push_ledger::leave(std::uint32_t worker) {
  workers_.erase(worker);
}

push_ledger::lookup push_ledger::find(std::uint32_t worker,
                                      std::uint64_t sequence) const {
  auto record = workers_.find(worker);
  if (record == workers_.end())
    return {standing::unknown_worker, nullptr};
  if (sequence <= record->second.floor)
    return {standing::too_old, nullptr};
  auto made = record->second.decided.find(sequence);
  if (made == record->second.decided.end())
    return {standing::fresh, nullptr};
  return {standing::repeat, &made->second};
}

void push_ledger::record(std::uint32_t worker, std::uint64_t sequence,
                         decision made) {
  auto& record = workers_[worker];
  record.decided.emplace(sequence, std::move(made));
  while (record.decided.size() > window) {
    record.floor = record.decided.begin()->first;
    record.decided.erase(record.decided.begin());
  }
}

} // namespace ormo::actors
