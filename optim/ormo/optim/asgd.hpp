// ASGD and ASGD-DA: every arrival is one iteration, w <- w - eta(tau) * g.
#pragma once

#include <optional>

#include "ormo/optim/update_rule.hpp"

namespace ormo::optim {

struct asgd_settings {
  double learning_rate = 0.01;
  /// tau_c for ASGD-DA: the rate is damped beyond tau_c * K updates, K being
  /// the iteration size (an OrMo iteration holds K updates). None for ASGD.
  std::optional<double> delay_threshold;
};

class asgd final : public update_rule {
public:
  asgd(std::size_t dimension, int iteration_size,
       const asgd_settings& settings);

  const char* name() const override;

protected:
  plan plan_for(iteration_index delay, bool closes) const override;

private:
  asgd_settings settings_;
};

} // namespace ormo::optim
