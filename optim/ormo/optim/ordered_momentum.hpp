// OrMo and OrMo-DA: asynchronous SGD with ordered momentum (the equations
// and the properties the tests check: docs/algorithms.md).
//
// A gradient computed at iteration index i enters the momentum with the
// weight synchronous momentum SGD would have given it by now, beta^(t-i), and
// the parameter step it would already have caused is applied at once, so the
// state at iteration boundaries does not depend on arrival order.
#pragma once

#include <optional>

#include "ormo/optim/update_rule.hpp"

namespace ormo::optim {

/// Where the parameter step of a current-iteration gradient goes.
enum class apply_mode {
  /// w moves when the iteration closes: exact synchronous order.
  on_close,
  /// w moves at once by the gradient's full current weight; the carried
  /// momentum is applied as the next iteration opens (Nesterov-like).
  on_arrival,
};

/// "on_close" or "on_arrival".
const char* to_string(apply_mode mode);

struct ordered_momentum_settings {
  double learning_rate = 0.1;
  /// beta. REQUIRES: 0 <= momentum < 1.
  double momentum = 0.9;
  apply_mode apply = apply_mode::on_arrival;
  /// tau_c in iterations for OrMo-DA; none for plain OrMo.
  std::optional<double> delay_threshold;
};

class ordered_momentum final : public update_rule {
public:
  /// REQUIRES: settings valid (see make_update_rule), iteration_size >= 1.
  ordered_momentum(std::size_t dimension, int iteration_size,
                   const ordered_momentum_settings& settings);

  const char* name() const override;

  const ordered_momentum_settings& settings() const { return settings_; }

protected:
  plan plan_for(iteration_index delay, bool closes) const override;

private:
  ordered_momentum_settings settings_;
};

} // namespace ormo::optim
