// ormo's CAF error codes (category "ormo").
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

namespace ormo::actors {

enum class error_code : std::uint8_t {
  /// A worker's gradient_source threw.
  gradient_failed = 1,
  /// A reply did not match what was sent (e.g. wrong shard size).
  invalid_reply,
  /// A run could not start: bad data, model or settings.
  invalid_setup,
  /// A shard could not write its checkpoint.
  checkpoint_failed,
  /// A declared fault ended the actor (see fault_injector.hpp).
  fault_injected,
};

std::string to_string(error_code code);

} // namespace ormo::actors

CAF_ERROR_CODE_ENUM(ormo::actors::error_code, "ormo")
