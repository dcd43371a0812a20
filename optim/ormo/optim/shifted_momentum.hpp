// Shifted momentum (Giladi et al., "At Stability's Edge", ICLR 2020): one
// momentum buffer per worker. A gradient of worker k does
//   m_k <- beta * m_k + g;   w <- w - eta * m_k,
// so each worker's momentum advances once per push of its own (with K
// workers taking turns, an effective momentum delay of about K - 1).
//
// The buffers are the rule's own vectors: d floats per worker, created when
// a worker joins (or at its first gradient) and dropped when it leaves. The
// step hands the worker's new m_k to the holder of w (step_vector).
#pragma once

#include "ormo/optim/update_rule.hpp"

namespace ormo::optim {

struct shifted_momentum_settings {
  double learning_rate = 0.01;
  /// beta. REQUIRES: 0 <= momentum < 1.
  double momentum = 0.9;
};

class shifted_momentum final : public update_rule {
public:
  shifted_momentum(std::size_t dimension, int iteration_size,
                   const shifted_momentum_settings& settings);

  const char* name() const override;

  /// Worker `worker`'s momentum m_k (a copy; zero for a worker without
  /// one).
  Eigen::VectorXf worker_momentum(worker_id worker) const;

protected:
  plan plan_for(iteration_index delay, bool closes) const override;
  own_result update_own_vectors(const own_update& update) override;

private:
  shifted_momentum_settings settings_;
};

} // namespace ormo::optim
