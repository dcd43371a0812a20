// Fuzz target: bytes from a peer. The first byte picks a decoder, the rest
// is its input: a raw tensor (decode_tensor), a tensor through load_tensor,
// each message type ormo registers, and a whole caf::message, all through
// CAF 0.17's binary_deserializer of an actor system configured as a node
// (ormo's types, the middleman, the chunk relay's types). A decode either
// fails with an error or gives a value whose encoding decodes again into a
// value with the same encoding (and prints with caf::deep_to_string, as a
// log line would), unless it holds a non-finite scalar, which CAF 0.17
// cannot encode. Nothing may crash, leak or read out of bounds.
//
// With the environment variable ORMO_FUZZ_WRITE_SEEDS=DIR the target writes
// its seed corpus (a valid encoding of each decoder's input, and near-valid
// variants) to DIR and exits: tests/fuzz/corpus/payload/ came from it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/message.hpp>

#include "ormo/actors/messages.hpp"
#include "ormo/actors/shard_route.hpp"
#include "ormo/actors/training.hpp"
#include "ormo/config/run_config.hpp"
#include "ormo/net/node.hpp"
#include "ormo/net/tensor_serialization.hpp"
#include "ormo/net/tensor_wire.hpp"

namespace {

using namespace ormo::actors;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "payload fuzzer: %s: %s\n", what, detail.c_str());
  std::abort();
}

/// An actor system configured as every ormo node configures its own.
struct node_system {
  caf::actor_system_config cfg;
  caf::actor_system sys;

  node_system() : sys(configured(cfg)) {}

  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    configure(cfg, /*deterministic=*/false);
    ormo::net::configure_network(cfg, ormo::config::network_config{});
    return cfg;
  }
};

caf::actor_system& node() {
  // Never destroyed: libFuzzer exits from inside a run, where waiting for
  // the system's threads would hang.
  static auto* instance = new node_system;
  return instance->sys;
}

template <class T>
std::vector<char> encode(T& value) {
  std::vector<char> bytes;
  caf::binary_serializer sink{node(), bytes};
  if (auto err = sink(value))
    fail("a decoded value does not encode", node().render(err));
  return bytes;
}

/// Decodes a T from `bytes`; if that works, checks that the value's
/// encoding decodes into a value with the same encoding.
template <class T>
void decode_as(const std::vector<char>& bytes) {
  T value;
  {
    caf::binary_deserializer source{node(), bytes};
    if (source(value))
      return;
  }
  const auto text = caf::deep_to_string(value);
  // CAF 0.17's float serializer (detail::pack754) never returns on an
  // infinite float or double, and a decoded scalar can be infinite (exponent
  // bits all ones): such a value cannot be encoded again. Printed scalars
  // show as "inf"; a string that merely contains it skips the check too.
  if (text.find("inf") != std::string::npos
      || text.find("nan") != std::string::npos)
    return;
  auto encoded = encode(value);
  T copy;
  caf::binary_deserializer source{node(), encoded};
  if (auto err = source(copy))
    fail("an encoded value does not decode", node().render(err));
  if (source.remaining() != 0)
    fail("an encoded value decodes with bytes left", "");
  if (encode(copy) != encoded)
    fail("a value's encoding changes in a round trip", "");
}

/// decode_tensor on the raw bytes: an error, or the tensor they encode.
void decode_raw_tensor(const std::vector<char>& bytes) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  auto tensor = ormo::net::decode_tensor(data, bytes.size());
  if (!tensor)
    return;
  const auto& values = tensor.value();
  auto encoded = ormo::net::encode_tensor(
    values.data(), static_cast<std::size_t>(values.size()));
  if (encoded.size() != bytes.size()
      || std::memcmp(encoded.data(), data, bytes.size()) != 0)
    fail("decode_tensor accepted bytes encode_tensor does not write", "");
}

/// load_tensor with a small element limit (a peer's declared count must
/// be checked against the caller's limit before allocating).
void load_limited_tensor(const std::vector<char>& bytes) {
  std::shared_ptr<const Eigen::VectorXf> values;
  caf::binary_deserializer source{node(), bytes};
  if (ormo::net::load_tensor(source, values, 64))
    return;
  if (!values || values->size() > 64)
    fail("load_tensor broke its limit", "");
}

using decoder = void (*)(const std::vector<char>&);

const decoder decoders[] = {
  decode_raw_tensor,
  load_limited_tensor,
  decode_as<shared_vector>,
  decode_as<parameter_snapshot>,
  decode_as<gradient_push>,
  decode_as<parameter_step>,
  decode_as<push_outcome>,
  decode_as<orderer_stats>,
  decode_as<membership_stats>,
  decode_as<std::vector<ormo::rejection_reason>>,
  decode_as<shard_route>,
  decode_as<std::vector<shard_route>>,
  decode_as<caf::message>,
};

constexpr auto decoder_count = sizeof(decoders) / sizeof(decoders[0]);

/// Index of `d` in decoders: the first byte of its seeds.
unsigned char index_of(decoder d) {
  for (std::size_t i = 0; i < decoder_count; ++i)
    if (decoders[i] == d)
      return static_cast<unsigned char>(i);
  fail("no such decoder", "");
}

/// Writes `bytes` for decoder `d` as DIR/NAME, and as NAME-truncated without
/// its last byte (a near-valid input).
void write_seed(const std::string& dir, const std::string& name, decoder d,
                const std::vector<char>& bytes) {
  auto write = [&](const std::string& file, std::size_t size) {
    std::ofstream out(dir + "/" + file, std::ios::binary);
    out.put(static_cast<char>(index_of(d)));
    out.write(bytes.data(), static_cast<std::streamsize>(size));
    if (!out)
      fail("cannot write a seed", dir + "/" + file);
  };
  write(name, bytes.size());
  if (!bytes.empty())
    write(name + "-truncated", bytes.size() - 1);
}

template <class T>
void write_value_seed(const std::string& dir, const std::string& name, T value) {
  write_seed(dir, name, decode_as<T>, encode(value));
}

shared_vector sample_values(int size) {
  Eigen::VectorXf values(size);
  for (int i = 0; i < size; ++i)
    values[i] = 0.5f * static_cast<float>(i) - 1.0f;
  return share(std::move(values));
}

void write_seeds(const std::string& dir) {
  auto raw = ormo::net::encode_tensor(sample_values(3)->data(), 3);
  write_seed(dir, "raw-tensor", decode_raw_tensor,
             std::vector<char>(raw.begin(), raw.end()));
  auto empty = ormo::net::encode_tensor(nullptr, 0);
  write_seed(dir, "raw-tensor-empty", decode_raw_tensor,
             std::vector<char>(empty.begin(), empty.end()));
  auto tensor = sample_values(4);
  write_seed(dir, "limited-tensor", load_limited_tensor, encode(tensor));
  write_value_seed(dir, "shared-vector", sample_values(5));
  write_value_seed(dir, "shared-vector-empty", shared_vector{});
  parameter_snapshot snapshot{sample_values(6), 41, 7};
  write_value_seed(dir, "parameter-snapshot", snapshot);
  gradient_push push;
  push.worker = 3;
  push.sequence = 12;
  push.computed_at = 40;
  push.gradient = ormo::optim::checked_gradient::check(sample_values(6).values);
  push.loss = 0.25f;
  write_value_seed(dir, "gradient-push", push);
  parameter_step step;
  step.update.coefficients.momentum_decay = 0.9f;
  step.update.coefficients.parameter_gradient_weight = -0.1f;
  step.gradient = sample_values(6);
  step.iteration = 41;
  step.closed_iteration = true;
  write_value_seed(dir, "parameter-step", step);
  push_outcome outcome{ormo::rejection_reason::future_iteration, "i > t",
                       snapshot};
  write_value_seed(dir, "push-outcome", outcome);
  orderer_stats stats;
  stats.iteration = 41;
  stats.received = 9;
  stats.rejected[ormo::rejection_reason::duplicate_sequence] = 2;
  stats.accepted_by_worker[3] = 7;
  write_value_seed(dir, "orderer-stats", stats);
  membership_stats members;
  members.live = 2;
  members.gradients_per_second[3] = 120.5;
  members.last_failure = "worker 4: timeout";
  members.partial_applied = {1, 2};
  members.partial_rejected.resize(2);
  members.partial_rejected[1][ormo::rejection_reason::invalid_step] = 1;
  write_value_seed(dir, "membership-stats", members);
  write_value_seed(dir, "rejection-reasons",
                   std::vector<ormo::rejection_reason>{
                     ormo::rejection_reason::none,
                     ormo::rejection_reason::invalid_step});
  write_value_seed(dir, "shard-route", shard_route{{}, {}, 8, 16});
  write_value_seed(dir, "shard-routes",
                   std::vector<shard_route>{{{}, {}, 0, 8}, {{}, {}, 8, 8}});
  write_value_seed(dir, "message-push",
                   caf::make_message(push_atom::value, push));
  write_value_seed(dir, "message-snapshot", caf::make_message(snapshot));
  write_value_seed(dir, "message-slots",
                   caf::make_message(std::vector<std::uint64_t>{0, 2}));
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("ORMO_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  if (size == 0)
    return 0;
  std::vector<char> bytes(reinterpret_cast<const char*>(data) + 1,
                          reinterpret_cast<const char*>(data) + size);
  decoders[data[0] % decoder_count](bytes);
  return 0;
}
