// Helpers shared by the net tests: byte round trips through CAF 0.17's
// binary serializer, alone and inside a caf::message of an actor system
// configured as ormo configures its own (the names a remote node sees).
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>
#include <doctest/doctest.h>

#include "ormo/actors/training.hpp"

namespace ormo::net::testing {

/// An actor system with ormo's message types, as every ormo node has.
struct ormo_system {
  caf::actor_system_config cfg;
  caf::actor_system sys;

  ormo_system() : sys(configured(cfg)) {}

  static caf::actor_system_config& configured(caf::actor_system_config& cfg) {
    actors::configure(cfg, false);
    return cfg;
  }
};

/// The bytes of `x` as the binary serializer writes them.
template <class T>
std::vector<char> to_bytes(T x) {
  std::vector<char> bytes;
  caf::binary_serializer sink{nullptr, bytes};
  auto err = sink(x);
  REQUIRE_MESSAGE(!err, caf::to_string(err));
  return bytes;
}

/// Decodes a T from all of `bytes`; the error of the deserializer, or a
/// sec::invalid_argument when bytes are left over.
template <class T>
caf::error from_bytes(const std::vector<char>& bytes, T& x) {
  caf::binary_deserializer source{nullptr, bytes};
  if (auto err = source(x))
    return err;
  if (source.remaining() != 0)
    return caf::make_error(caf::sec::invalid_argument, "trailing bytes");
  return caf::none;
}

/// `x` serialized and deserialized on its own.
template <class T>
T round_trip(const T& x) {
  T result;
  auto err = from_bytes(to_bytes(x), result);
  REQUIRE_MESSAGE(!err, caf::to_string(err));
  return result;
}

/// `x` inside a caf::message, serialized and deserialized by `system` (type
/// names from its registry, as between two nodes).
template <class T>
T message_round_trip(caf::actor_system& system, const T& x) {
  auto msg = caf::make_message(x);
  std::vector<char> bytes;
  caf::binary_serializer sink{system, bytes};
  auto err = sink(msg);
  REQUIRE_MESSAGE(!err, caf::to_string(err));
  caf::message back;
  caf::binary_deserializer source{system, bytes};
  err = source(back);
  REQUIRE_MESSAGE(!err, caf::to_string(err));
  REQUIRE(back.size() == 1);
  REQUIRE(back.match_element<T>(0));
  return back.get_as<T>(0);
}

/// Offset of the first tensor header ("ORMT") in `bytes`, or npos.
inline std::size_t tensor_header_offset(const std::vector<char>& bytes,
                                        std::size_t from = 0) {
  const char magic[] = {'O', 'R', 'M', 'T'};
  auto found = std::search(bytes.begin() + static_cast<std::ptrdiff_t>(from),
                           bytes.end(), magic, magic + 4);
  return found == bytes.end() ? std::string::npos
                              : static_cast<std::size_t>(found - bytes.begin());
}

} // namespace ormo::net::testing
