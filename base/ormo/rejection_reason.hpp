// Every reason a gradient push can be refused, in one vocabulary shared by
// the update rules (optim) and the actors that order and apply their steps.
//
// The names are stable lower_snake_case strings: they are the keys of
// summary.json's gradients_rejected object and appear in logs and error text.
// Inside the program a reason travels as the enum, never as its name.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ormo {

/// Why a gradient (or one shard's slice of it) was not applied.
enum class rejection_reason : std::uint8_t {
  none,               ///< Not rejected.
  dimension_mismatch, ///< g has the wrong number of values.
  non_finite_value,   ///< g holds a NaN or an infinity (in any slice).
  future_iteration,   ///< i > t: computed at an iteration that is not open.
  negative_iteration, ///< i < 0.
  not_synchronous,    ///< i != t under the synchronous reference (SSGDm).
  unknown_worker,     ///< The pushing worker is not a registered member.
  duplicate_sequence, ///< The push's sequence number was already received.
  invalid_step,       ///< The server cannot apply the orderer's step.
};

/// All reasons but `none`, in declaration order.
inline constexpr rejection_reason all_rejection_reasons[] = {
  rejection_reason::dimension_mismatch, rejection_reason::non_finite_value,
  rejection_reason::future_iteration,   rejection_reason::negative_iteration,
  rejection_reason::not_synchronous,    rejection_reason::unknown_worker,
  rejection_reason::duplicate_sequence, rejection_reason::invalid_step,
};

/// Stable lower_snake_case name of a reason, e.g. "non_finite_value".
inline const char* to_string(rejection_reason reason) {
  switch (reason) {
    case rejection_reason::none:
      return "none";
    case rejection_reason::dimension_mismatch:
      return "dimension_mismatch";
    case rejection_reason::non_finite_value:
      return "non_finite_value";
    case rejection_reason::future_iteration:
      return "future_iteration";
    case rejection_reason::negative_iteration:
      return "negative_iteration";
    case rejection_reason::not_synchronous:
      return "not_synchronous";
    case rejection_reason::unknown_worker:
      return "unknown_worker";
    case rejection_reason::duplicate_sequence:
      return "duplicate_sequence";
    case rejection_reason::invalid_step:
      return "invalid_step";
  }
  return "unknown";
}

/// The reason named `name` (as to_string() spells it), or none when no
/// reason has that name.
inline std::optional<rejection_reason>
parse_rejection_reason(std::string_view name) {
  if (name == to_string(rejection_reason::none))
    return rejection_reason::none;
  for (auto reason : all_rejection_reasons)
    if (name == to_string(reason))
      return reason;
  return std::nullopt;
}

} // namespace ormo
