// The delay-adaptive learning rate of ASGD-DA and OrMo-DA.
#pragma once

#include <cstdint>

namespace ormo::optim {

/// eta(tau) = eta if tau <= threshold, else eta * threshold / tau.
/// Old gradients are damped, never dropped.
/// REQUIRES: delay >= 0, threshold > 0.
double delay_adaptive_rate(double learning_rate, std::int64_t delay,
                           double threshold);

} // namespace ormo::optim
