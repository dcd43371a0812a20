// Naive asynchronous momentum SGD: on every arrival u <- beta*u + g and
// w <- w - eta*u, whatever iteration g was computed at. The baseline that
// OrMo corrects; it diverges unless eta is tiny.
#pragma once

#include "ormo/optim/update_rule.hpp"

namespace ormo::optim {

struct naive_momentum_settings {
  double learning_rate = 0.001;
  double momentum = 0.9;
};

class naive_momentum final : public update_rule {
public:
  naive_momentum(std::size_t dimension, int iteration_size,
                 const naive_momentum_settings& settings);

  const char* name() const override;

protected:
  plan plan_for(iteration_index delay, bool closes) const override;

private:
  naive_momentum_settings settings_;
};

} // namespace ormo::optim
