#include "ormo/optim/delay_adaptive_rate.hpp"

#include "helpers.hpp"

using ormo::optim::delay_adaptive_rate;

TEST_CASE("delay adaptive rate is eta up to the threshold then eta tau_c/tau") {
  CHECK(delay_adaptive_rate(0.1, 0, 2.0) == 0.1);
  CHECK(delay_adaptive_rate(0.1, 2, 2.0) == 0.1);
  CHECK(delay_adaptive_rate(0.1, 3, 2.0) == doctest::Approx(0.1 * 2 / 3));
  CHECK(delay_adaptive_rate(0.1, 1000000, 2.0) == doctest::Approx(0.1 * 2e-6));
  CHECK(delay_adaptive_rate(0.1, 1000000, 2.0) > 0); // never dropped
  CHECK(delay_adaptive_rate(1.0, 5, 2.5) == doctest::Approx(0.5));
}
