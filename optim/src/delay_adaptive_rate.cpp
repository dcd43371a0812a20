#include "ormo/optim/delay_adaptive_rate.hpp"

namespace ormo::optim {

double delay_adaptive_rate(double learning_rate, std::int64_t delay,
                           double threshold) {
  auto tau = static_cast<double>(delay);
  if (tau <= threshold)
    return learning_rate;
  return learning_rate * threshold / tau;
}

} // namespace ormo::optim
