// The protocol every rule shares: validation, rejection without side
// effects, the fused and the split application agreeing, changing K.
#include "ormo/optim/update_rule.hpp"

#include <limits>
#include <string>

#include "helpers.hpp"
#include "ormo/optim/make_update_rule.hpp"

using namespace ormo;
using namespace ormo::optim;

namespace {

std::unique_ptr<update_rule> make(algorithm name, std::size_t dimension,
                                  int iteration_size,
                                  apply_mode apply = apply_mode::on_arrival) {
  algorithm_settings settings;
  settings.name = name;
  settings.learning_rate = 0.05;
  settings.momentum = 0.9;
  settings.apply = apply;
  auto rule = make_update_rule(settings, dimension, iteration_size);
  REQUIRE(rule.has_value());
  return std::move(rule).value();
}

const algorithm all_algorithms[] = {
  algorithm::ssgdm,       algorithm::asgd, algorithm::asgd_da,
  algorithm::naive_asgdm, algorithm::ormo, algorithm::ormo_da,
};

} // namespace

TEST_CASE("invalid gradients are rejected and change nothing") {
  for (auto name : all_algorithms) {
    CAPTURE(to_string(name));
    auto rule = make(name, 4, 2);
    Eigen::VectorXf w = Eigen::VectorXf::Ones(4);
    Eigen::VectorXf g = Eigen::VectorXf::Constant(4, 0.5f);
    REQUIRE(rule->place_and_apply(g, 0, w).accepted());
    const Eigen::VectorXf w_before = w;
    const Eigen::VectorXf u_before = rule->momentum();
    const auto t_before = rule->iteration();
    const auto n_before = rule->arrivals_in_iteration();
    auto expect_unchanged = [&] {
      CHECK(w == w_before);
      CHECK(rule->momentum() == u_before);
      CHECK(rule->iteration() == t_before);
      CHECK(rule->arrivals_in_iteration() == n_before);
    };

    Eigen::VectorXf short_gradient = Eigen::VectorXf::Ones(3);
    auto wrong_size = rule->place_and_apply(short_gradient, 0, w);
    CHECK(wrong_size.rejection == rejection_reason::dimension_mismatch);
    CHECK(wrong_size.detail == "gradient has 3 values, the parameters have 4");
    expect_unchanged();

    Eigen::VectorXf nan_gradient = g;
    nan_gradient[2] = std::numeric_limits<float>::quiet_NaN();
    auto nan = rule->place_and_apply(nan_gradient, rule->iteration(), w);
    CHECK(nan.rejection == rejection_reason::non_finite_value);
    CHECK(nan.detail == "gradient value 2 is not finite");
    expect_unchanged();

    Eigen::VectorXf inf_gradient = g;
    inf_gradient[3] = -std::numeric_limits<float>::infinity();
    CHECK(rule->place(inf_gradient, rule->iteration()).rejection
          == rejection_reason::non_finite_value);
    expect_unchanged();

    auto future = rule->place_and_apply(g, rule->iteration() + 1, w);
    CHECK(future.rejection == rejection_reason::future_iteration);
    CHECK(future.detail.find("ahead of the current iteration")
          != std::string::npos);
    expect_unchanged();

    auto negative = rule->place_and_apply(g, -1, w);
    CHECK(negative.rejection == rejection_reason::negative_iteration);
    expect_unchanged();
  }
}

TEST_CASE("place then apply_parameter_step equals place_and_apply") {
  for (auto name : all_algorithms)
    for (auto apply : {apply_mode::on_close, apply_mode::on_arrival}) {
      CAPTURE(to_string(name));
      CAPTURE(to_string(apply));
      random_source random(5);
      const int iteration_size = 3;
      auto fused = make(name, 9, iteration_size, apply);
      auto split = make(name, 9, iteration_size, apply);
      Eigen::VectorXf fused_w = test::random_vector(random, 9);
      Eigen::VectorXf split_w = fused_w;
      for (int k = 0; k < 40; ++k) {
        Eigen::VectorXf g = test::random_vector(random, 9);
        // Current or, except for ssgdm, up to two iterations old.
        auto t = fused->iteration();
        auto i = name == algorithm::ssgdm
                   ? t
                   : t
                       - static_cast<iteration_index>(
                         random.below(std::min<iteration_index>(t, 2) + 1));
        auto a = fused->place_and_apply(g, i, fused_w);
        auto b = split->place(g, i);
        REQUIRE(a.accepted());
        REQUIRE(b.accepted());
        // What an owner of w elsewhere receives: g, the coefficients and a
        // copy of the stored momentum.
        Eigen::VectorXf shipped_momentum = split->momentum_storage();
        update_rule::apply_parameter_step(b.coefficients, g, shipped_momentum,
                                          split_w);
        CHECK(a.closed_iteration == b.closed_iteration);
        CHECK(a.iteration == b.iteration);
        CHECK(test::max_relative_error(fused_w, split_w) < 1e-6);
        CHECK(test::max_relative_error(fused->momentum(), split->momentum())
              < 1e-6);
      }
    }
}

TEST_CASE("a checked gradient is placed like the same values unchecked") {
  for (auto name : all_algorithms) {
    CAPTURE(to_string(name));
    random_source random(9);
    auto checked = make(name, 6, 2);
    auto unchecked = make(name, 6, 2);
    Eigen::VectorXf checked_w = test::random_vector(random, 6);
    Eigen::VectorXf unchecked_w = checked_w;
    for (int k = 0; k < 12; ++k) {
      auto values = std::make_shared<const Eigen::VectorXf>(
        test::random_vector(random, 6));
      auto t = checked->iteration();
      auto a = checked->place_and_apply(checked_gradient::check(values), t,
                                        checked_w);
      auto b = unchecked->place_and_apply(*values, t, unchecked_w);
      REQUIRE(a.accepted());
      REQUIRE(b.accepted());
      CHECK(checked_w == unchecked_w);
      CHECK(checked->momentum() == unchecked->momentum());
    }
    // The recorded check is what the rule goes by: no second pass.
    auto bad = std::make_shared<Eigen::VectorXf>(Eigen::VectorXf::Ones(6));
    (*bad)[4] = std::numeric_limits<float>::quiet_NaN();
    auto t = checked->iteration();
    auto rejected = checked->place(checked_gradient::check(bad), t);
    CHECK(rejected.rejection == rejection_reason::non_finite_value);
    CHECK(rejected.detail == "gradient value 4 is not finite");
    auto empty = checked->place(checked_gradient{}, t);
    CHECK(empty.rejection == rejection_reason::dimension_mismatch);
    CHECK(checked->iteration() == t);
  }
}

TEST_CASE("changing the iteration size takes effect at the next arrival") {
  auto rule = make(algorithm::ormo, 2, 4);
  Eigen::VectorXf w = Eigen::VectorXf::Zero(2);
  Eigen::VectorXf g = Eigen::VectorXf::Ones(2);
  for (int k = 0; k < 3; ++k)
    CHECK_FALSE(rule->place_and_apply(g, 0, w).closed_iteration);
  CHECK(rule->arrivals_in_iteration() == 3);
  // A worker left: K = 2 < n + 1, so the next arrival closes.
  rule->set_iteration_size(2);
  CHECK(rule->place_and_apply(g, 0, w).closed_iteration);
  CHECK(rule->iteration() == 1);
  CHECK_FALSE(rule->place_and_apply(g, 1, w).closed_iteration);
  CHECK(rule->place_and_apply(g, 1, w).closed_iteration);
  // Per-arrival rules close on every arrival whatever K is.
  auto per_arrival = make(algorithm::asgd, 2, 8);
  CHECK(per_arrival->arrivals_per_iteration() == 1);
  CHECK(per_arrival->place_and_apply(g, 0, w).closed_iteration);
}

TEST_CASE("rejection reasons have stable names") {
  CHECK(std::string(to_string(rejection_reason::dimension_mismatch))
        == "dimension_mismatch");
  CHECK(std::string(to_string(rejection_reason::non_finite_value))
        == "non_finite_value");
  CHECK(std::string(to_string(rejection_reason::future_iteration))
        == "future_iteration");
  CHECK(std::string(to_string(rejection_reason::negative_iteration))
        == "negative_iteration");
  CHECK(std::string(to_string(rejection_reason::not_synchronous))
        == "not_synchronous");
}

TEST_CASE(
  "warm-up scales a gradient's weights by the iteration it arrives in") {
  for (auto name : all_algorithms) {
    CAPTURE(to_string(name));
    auto warm = make(name, 3, 2);
    auto plain = make(name, 3, 2);
    warm->set_warmup(4);
    Eigen::VectorXf g = Eigen::VectorXf::Constant(3, 0.5f);
    for (int k = 0; k < 20; ++k) {
      auto t = warm->iteration();
      auto a = warm->place(g, t);
      auto b = plain->place(g, t);
      REQUIRE(a.accepted());
      REQUIRE(b.accepted());
      float scale = t < 4 ? static_cast<float>(t + 1) / 4.0f : 1.0f;
      CHECK(
        a.coefficients.momentum_gradient_weight
        == doctest::Approx(scale * b.coefficients.momentum_gradient_weight));
      CHECK(
        a.coefficients.parameter_gradient_weight
        == doctest::Approx(scale * b.coefficients.parameter_gradient_weight));
      CHECK(a.coefficients.momentum_decay == b.coefficients.momentum_decay);
      CHECK(a.coefficients.parameter_momentum_weight
            == b.coefficients.parameter_momentum_weight);
    }
  }
}

TEST_CASE("close_iteration closes early only when K shrank to what it holds") {
  // SSGDm, K = 3, two gradients held; K drops to 2.
  auto rule = make(algorithm::ssgdm, 1, 3);
  Eigen::VectorXf w = Eigen::VectorXf::Constant(1, 1.0f);
  Eigen::VectorXf g = Eigen::VectorXf::Constant(1, 3.0f);
  CHECK_FALSE(rule->close_iteration().closed_iteration); // nothing held
  rule->place_and_apply(g, 0, w);
  rule->place_and_apply(g, 0, w);
  CHECK(w[0] == 1.0f);
  CHECK_FALSE(rule->close_iteration().closed_iteration); // 2 < K = 3
  CHECK(rule->iteration() == 0);
  rule->set_iteration_size(2);
  auto closed = rule->close_iteration();
  REQUIRE(closed.closed_iteration);
  CHECK(closed.iteration == 1);
  CHECK(rule->iteration() == 1);
  CHECK(rule->arrivals_in_iteration() == 0);
  CHECK(closed.coefficients.parameter_gradient_weight == 0.0f);
  // u = (0.05 / 3) * 6 = 0.1 as accumulated; w -= u; then u decays by beta.
  update_rule::apply_parameter_step(closed.coefficients, Eigen::VectorXf{},
                                    rule->momentum_storage(), w);
  CHECK(w[0] == doctest::Approx(0.9));
  CHECK(rule->momentum()[0] == doctest::Approx(0.09));
  // Per-arrival rules never hold an open iteration.
  auto per_arrival = make(algorithm::asgd, 1, 3);
  per_arrival->place(g, 0);
  CHECK_FALSE(per_arrival->close_iteration().closed_iteration);
}

TEST_CASE("a shared momentum buffer is never written (copy-on-write)") {
  random_source random(11);
  const Eigen::Index dimension = 9;
  for (auto fused : {false, true}) {
    CAPTURE(fused);
    auto rule = make(algorithm::ormo, dimension, 1);
    Eigen::VectorXf w = Eigen::VectorXf::Zero(dimension);
    auto place = [&](const Eigen::VectorXf& g) {
      auto placed = fused ? rule->place_and_apply(g, rule->iteration(), w)
                          : rule->place(g, rule->iteration());
      REQUIRE(placed.accepted());
    };
    place(test::random_vector(random, dimension));
    auto shared = rule->shared_momentum_storage();
    REQUIRE(shared);
    const Eigen::VectorXf before = *shared;
    place(test::random_vector(random, dimension));
    // The reader's buffer kept its values; the rule moved on.
    CHECK(*shared == before);
    CHECK(rule->momentum_storage() != before);
    CHECK(&rule->momentum_storage() != shared.get());
    // Released, the buffer is updated in place again.
    shared.reset();
    const auto* storage = &rule->momentum_storage();
    place(test::random_vector(random, dimension));
    CHECK(&rule->momentum_storage() == storage);
  }
}

TEST_CASE("rules without momentum share no momentum buffer") {
  auto rule = make(algorithm::asgd, 4, 1);
  CHECK_FALSE(rule->shared_momentum_storage());
  CHECK(rule->momentum_storage().size() == 0);
}
