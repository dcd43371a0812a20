// Names the eight algorithms and builds a rule from plain settings (what a
// configuration file says).
#pragma once

#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>

#include "ormo/optim/ordered_momentum.hpp"
#include "ormo/status.hpp"

namespace ormo::optim {

enum class algorithm {
  ssgdm,
  asgd,
  asgd_da,
  naive_asgdm,
  ormo,
  ormo_da,
  shifted_momentum,
  smega2,
};

/// Configuration name: "ssgdm", "asgd", "asgd-da", "naive-asgdm", "ormo",
/// "ormo-da", "shifted-momentum", "smega2".
const char* to_string(algorithm value);

/// Inverse of to_string; none for an unknown name.
std::optional<algorithm> parse_algorithm(std::string_view name);

/// Inverse of to_string(apply_mode); none for an unknown name.
std::optional<apply_mode> parse_apply_mode(std::string_view name);

/// The values a real hyper-parameter may take: from lo to hi, each end open
/// or closed; hi = infinity for no upper bound. NaN and infinities are never
/// contained. The configuration schema checks the same ranges.
struct real_range {
  double lo;
  bool lo_open;
  double hi = std::numeric_limits<double>::infinity();
  bool hi_open = false;

  bool contains(double value) const {
    return std::isfinite(value) && (lo_open ? value > lo : value >= lo)
           && (hi_open ? value < hi : value <= hi);
  }
};

/// eta: > 0.
inline constexpr real_range learning_rate_range{0, true};
/// beta: [0, 1).
inline constexpr real_range momentum_range{0, false, 1, true};
/// tau_c: > 0.
inline constexpr real_range delay_threshold_range{0, true};

/// Hyper-parameters of any rule; each rule reads the ones it uses.
struct algorithm_settings {
  algorithm name = algorithm::ormo;
  /// eta: > 0.
  double learning_rate = 0.1;
  /// beta: in [0, 1). Unused by ASGD and ASGD-DA.
  double momentum = 0.9;
  /// OrMo and OrMo-DA only.
  apply_mode apply = apply_mode::on_arrival;
  /// tau_c: > 0, in iterations. ASGD-DA and OrMo-DA only.
  double delay_threshold = 2.0;
};

/// Validates the settings (the ranges above, iteration_size >= 1,
/// dimension > 0) and builds the rule, or says which value is bad.
result<std::unique_ptr<update_rule>>
make_update_rule(const algorithm_settings& settings, std::size_t dimension,
                 int iteration_size);

} // namespace ormo::optim
