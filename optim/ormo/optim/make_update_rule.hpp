// Names the six algorithms and builds a rule from plain settings (what a
// configuration file says).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "ormo/optim/ordered_momentum.hpp"
#include "ormo/status.hpp"

namespace ormo::optim {

enum class algorithm { ssgdm, asgd, asgd_da, naive_asgdm, ormo, ormo_da };

/// Configuration name: "ssgdm", "asgd", "asgd-da", "naive-asgdm", "ormo",
/// "ormo-da".
const char* to_string(algorithm value);

/// Inverse of to_string; none for an unknown name.
std::optional<algorithm> parse_algorithm(std::string_view name);

/// Inverse of to_string(apply_mode); none for an unknown name.
std::optional<apply_mode> parse_apply_mode(std::string_view name);

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

/// Validates the settings and builds the rule, or says which value is bad.
result<std::unique_ptr<update_rule>>
make_update_rule(const algorithm_settings& settings, std::size_t dimension,
                 int iteration_size);

} // namespace ormo::optim
