#include "ormo/optim/gradient_check.hpp"

#include <limits>
#include <vector>

#include "helpers.hpp"

using ormo::optim::find_non_finite;

TEST_CASE("find_non_finite finds the first NaN or infinity anywhere") {
  std::vector<float> values(5000, 1.5f);
  CHECK(find_non_finite(values.data(), values.size()) == values.size());
  CHECK(find_non_finite(values.data(), 0) == 0);
  // Largest finite values and denormals are fine.
  values[10] = std::numeric_limits<float>::max();
  values[11] = -std::numeric_limits<float>::max();
  values[12] = std::numeric_limits<float>::denorm_min();
  CHECK(find_non_finite(values.data(), values.size()) == values.size());
  for (std::size_t position : {0ul, 1023ul, 1024ul, 4321ul, 4999ul}) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                      std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      auto copy = values;
      copy[position] = bad;
      CHECK(find_non_finite(copy.data(), copy.size()) == position);
    }
  }
  values[3000] = std::numeric_limits<float>::quiet_NaN();
  values[200] = std::numeric_limits<float>::infinity();
  CHECK(find_non_finite(values.data(), values.size()) == 200);
}

TEST_CASE("checked_gradient records the first non-finite value") {
  using ormo::optim::checked_gradient;
  checked_gradient empty;
  CHECK(empty.size() == 0);
  CHECK(checked_gradient::check(nullptr).size() == 0);
  auto values = std::make_shared<Eigen::VectorXf>(Eigen::VectorXf::Ones(3000));
  auto finite = checked_gradient::check(values);
  CHECK(finite.size() == 3000);
  CHECK(finite.finite());
  CHECK(finite.first_non_finite() == 3000);
  CHECK(finite.shared_values() == values); // shared, not copied
  (*values)[2047] = std::numeric_limits<float>::infinity();
  auto infinite = checked_gradient::check(values);
  CHECK_FALSE(infinite.finite());
  CHECK(infinite.first_non_finite() == 2047);
}
