// SSGDm, the synchronous reference: iteration t takes K gradients computed at
// w_t, then u <- beta*u + (eta/K)*sum(g) and w <- w - u. Gradients of any
// other iteration are rejected (not_synchronous); the barrier that makes
// workers wait for the close is the caller's.
#pragma once

#include "ormo/optim/update_rule.hpp"

namespace ormo::optim {

struct synchronous_momentum_settings {
  double learning_rate = 0.1;
  double momentum = 0.9;
};

class synchronous_momentum final : public update_rule {
public:
  synchronous_momentum(std::size_t dimension, int iteration_size,
                       const synchronous_momentum_settings& settings);

  const char* name() const override;
  /// True: the barrier (see update_rule).
  bool holds_pushes_until_close() const override;

protected:
  rejection_reason admit(iteration_index delay,
                         std::string& detail) const override;
  plan plan_for(iteration_index delay, bool closes) const override;

private:
  synchronous_momentum_settings settings_;
};

} // namespace ormo::optim
