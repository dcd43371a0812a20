// The definition of "ordered" and OrMo-DA: the properties listed in
// docs/algorithms.md, "What the tests check".
#include "ormo/optim/ordered_momentum.hpp"

#include <cmath>
#include <vector>

#include "helpers.hpp"
#include "ormo/optim/asgd.hpp"

using namespace ormo;
using namespace ormo::optim;

namespace {

struct arrival {
  Eigen::VectorXf gradient;
  iteration_index computed_at;
};

/// A random admissible arrival sequence for a fixed iteration size: arrival k
/// happens in iteration t = k / K and carries an index in [t - delay, t].
std::vector<arrival> random_schedule(random_source& random, int iteration_size,
                                     int iterations, int max_delay,
                                     Eigen::Index dimension) {
  std::vector<arrival> result;
  for (int t = 0; t < iterations; ++t)
    for (int k = 0; k < iteration_size; ++k) {
      auto oldest = std::min<std::uint64_t>(t, max_delay);
      auto delay = static_cast<iteration_index>(random.below(oldest + 1));
      result.push_back({test::random_vector(random, dimension), t - delay});
    }
  return result;
}

/// The closed form of property 2, in double, over the first `received`
/// arrivals, right after iteration `closed` - 1 closed (T = closed).
struct closed_form {
  Eigen::VectorXd parameters;
  Eigen::VectorXd momentum;
};

closed_form expected_state(const Eigen::VectorXf& initial,
                           const std::vector<arrival>& arrivals,
                           std::size_t received, iteration_index closed,
                           const ordered_momentum_settings& settings,
                           int iteration_size) {
  const double beta = settings.momentum;
  closed_form result{initial.cast<double>(),
                     Eigen::VectorXd::Zero(initial.size())};
  for (std::size_t k = 0; k < received; ++k) {
    const auto& a = arrivals[k];
    // The iteration the gradient arrived in (fixed K).
    auto arrived_in = static_cast<iteration_index>(k) / iteration_size;
    double rate = settings.learning_rate;
    if (settings.delay_threshold) {
      auto tau = static_cast<double>(arrived_in - a.computed_at);
      if (tau > *settings.delay_threshold)
        rate *= *settings.delay_threshold / tau;
    }
    double c = rate / iteration_size;
    auto age = static_cast<double>(closed - a.computed_at);
    result.parameters
      -= c * (1 - std::pow(beta, age)) / (1 - beta) * a.gradient.cast<double>();
    result.momentum += std::pow(beta, age) * c * a.gradient.cast<double>();
  }
  return result;
}

/// Runs `arrivals` through a fresh rule; calls `at_boundary(T, received,
/// parameters, rule)` right after each close.
template <class F>
void run(const std::vector<arrival>& arrivals, const Eigen::VectorXf& initial,
         int iteration_size, const ordered_momentum_settings& settings,
         F at_boundary) {
  ordered_momentum rule(static_cast<std::size_t>(initial.size()),
                        iteration_size, settings);
  Eigen::VectorXf parameters = initial;
  for (std::size_t k = 0; k < arrivals.size(); ++k) {
    auto result = rule.place_and_apply(arrivals[k].gradient,
                                       arrivals[k].computed_at, parameters);
    REQUIRE(result.accepted());
    if (result.closed_iteration)
      at_boundary(result.iteration, k + 1, parameters, rule);
  }
}

/// Textbook SSGDm: u <- beta*u + (eta/K) * sum(g); w <- w - u, in double.
struct reference_ssgdm {
  Eigen::VectorXd parameters;
  Eigen::VectorXd momentum;
  Eigen::VectorXd gradient_sum;
  double learning_rate;
  double beta;
  int iteration_size;
  int received = 0;

  static reference_ssgdm start(const Eigen::VectorXf& initial,
                               const ordered_momentum_settings& settings,
                               int iteration_size) {
    auto zero = Eigen::VectorXd::Zero(initial.size());
    return {initial.cast<double>(), zero,          zero, settings.learning_rate,
            settings.momentum,      iteration_size};
  }

  /// Returns true when the iteration closed.
  bool add(const Eigen::VectorXf& gradient) {
    gradient_sum += gradient.cast<double>();
    if (++received < iteration_size)
      return false;
    momentum = beta * momentum + learning_rate / iteration_size * gradient_sum;
    parameters -= momentum;
    gradient_sum.setZero();
    received = 0;
    return true;
  }
};

} // namespace

TEST_CASE("ormo on_close equals SSGDm on a synchronous schedule") {
  random_source random(11);
  const int iteration_size = 4;
  const Eigen::Index dimension = 7;
  ordered_momentum_settings settings{0.3, 0.9, apply_mode::on_close, {}};
  Eigen::VectorXf initial = test::random_vector(random, dimension);
  auto reference = reference_ssgdm::start(initial, settings, iteration_size);
  ordered_momentum rule(dimension, iteration_size, settings);
  Eigen::VectorXf parameters = initial;
  int closes = 0;
  for (int t = 0; t < 30; ++t) {
    // The gradients of iteration t are computed at w_t (here: a function of
    // the current parameters, so a wrong w would change them).
    Eigen::VectorXf at_w_t = parameters;
    for (int k = 0; k < iteration_size; ++k) {
      Eigen::VectorXf gradient
        = at_w_t.cwiseProduct(test::random_vector(random, dimension))
          + test::random_vector(random, dimension);
      auto result = rule.place_and_apply(gradient, t, parameters);
      REQUIRE(result.accepted());
      bool reference_closed = reference.add(gradient);
      CHECK(result.closed_iteration == reference_closed);
      if (k + 1 < iteration_size)
        CHECK(parameters == at_w_t); // w moves only at the close
    }
    ++closes;
    CHECK(rule.iteration() == t + 1);
    CHECK(test::max_relative_error(parameters, reference.parameters) < 1e-5);
    // OrMo's u after a close already carries the decay of the next iteration.
    Eigen::VectorXd carried = settings.momentum * reference.momentum;
    CHECK(test::max_relative_error(rule.momentum(), carried) < 1e-5);
  }
  CHECK(closes == 30);
}

TEST_CASE("ormo on_arrival on a synchronous schedule is SSGDm shifted by u") {
  random_source random(12);
  const int iteration_size = 3;
  const Eigen::Index dimension = 5;
  ordered_momentum_settings settings{0.2, 0.8, apply_mode::on_arrival, {}};
  Eigen::VectorXf initial = test::random_vector(random, dimension);
  auto reference = reference_ssgdm::start(initial, settings, iteration_size);
  ordered_momentum rule(dimension, iteration_size, settings);
  Eigen::VectorXf parameters = initial;
  for (int t = 0; t < 25; ++t) {
    for (int k = 0; k < iteration_size; ++k) {
      Eigen::VectorXf gradient = test::random_vector(random, dimension);
      REQUIRE(rule.place_and_apply(gradient, t, parameters).accepted());
      reference.add(gradient);
    }
    // w = W_T - u: the carried momentum is already applied.
    Eigen::VectorXd carried = settings.momentum * reference.momentum;
    Eigen::VectorXd shifted = reference.parameters - carried;
    CHECK(test::max_relative_error(parameters, shifted) < 1e-5);
    CHECK(test::max_relative_error(rule.momentum(), carried) < 1e-5);
  }
}

TEST_CASE("ormo boundary state matches the closed form for random orders") {
  // Hundreds of random admissible schedules: both placements, plain and
  // delay-adaptive, several K, beta and delays.
  int schedules = 0;
  for (std::uint64_t seed = 1; seed <= 240; ++seed) {
    random_source random(seed);
    const int iteration_size = 1 + static_cast<int>(random.below(6));
    const int max_delay = static_cast<int>(random.below(12));
    const Eigen::Index dimension
      = 1 + static_cast<Eigen::Index>(random.below(6));
    ordered_momentum_settings settings;
    settings.learning_rate = 0.05 + random.uniform();
    settings.momentum = std::vector<double>{0.0, 0.5, 0.9, 0.99}[seed % 4];
    settings.apply = seed % 2 ? apply_mode::on_close : apply_mode::on_arrival;
    if (seed % 3 == 0)
      settings.delay_threshold = 0.5 + 3 * random.uniform();
    CAPTURE(seed);
    CAPTURE(iteration_size);
    CAPTURE(max_delay);
    Eigen::VectorXf initial = test::random_vector(random, dimension);
    auto arrivals
      = random_schedule(random, iteration_size, 20, max_delay, dimension);
    int boundaries = 0;
    run(arrivals, initial, iteration_size, settings,
        [&](iteration_index closed, std::size_t received,
            const Eigen::VectorXf& parameters, const ordered_momentum& rule) {
          auto expected = expected_state(initial, arrivals, received, closed,
                                         settings, iteration_size);
          Eigen::VectorXd expected_parameters = expected.parameters;
          if (settings.apply == apply_mode::on_arrival)
            expected_parameters -= expected.momentum;
          CHECK(test::max_relative_error(parameters, expected_parameters)
                < 2e-5);
          CHECK(test::max_relative_error(rule.momentum(), expected.momentum)
                < 2e-5);
          ++boundaries;
        });
    CHECK(boundaries == 20);
    ++schedules;
  }
  CHECK(schedules == 240);
}

TEST_CASE("ormo boundary state does not depend on the arrival order") {
  for (std::uint64_t seed = 100; seed < 300; ++seed) {
    random_source random(seed);
    const int iteration_size = 2 + static_cast<int>(random.below(5));
    ordered_momentum_settings settings;
    settings.learning_rate = 0.5;
    settings.momentum = 0.9;
    settings.apply = seed % 2 ? apply_mode::on_close : apply_mode::on_arrival;
    if (seed % 3 == 0)
      settings.delay_threshold = 2.0;
    CAPTURE(seed);
    Eigen::VectorXf initial = test::random_vector(random, 4);
    auto arrivals = random_schedule(random, iteration_size, 12, 6, 4);
    // Any permutation inside an iteration's block stays admissible (all of
    // its arrivals happen while t is the same) and receives the same set of
    // gradients by each boundary.
    auto reordered = arrivals;
    for (std::size_t first = 0; first < reordered.size();
         first += iteration_size)
      random.shuffle(reordered.begin() + first,
                     reordered.begin() + first + iteration_size);
    std::vector<Eigen::VectorXf> original_states;
    std::vector<Eigen::VectorXf> original_momenta;
    run(arrivals, initial, iteration_size, settings,
        [&](iteration_index, std::size_t, const Eigen::VectorXf& parameters,
            const ordered_momentum& rule) {
          original_states.push_back(parameters);
          original_momenta.push_back(rule.momentum());
        });
    std::size_t boundary = 0;
    run(reordered, initial, iteration_size, settings,
        [&](iteration_index, std::size_t, const Eigen::VectorXf& parameters,
            const ordered_momentum& rule) {
          REQUIRE(boundary < original_states.size());
          CHECK(test::max_relative_error(parameters, original_states[boundary])
                < 1e-5);
          CHECK(test::max_relative_error(rule.momentum(),
                                         original_momenta[boundary])
                < 1e-5);
          ++boundary;
        });
    CHECK(boundary == 12);
  }
}

TEST_CASE("ormo on_arrival with beta 0 is ASGD with step eta over K") {
  random_source random(7);
  const int iteration_size = 4;
  const double rate = 0.8;
  ordered_momentum ordered(6, iteration_size,
                           {rate, 0.0, apply_mode::on_arrival, {}});
  asgd plain(6, iteration_size, {rate / iteration_size, {}});
  Eigen::VectorXf initial = test::random_vector(random, 6);
  Eigen::VectorXf ordered_parameters = initial;
  Eigen::VectorXf plain_parameters = initial;
  auto arrivals = random_schedule(random, iteration_size, 15, 5, 6);
  for (const auto& a : arrivals) {
    REQUIRE(
      ordered.place_and_apply(a.gradient, a.computed_at, ordered_parameters)
        .accepted());
    // ASGD counts one iteration per arrival; its index is irrelevant here.
    REQUIRE(
      plain.place_and_apply(a.gradient, plain.iteration(), plain_parameters)
        .accepted());
    CHECK(test::max_relative_error(ordered_parameters, plain_parameters)
          < 1e-6);
  }
}

TEST_CASE("ormo on_close with beta 0 is minibatch ASGD with step eta over K") {
  random_source random(8);
  const int iteration_size = 3;
  const double rate = 0.6;
  ordered_momentum rule(5, iteration_size,
                        {rate, 0.0, apply_mode::on_close, {}});
  Eigen::VectorXf parameters = test::random_vector(random, 5);
  auto arrivals = random_schedule(random, iteration_size, 15, 4, 5);
  Eigen::VectorXf pending_current = Eigen::VectorXf::Zero(5);
  for (const auto& a : arrivals) {
    Eigen::VectorXf before = parameters;
    auto t = rule.iteration();
    auto result = rule.place_and_apply(a.gradient, a.computed_at, parameters);
    REQUIRE(result.accepted());
    Eigen::VectorXf step = (rate / iteration_size) * a.gradient;
    Eigen::VectorXf expected = before;
    if (a.computed_at < t)
      expected -= step; // a stale gradient moves w at once
    else
      pending_current += step; // a current one waits for the close
    if (result.closed_iteration) {
      expected -= pending_current;
      pending_current.setZero();
    }
    CHECK(test::max_relative_error(parameters, expected) < 1e-6);
    if (result.closed_iteration)
      CHECK(rule.momentum().isZero());
  }
}

TEST_CASE("ormo-da uses eta up to the threshold and damps older gradients") {
  const double rate = 1.0;
  const double beta = 0.5;
  const int iteration_size = 2;
  ordered_momentum rule(1, iteration_size,
                        {rate, beta, apply_mode::on_close, 2.0});
  CHECK(std::string(rule.name()) == "ormo-da");
  Eigen::VectorXf parameters = Eigen::VectorXf::Zero(1);
  Eigen::VectorXf gradient = Eigen::VectorXf::Ones(1);
  // Advance to t = 1000 with current gradients.
  while (rule.iteration() < 1000)
    REQUIRE(
      rule.place_and_apply(gradient, rule.iteration(), parameters).accepted());
  // tau = 2 <= tau_c: c = eta / K.
  auto small = rule.place(gradient, 998);
  REQUIRE(small.accepted());
  CHECK(small.delay == 2);
  CHECK(small.coefficients.momentum_gradient_weight
        == doctest::Approx(0.25 * 0.5));
  CHECK(small.coefficients.parameter_gradient_weight
        == doctest::Approx((1 + 0.5) * 0.5));
  // tau = 1000 > tau_c: c = eta * tau_c / tau / K; still applied.
  auto huge = rule.place(gradient, 0);
  REQUIRE(huge.accepted());
  CHECK(huge.delay == 1000);
  double c = rate * 2.0 / 1000.0 / iteration_size;
  CHECK(huge.coefficients.parameter_gradient_weight
        == doctest::Approx(c / (1 - beta)).epsilon(1e-6));
  CHECK(huge.coefficients.momentum_gradient_weight == 0.0f); // beta^1000
}

TEST_CASE("ormo hand-computed two iterations with a stale gradient") {
  // K = 2, eta = 1, beta = 0.5, one coordinate, on_close.
  ordered_momentum rule(1, 2, {1.0, 0.5, apply_mode::on_close, {}});
  Eigen::VectorXf w = Eigen::VectorXf::Constant(1, 10.0f);
  auto g = [](float value) { return Eigen::VectorXf::Constant(1, value); };
  // Iteration 0: gradients 2 and 4 at i = 0. c = 0.5.
  rule.place_and_apply(g(2), 0, w); // u = 1
  CHECK(w[0] == 10.0f);
  rule.place_and_apply(g(4), 0, w); // u = 3, close: w = 7, u = 1.5
  CHECK(w[0] == doctest::Approx(7.0));
  CHECK(rule.momentum()[0] == doctest::Approx(1.5));
  // Iteration 1: a stale gradient 8 from i = 0: u += 0.5 * 0.5 * 8 = 2,
  // w -= (1 - 0.5)/(1 - 0.5) * 0.5 * 8 = 4.
  rule.place_and_apply(g(8), 0, w);
  CHECK(w[0] == doctest::Approx(3.0));
  CHECK(rule.momentum()[0] == doctest::Approx(3.5));
  // A current gradient 2: u += 1, close: w -= 4.5, u = 2.25.
  auto last = rule.place_and_apply(g(2), 1, w);
  CHECK(last.closed_iteration);
  CHECK(last.iteration == 2);
  CHECK(w[0] == doctest::Approx(-1.5));
  CHECK(rule.momentum()[0] == doctest::Approx(2.25));
}

TEST_CASE("ormo on_arrival hand-computed steps") {
  // K = 2, eta = 1, beta = 0.5, one coordinate.
  ordered_momentum rule(1, 2, {1.0, 0.5, apply_mode::on_arrival, {}});
  Eigen::VectorXf w = Eigen::VectorXf::Constant(1, 10.0f);
  auto g = [](float value) { return Eigen::VectorXf::Constant(1, value); };
  rule.place_and_apply(g(2), 0, w); // u = 1, w -= 1
  CHECK(w[0] == doctest::Approx(9.0));
  rule.place_and_apply(g(4), 0, w); // u = 3, w -= 2; close: u = 1.5, w -= 1.5
  CHECK(w[0] == doctest::Approx(5.5));
  CHECK(rule.momentum()[0] == doctest::Approx(1.5));
  // Stale 8 from i = 0 in iteration 1: u += 0.5 * 0.5 * 8 = 2,
  // w -= (1 - 0.25)/(0.5) * 0.5 * 8 = 6.
  rule.place_and_apply(g(8), 0, w);
  CHECK(w[0] == doctest::Approx(-0.5));
  CHECK(rule.momentum()[0] == doctest::Approx(3.5));
}
