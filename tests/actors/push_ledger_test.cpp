// push_ledger: each worker's sequence numbers are decided once; a number
// received again finds its first decision, within a window of the last
// decisions; the floor below it refuses what is too old to tell.
#include "ormo/actors/push_ledger.hpp"

#include <doctest/doctest.h>

using ormo::rejection_reason;
using ormo::actors::push_ledger;
using standing = push_ledger::standing;

TEST_CASE("push_ledger: unknown, fresh, repeat and too old") {
  push_ledger ledger;
  CHECK(ledger.find(1, 1).what == standing::unknown_worker);
  ledger.join(1);
  CHECK(ledger.find(1, 0).what == standing::too_old);
  CHECK(ledger.find(1, 1).what == standing::fresh);
  CHECK(ledger.find(1, 7).what == standing::fresh);
  ledger.record(1, 7, {rejection_reason::non_finite_value, "value 3", 4, false});
  auto seen = ledger.find(1, 7);
  REQUIRE(seen.what == standing::repeat);
  CHECK(seen.first->rejection == rejection_reason::non_finite_value);
  CHECK(seen.first->detail == "value 3");
  CHECK(seen.first->iteration == 4);
  // Numbers below a decided one stay open (a push overtaken by a later).
  CHECK(ledger.find(1, 2).what == standing::fresh);
  // Another worker's numbers are its own.
  ledger.join(2);
  CHECK(ledger.find(2, 7).what == standing::fresh);
}

TEST_CASE("push_ledger: the window keeps the last decisions, the floor "
          "refuses older numbers") {
  push_ledger ledger;
  ledger.join(3);
  const auto window = static_cast<std::uint64_t>(push_ledger::window);
  for (std::uint64_t s = 1; s <= window + 2; ++s)
    ledger.record(3, s, {});
  const auto& record = ledger.records().at(3);
  CHECK(record.decided.size() == push_ledger::window);
  CHECK(record.floor == 2);
  CHECK(ledger.find(3, 1).what == standing::too_old);
  CHECK(ledger.find(3, 2).what == standing::too_old);
  CHECK(ledger.find(3, 3).what == standing::repeat);
  CHECK(ledger.find(3, window + 2).what == standing::repeat);
  CHECK(ledger.find(3, window + 3).what == standing::fresh);
}

TEST_CASE("push_ledger: a join keeps a member's record, a leave forgets it") {
  push_ledger ledger;
  ledger.join(5);
  ledger.record(5, 1, {});
  ledger.join(5);
  CHECK(ledger.find(5, 1).what == standing::repeat);
  ledger.leave(5);
  CHECK(ledger.find(5, 1).what == standing::unknown_worker);
  CHECK(ledger.members() == 0);
  // Restored from its records, a ledger answers as before.
  ledger.join(6);
  ledger.record(6, 4, {rejection_reason::future_iteration, "i", 1, false});
  push_ledger restored(ledger.records());
  REQUIRE(restored.find(6, 4).what == standing::repeat);
  CHECK(restored.find(6, 4).first->rejection
        == rejection_reason::future_iteration);
}
