// Every message type ormo registers (actors/src/training.cpp configure())
// survives CAF's binary serializer, alone and inside a caf::message; hostile
// bytes are refused with an error, never trusted.
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <doctest/doctest.h>

#include "helpers.hpp"
#include "net/net_testing.hpp"
#include "ormo/actors/messages.hpp"
#include "ormo/random.hpp"

namespace {

using namespace ormo::actors;
using ormo::rejection_reason;
using ormo::net::testing::from_bytes;
using ormo::net::testing::message_round_trip;
using ormo::net::testing::ormo_system;
using ormo::net::testing::round_trip;
using ormo::net::testing::tensor_header_offset;
using ormo::net::testing::to_bytes;

shared_vector random_shared(std::uint64_t seed, Eigen::Index size) {
  ormo::random_source random(seed);
  return share(ormo::test::random_vector(random, size));
}

bool same(const shared_vector& a, const shared_vector& b) {
  if (a.size() != b.size())
    return false;
  return a.empty() || *a == *b;
}

bool same(const parameter_snapshot& a, const parameter_snapshot& b) {
  return same(a.parameters, b.parameters) && a.iteration == b.iteration
         && a.version == b.version;
}

bool same(const ormo::optim::checked_gradient& a,
          const ormo::optim::checked_gradient& b) {
  if (a.size() != b.size() || a.first_non_finite() != b.first_non_finite())
    return false;
  if (a.size() == 0)
    return true;
  // Bitwise, so that NaNs compare equal to themselves.
  return std::memcmp(a.values().data(), b.values().data(), a.size() * 4) == 0;
}

bool same(const gradient_push& a, const gradient_push& b) {
  return a.worker == b.worker && a.sequence == b.sequence
         && a.computed_at == b.computed_at && same(a.gradient, b.gradient)
         && a.first_non_finite == b.first_non_finite && a.loss == b.loss;
}

bool same(const parameter_step& a, const parameter_step& b) {
  const auto& x = a.update.coefficients;
  const auto& y = b.update.coefficients;
  return x.momentum_decay == y.momentum_decay
         && x.momentum_gradient_weight == y.momentum_gradient_weight
         && x.parameter_gradient_weight == y.parameter_gradient_weight
         && x.parameter_momentum_weight == y.parameter_momentum_weight
         && a.update.momentum_offset == b.update.momentum_offset
         && same(a.gradient, b.gradient) && a.iteration == b.iteration
         && a.closed_iteration == b.closed_iteration
         && a.hold_until_close == b.hold_until_close;
}

bool same(const push_outcome& a, const push_outcome& b) {
  return a.rejection == b.rejection && a.detail == b.detail
         && same(a.snapshot, b.snapshot);
}

bool same(const orderer_stats& a, const orderer_stats& b) {
  return a.iteration == b.iteration && a.iteration_size == b.iteration_size
         && a.received == b.received && a.accepted == b.accepted
         && a.rejected == b.rejected && a.loss_sum == b.loss_sum
         && a.loss_count == b.loss_count && a.delay_sum == b.delay_sum
         && a.max_delay == b.max_delay && a.duplicates == b.duplicates
         && a.accepted_by_worker == b.accepted_by_worker;
}

bool same(const membership_stats& a, const membership_stats& b) {
  return a.live == b.live && a.joined == b.joined && a.left == b.left
         && a.crashed == b.crashed && a.restarted == b.restarted
         && a.evicted == b.evicted
         && a.gradients_per_second == b.gradients_per_second
         && a.last_failure == b.last_failure
         && a.gradients_partial == b.gradients_partial
         && a.partial_applied == b.partial_applied
         && a.partial_rejected == b.partial_rejected
         && a.retries == b.retries && a.gradients_lost == b.gradients_lost;
}

bool same(const std::vector<rejection_reason>& a,
          const std::vector<rejection_reason>& b) {
  return a == b;
}

/// Round trip alone and inside a message of an ormo-configured system.
template <class T>
void check_round_trips(caf::actor_system& system, const T& x) {
  CHECK(same(round_trip(x), x));
  CHECK(same(message_round_trip(system, x), x));
}

gradient_push sample_push(Eigen::Index dimension) {
  gradient_push push;
  push.worker = 7;
  push.sequence = 123456789012ull;
  push.computed_at = 42;
  push.gradient
    = ormo::optim::checked_gradient::check(random_shared(3, dimension).values);
  push.first_non_finite = -1;
  push.loss = 0.25f;
  return push;
}

} // namespace

TEST_CASE("message_serialization: shared_vector, empty to large") {
  ormo_system node;
  for (Eigen::Index size : {0, 1, 17, 100000})
    check_round_trips(node.sys, random_shared(1, size));
  // A default shared_vector (no buffer) arrives as an empty one.
  auto back = round_trip(shared_vector{});
  CHECK(back.size() == 0);
}

TEST_CASE("message_serialization: shared_vector is header plus raw floats") {
  // One sequence: length prefix, the 16-byte header, 4 bytes per value, no
  // per-element framing.
  auto bytes = to_bytes(random_shared(2, 1000));
  auto header = tensor_header_offset(bytes);
  REQUIRE(header != std::string::npos);
  CHECK(bytes.size() == header + 16 + 4000);
  CHECK(header <= 5); // the length prefix (a varbyte) only
}

TEST_CASE("message_serialization: parameter_snapshot") {
  ormo_system node;
  parameter_snapshot snapshot;
  snapshot.parameters = random_shared(4, 1234);
  snapshot.iteration = 99;
  snapshot.version = 1ull << 40;
  check_round_trips(node.sys, snapshot);
  check_round_trips(node.sys, parameter_snapshot{});
}

TEST_CASE("message_serialization: gradient_push, checked on arrival") {
  ormo_system node;
  auto push = sample_push(5000);
  check_round_trips(node.sys, push);
  auto back = round_trip(push);
  CHECK(back.gradient.finite());
  CHECK(back.gradient.first_non_finite() == 5000);
  check_round_trips(node.sys, gradient_push{});
}

TEST_CASE("message_serialization: a NaN gradient arrives marked non-finite") {
  ormo_system node;
  Eigen::VectorXf values = Eigen::VectorXf::Ones(100);
  values[37] = std::numeric_limits<float>::quiet_NaN();
  values[60] = std::numeric_limits<float>::infinity();
  // Sent unchecked as a faulty or hostile sender would: the sender's mark
  // says finite (its check saw other values), the receiver finds the NaN.
  gradient_push push;
  push.gradient = ormo::optim::checked_gradient::check(
    std::make_shared<const Eigen::VectorXf>(Eigen::VectorXf::Ones(100)));
  auto bytes = to_bytes(push);
  // Patch value 37 in the bytes to a quiet NaN (0x7fc00000).
  auto header = tensor_header_offset(bytes);
  REQUIRE(header != std::string::npos);
  const unsigned char nan_bytes[4] = {0x00, 0x00, 0xc0, 0x7f};
  std::memcpy(bytes.data() + header + 16 + 37 * 4, nan_bytes, 4);
  gradient_push back;
  REQUIRE(!from_bytes(bytes, back));
  CHECK(!back.gradient.finite());
  CHECK(back.gradient.first_non_finite() == 37);
  CHECK(std::isnan(back.gradient.values()[37]));
  // And one checked by its sender keeps its values and its mark.
  push.gradient = ormo::optim::checked_gradient::check(
    std::make_shared<const Eigen::VectorXf>(values));
  auto arrived = message_round_trip(node.sys, push);
  CHECK(arrived.gradient.first_non_finite() == 37);
  CHECK(same(arrived, push));
}

TEST_CASE("message_serialization: parameter_step, with and without gradient") {
  ormo_system node;
  parameter_step step;
  step.update.coefficients.momentum_decay = 0.9f;
  step.update.coefficients.momentum_gradient_weight = 0.1f;
  step.update.coefficients.parameter_gradient_weight = 0.01f;
  step.update.coefficients.parameter_momentum_weight = 1.0f;
  step.update.momentum_offset = 0.5f;
  step.gradient = random_shared(5, 321);
  step.iteration = 12;
  step.closed_iteration = true;
  step.hold_until_close = true;
  check_round_trips(node.sys, step);
  check_round_trips(node.sys, parameter_step{});
}

TEST_CASE("message_serialization: push_outcome, accepted and rejected") {
  ormo_system node;
  push_outcome accepted;
  accepted.snapshot.parameters = random_shared(6, 77);
  accepted.snapshot.iteration = 3;
  accepted.snapshot.version = 4;
  check_round_trips(node.sys, accepted);
  push_outcome rejected;
  rejected.rejection = rejection_reason::future_iteration;
  rejected.detail = "computed at 9 > t = 3";
  check_round_trips(node.sys, rejected);
}

TEST_CASE("message_serialization: orderer_stats") {
  ormo_system node;
  orderer_stats stats;
  stats.iteration = 1000;
  stats.iteration_size = 16;
  stats.received = 16123;
  stats.accepted = 16000;
  stats.rejected = {{rejection_reason::future_iteration, 100},
                    {rejection_reason::non_finite_value, 23}};
  stats.loss_sum = 1234.5;
  stats.loss_count = 16000;
  stats.delay_sum = 3.5e4;
  stats.max_delay = 7;
  stats.duplicates = 3;
  stats.accepted_by_worker = {{1, 8000}, {2, 8000}};
  check_round_trips(node.sys, stats);
}

TEST_CASE("message_serialization: membership_stats") {
  ormo_system node;
  membership_stats stats;
  stats.live = 3;
  stats.joined = 5;
  stats.left = 1;
  stats.crashed = 1;
  stats.restarted = 1;
  stats.evicted = 0;
  stats.gradients_per_second = {{1, 120.5}, {4, 99.0}};
  stats.last_failure = "worker 2: remote_link_unreachable";
  stats.gradients_partial = 2;
  stats.partial_applied = {2, 0};
  stats.partial_rejected = {{}, {{rejection_reason::future_iteration, 2}}};
  stats.retries = 7;
  stats.gradients_lost = 2;
  check_round_trips(node.sys, stats);
}

TEST_CASE("message_serialization: vector of rejection reasons") {
  ormo_system node;
  std::vector<rejection_reason> reasons
    = {rejection_reason::none, rejection_reason::duplicate_sequence,
       rejection_reason::invalid_step};
  check_round_trips(node.sys, reasons);
}

TEST_CASE("message_serialization: to_string shows sizes, not values") {
  auto text = caf::deep_to_string(random_shared(7, 1000000));
  CHECK(text.size() < 100);
  CHECK(text.find("1000000") != std::string::npos);
}

TEST_CASE("message_serialization: every truncation of a push is refused") {
  auto bytes = to_bytes(sample_push(50));
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    std::vector<char> truncated(bytes.begin(),
                                bytes.begin() + static_cast<long>(size));
    gradient_push back;
    CHECK_MESSAGE(from_bytes(truncated, back), "size " << size);
  }
}

TEST_CASE("message_serialization: wrong magic or version is refused") {
  auto bytes = to_bytes(sample_push(10));
  auto header = tensor_header_offset(bytes);
  REQUIRE(header != std::string::npos);
  for (std::size_t offset : {header, header + 4, header + 5, header + 6}) {
    auto hostile = bytes;
    hostile[offset] = static_cast<char>(hostile[offset] + 1);
    gradient_push back;
    auto err = from_bytes(hostile, back);
    REQUIRE(err);
    CHECK(err == caf::sec::invalid_argument);
    CHECK(caf::to_string(err).find("tensor on the wire") != std::string::npos);
  }
}

TEST_CASE("message_serialization: a count larger than the bytes is refused") {
  // The header claims one value more than the sequence holds.
  auto bytes = to_bytes(random_shared(8, 10));
  auto header = tensor_header_offset(bytes);
  REQUIRE(header != std::string::npos);
  bytes[header + 8] = 11;
  shared_vector back;
  auto err = from_bytes(bytes, back);
  REQUIRE(err);
  CHECK(caf::to_string(err).find("declares 11 elements") != std::string::npos);
  CHECK(back.values == nullptr); // untouched
}

TEST_CASE("message_serialization: a huge size is refused before allocating") {
  // A sequence length of ~2 GB with a header declaring as much, and only a
  // few bytes behind: refused from the lengths alone (an allocation of 2 GB
  // would be the attack).
  std::vector<char> bytes;
  {
    caf::binary_serializer sink{nullptr, bytes};
    std::size_t length = 16 + 4 * ormo::net::max_tensor_elements;
    REQUIRE(!sink.begin_sequence(length));
    auto header
      = ormo::net::encode_tensor_header(ormo::net::max_tensor_elements);
    REQUIRE(!sink.apply_raw(header.size(), header.data()));
    REQUIRE(!sink.end_sequence());
  }
  shared_vector back;
  auto err = from_bytes(bytes, back);
  REQUIRE(err);
  CHECK(caf::to_string(err).find("remain in the message") != std::string::npos);
  // And a header declaring 2^60 elements in a consistent-looking sequence is
  // refused by its count (4 TB could not be allocated at all).
  bytes.clear();
  {
    caf::binary_serializer sink{nullptr, bytes};
    std::size_t length = 16;
    REQUIRE(!sink.begin_sequence(length));
    auto header = ormo::net::encode_tensor_header(std::uint64_t{1} << 60);
    REQUIRE(!sink.apply_raw(header.size(), header.data()));
    REQUIRE(!sink.end_sequence());
  }
  err = from_bytes(bytes, back);
  REQUIRE(err);
  CHECK(caf::to_string(err).find("more than the limit") != std::string::npos);
}

TEST_CASE("message_serialization: a sequence shorter than a header") {
  std::vector<char> bytes;
  {
    caf::binary_serializer sink{nullptr, bytes};
    std::vector<char> short_blob(8, 'O');
    REQUIRE(!sink(short_blob));
  }
  shared_vector back;
  auto err = from_bytes(bytes, back);
  REQUIRE(err);
  CHECK(caf::to_string(err).find("fewer than the 16") != std::string::npos);
}

TEST_CASE("message_serialization: infinite and NaN scalars cross as they "
          "are (CAF 0.17's own float encoding never ends on an infinity)") {
  ormo_system node;
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (float loss : {inf, -inf, nan}) {
    CAPTURE(loss);
    auto push = sample_push(10);
    push.loss = loss;
    CHECK(bits_of(round_trip(push).loss) == bits_of(loss));
    CHECK(bits_of(message_round_trip(node.sys, push).loss) == bits_of(loss));
  }
  orderer_stats stats;
  stats.loss_sum = -std::numeric_limits<double>::infinity();
  stats.delay_sum = std::numeric_limits<double>::quiet_NaN();
  auto stats_back = round_trip(stats);
  CHECK(bits_of(stats_back.loss_sum) == bits_of(stats.loss_sum));
  CHECK(bits_of(stats_back.delay_sum) == bits_of(stats.delay_sum));
  membership_stats membership;
  membership.gradients_per_second = {{3, std::numeric_limits<double>::infinity()},
                                     {4, 12.5}};
  CHECK(round_trip(membership).gradients_per_second
        == membership.gradients_per_second);
  parameter_step step;
  step.update.coefficients.parameter_gradient_weight = inf;
  CHECK(round_trip(step).update.coefficients.parameter_gradient_weight == inf);
}
