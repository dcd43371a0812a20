// What a node does with a tensor it cannot decode: two actor systems with
// their own middleman in one process, connected over 127.0.0.1. The sender
// registers a byte blob under ormo's name "ormo.shared_vector", so it can
// put any bytes where a tensor is expected; the receiver is configured as
// every ormo node is. CAF 0.17.6's message deserializer swallows the error
// of an element and yields an empty message, which the receiving actor
// answers with sec::unexpected_message (and prints as "unexpected message
// ()"): the sender learns of the failure at once, nothing crashes, and the
// connection and the receiving actor keep working.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/io/middleman.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <doctest/doctest.h>

#include "ormo/actors/messages.hpp"
#include "ormo/actors/training.hpp"
#include "ormo/net/tensor_wire.hpp"

namespace {

/// Serializes exactly as a shared_vector does (length prefix, then bytes),
/// with whatever bytes the test puts in.
struct forged_tensor {
  std::vector<char> bytes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, forged_tensor& x) {
  return f(caf::meta::type_name("forged_tensor"), x.bytes);
}

forged_tensor forge(std::uint64_t declared, std::size_t values_present) {
  auto header = ormo::net::encode_tensor_header(declared);
  forged_tensor result;
  result.bytes.assign(header.begin(), header.end());
  result.bytes.resize(header.size() + 4 * values_present, 0);
  return result;
}

struct receiver_node {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  std::shared_ptr<std::atomic<int>> tensors_seen
    = std::make_shared<std::atomic<int>>(0);
  caf::actor handler;
  std::uint16_t port = 0;

  receiver_node() : sys(configured(cfg)) {
    auto seen = tensors_seen;
    handler = sys.spawn([seen](caf::event_based_actor*) -> caf::behavior {
      return {
        [seen](const ormo::actors::shared_vector& values) {
          ++*seen;
          return static_cast<std::uint64_t>(values.size());
        },
        [](std::int32_t x) { return x + 1; },
      };
    });
    auto published = sys.middleman().publish(handler, 0, "127.0.0.1");
    REQUIRE_MESSAGE(published, caf::to_string(published.error()));
    port = *published;
  }

  ~receiver_node() { caf::anon_send_exit(handler, caf::exit_reason::kill); }

  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    ormo::actors::configure(cfg, false);
    cfg.load<caf::io::middleman>();
    return cfg;
  }
};

struct forging_node {
  caf::actor_system_config cfg;
  caf::actor_system sys;

  forging_node() : sys(configured(cfg)) {}

  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    cfg.add_message_type<forged_tensor>("ormo.shared_vector");
    cfg.load<caf::io::middleman>();
    return cfg;
  }
};

} // namespace

TEST_CASE("remote_decode: a bad tensor is dropped, the node keeps working"
          * doctest::test_suite("real_time")) {
  receiver_node receiver;
  forging_node forger;
  auto remote = forger.sys.middleman().remote_actor("127.0.0.1", receiver.port);
  REQUIRE_MESSAGE(remote, caf::to_string(remote.error()));
  caf::scoped_actor self{forger.sys};
  const auto answer_deadline = std::chrono::seconds(10);

  // Control: well-formed bytes under the same name arrive and are answered,
  // so the forged type really stands in for a shared_vector.
  std::uint64_t answered = 0;
  self->request(*remote, answer_deadline, forge(3, 3))
    .receive([&](std::uint64_t size) { answered = size; },
             [&](caf::error& err) { FAIL(caf::to_string(err)); });
  CHECK(answered == 3);
  CHECK(*receiver.tensors_seen == 1);

  const forged_tensor hostile[] = {
    forge(5, 3),                      // declares more than is present
    forge(std::uint64_t{1} << 60, 0), // a size no one can allocate
    [] {
      auto bad = forge(2, 2);
      bad.bytes[4] = 9; // format version
      return bad;
    }(),
  };
  for (const auto& forged : hostile) {
    caf::error refused;
    self->request(*remote, answer_deadline, forged)
      .receive([&](std::uint64_t) { FAIL("a hostile tensor was decoded"); },
               [&](caf::error& err) { refused = std::move(err); });
    CHECK_MESSAGE(refused == caf::sec::unexpected_message,
                  caf::to_string(refused));
    // The node and the connection still answer.
    std::int32_t next = 0;
    self->request(*remote, answer_deadline, std::int32_t{41})
      .receive([&](std::int32_t x) { next = x; },
               [&](caf::error& err) { FAIL(caf::to_string(err)); });
    CHECK(next == 42);
  }
  CHECK(*receiver.tensors_seen == 1);
}
