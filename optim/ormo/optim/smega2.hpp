// SMEGA2 (Cohen, Hakimi, Schuster, "SMEGA2: Distributed Asynchronous Deep
// Neural Network Training With a Single Momentum Buffer", ICPP 2022): one
// momentum buffer m and an accumulator G for any number of workers. Each
// arrival does
//   w <- w - eta * (g + beta * m);   G <- G + g
// and every C = K arrivals (one iteration)
//   m <- beta * m + G / C;   G <- 0.
// The pushing worker receives not w but SMEGA2's estimate of w one cycle
// (C arrivals) ahead, with s = arrivals in the open cycle after this one:
//   w - eta * beta * ((C + s * (beta - 1)) * m + (s / C) * G).
// (docs/algorithms.md gives the derivation and what is uncertain.)
//
// m and G are the rule's own vectors (2 d floats whatever the number of
// workers); the step hands g + beta * m to the holder of w (step_vector) and
// the estimate's offset (look_ahead).
#pragma once

#include <memory>

#include "ormo/optim/update_rule.hpp"

namespace ormo::optim {

struct smega2_settings {
  double learning_rate = 0.1;
  /// beta. REQUIRES: 0 <= momentum < 1.
  double momentum = 0.9;
};

class smega2 final : public update_rule {
public:
  /// C is the iteration size K (the number of workers by default).
  smega2(std::size_t dimension, int iteration_size,
         const smega2_settings& settings);

  const char* name() const override;

  /// m, the momentum (a copy).
  Eigen::VectorXf single_momentum() const;

  /// G, the gradients of the open cycle summed (a copy).
  Eigen::VectorXf accumulator() const;

protected:
  plan plan_for(iteration_index delay, bool closes) const override;
  own_result update_own_vectors(const own_update& update) override;

private:
  enum own_slot { momentum_slot, accumulator_slot };

  smega2_settings settings_;
  /// What the last steps handed out, reused once nobody holds them.
  std::shared_ptr<Eigen::VectorXf> direction_;
  std::shared_ptr<Eigen::VectorXf> look_ahead_;
};

} // namespace ormo::optim
