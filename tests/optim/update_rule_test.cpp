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
  algorithm::ssgdm,
  algorithm::asgd,
  algorithm::asgd_da,
  algorithm::naive_asgdm,
  algorithm::ormo,
  algorithm::ormo_da,
  algorithm::shifted_momentum,
  algorithm::smega2,
};

/// The rules that keep vectors of their own (and weigh g there).
bool keeps_own_vectors(algorithm name) {
  return name == algorithm::shifted_momentum || name == algorithm::smega2;
}

/// Every vector of a rule's state is equal.
bool same_vectors(const rule_state& a, const rule_state& b) {
  if (a.own_vectors.size() != b.own_vectors.size()
      || a.worker_vectors.size() != b.worker_vectors.size())
    return false;
  for (std::size_t k = 0; k < a.own_vectors.size(); ++k)
    if (!(a.own_vectors[k].array() == b.own_vectors[k].array()).all())
      return false;
  for (const auto& [worker, vector] : a.worker_vectors) {
    auto other = b.worker_vectors.find(worker);
    if (other == b.worker_vectors.end()
        || !(vector.array() == other->second.array()).all())
      return false;
  }
  return a.momentum.size() == b.momentum.size()
         && (a.momentum.array() == b.momentum.array()).all();
}

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
    const auto state_before = rule->state();
    auto expect_unchanged = [&] {
      CHECK(w == w_before);
      CHECK(rule->momentum() == u_before);
      CHECK(rule->iteration() == t_before);
      CHECK(rule->arrivals_in_iteration() == n_before);
      CHECK(same_vectors(rule->state(), state_before));
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

TEST_CASE("place elsewhere then apply_step equals place_and_apply") {
  for (auto name : all_algorithms)
    for (auto apply : {apply_mode::on_close, apply_mode::on_arrival}) {
      CAPTURE(to_string(name));
      CAPTURE(to_string(apply));
      random_source random(5);
      const int iteration_size = 3;
      auto fused = make(name, 9, iteration_size, apply);
      auto split = make(name, 9, iteration_size, apply);
      split->keep_momentum_elsewhere();
      // The first iterations warm up (scaled gradient weights).
      fused->set_warmup(8);
      split->set_warmup(8);
      CHECK(split->momentum_storage().size() == 0);
      Eigen::VectorXf fused_w = test::random_vector(random, 9);
      // What a holder of u and w keeps: u, the base and the published w.
      Eigen::VectorXf u = Eigen::VectorXf::Zero(9);
      Eigen::VectorXf base = fused_w;
      Eigen::VectorXf published = fused_w;
      Eigen::VectorXf none; // no separate published w
      for (int k = 0; k < 40; ++k) {
        CAPTURE(k);
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
        CHECK(a.closed_iteration == b.closed_iteration);
        CHECK(a.iteration == b.iteration);
        const auto& step = b.offset_form;
        CHECK(static_cast<bool>(b.step_vector) == keeps_own_vectors(name));
        const gradient_view input = b.step_input(g);
        if (step.momentum_offset != 0) {
          update_rule::apply_step(step, input, u, base, base, published);
        } else if (k % 2 == 0) {
          // In place, or (copy-on-write) from the old buffer into another.
          update_rule::apply_step(step, input, u, base, base, none);
          published = base;
        } else {
          Eigen::VectorXf next(9);
          update_rule::apply_step(step, input, u, base, next, none);
          base = next;
          published = base;
        }
        CHECK(step.changes_parameters() == a.coefficients.changes_parameters());
        CHECK(test::max_relative_error(fused_w, published) < 1e-6);
        if (fused->momentum_storage().size() > 0)
          CHECK(test::max_relative_error(u, fused->momentum_storage()) < 1e-6);
      }
    }
}

TEST_CASE("on_arrival's offset form is on_close's base minus the momentum") {
  random_source random(3);
  auto on_close = make(algorithm::ormo, 4, 2, apply_mode::on_close);
  auto on_arrival = make(algorithm::ormo, 4, 2, apply_mode::on_arrival);
  for (int k = 0; k < 12; ++k) {
    Eigen::VectorXf g = test::random_vector(random, 4);
    auto i = on_close->iteration() - (k % 3 == 2 ? 1 : 0);
    auto close = on_close->place(g, std::max<iteration_index>(i, 0));
    auto arrival = on_arrival->place(g, std::max<iteration_index>(i, 0));
    REQUIRE(close.accepted());
    REQUIRE(arrival.accepted());
    CHECK(close.offset_form.momentum_offset == 0.0f);
    CHECK(arrival.offset_form.coefficients.parameter_gradient_weight
          == close.coefficients.parameter_gradient_weight);
    CHECK(arrival.offset_form.coefficients.parameter_momentum_weight
          == close.coefficients.parameter_momentum_weight);
    // The logical momentum: beta right after a close, 1 otherwise.
    CHECK(arrival.offset_form.momentum_offset
          == (arrival.closed_iteration ? 0.9f : 1.0f));
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
      CHECK(same_vectors(checked->state(), unchecked->state()));
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
    if (keeps_own_vectors(name))
      continue; // they weigh g in their own vectors (their own tests)
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
  // u = (0.05 / 3) * 6 = 0.1 as accumulated; w -= u; then u decays by beta
  // (the rule updated its u already).
  CHECK(closed.coefficients.parameter_momentum_weight == 1.0f);
  w -= rule->momentum_storage();
  CHECK(w[0] == doctest::Approx(0.9));
  CHECK(rule->momentum()[0] == doctest::Approx(0.09));
  // Per-arrival rules never hold an open iteration.
  auto per_arrival = make(algorithm::asgd, 1, 3);
  per_arrival->place(g, 0);
  CHECK_FALSE(per_arrival->close_iteration().closed_iteration);
}

TEST_CASE("rules without momentum keep no momentum") {
  auto rule = make(algorithm::asgd, 4, 1);
  CHECK(rule->momentum_storage().size() == 0);
  auto placed = rule->place(Eigen::VectorXf::Ones(4), 0);
  REQUIRE(placed.accepted());
  CHECK_FALSE(placed.offset_form.coefficients.changes_momentum());
  CHECK(placed.offset_form.momentum_offset == 0.0f);
}

TEST_CASE("a rule restored from another's state places the next gradients "
          "exactly as that one does") {
  for (auto name : all_algorithms) {
    for (bool elsewhere : {false, true}) {
      CAPTURE(to_string(name));
      CAPTURE(elsewhere);
      const std::size_t d = 6;
      auto original = make(name, d, 3);
      auto restored = make(name, d, 3);
      if (elsewhere) {
        original->keep_momentum_elsewhere();
        restored->keep_momentum_elsewhere();
      }
      random_source random(17);
      Eigen::VectorXf w = Eigen::VectorXf::Zero(d);
      auto delay_at = [&](iteration_index t) {
        return name == algorithm::ssgdm ? t : t - (t > 0 ? 1 : 0);
      };
      for (int k = 0; k < 8; ++k) {
        const Eigen::VectorXf g = test::random_vector(random, d);
        if (elsewhere)
          original->place(g, delay_at(original->iteration()));
        else
          original->place_and_apply(g, delay_at(original->iteration()), w);
      }
      original->set_iteration_size(2);
      REQUIRE(restored->restore(original->state()));
      Eigen::VectorXf w_restored = w;
      for (int k = 0; k < 8; ++k) {
        CAPTURE(k);
        const Eigen::VectorXf g = test::random_vector(random, d);
        auto i = delay_at(original->iteration());
        auto a = elsewhere ? original->place(g, i)
                           : original->place_and_apply(g, i, w);
        auto b = elsewhere ? restored->place(g, i)
                           : restored->place_and_apply(g, i, w_restored);
        CHECK(a.rejection == b.rejection);
        CHECK(a.iteration == b.iteration);
        CHECK(a.closed_iteration == b.closed_iteration);
        CHECK(a.offset_form.coefficients.momentum_decay
              == b.offset_form.coefficients.momentum_decay);
        CHECK(a.offset_form.momentum_offset == b.offset_form.momentum_offset);
        CHECK((w.array() == w_restored.array()).all());
      }
      CHECK((original->momentum_storage().array()
             == restored->momentum_storage().array())
              .all());
      CHECK(same_vectors(original->state(), restored->state()));
    }
  }
}

TEST_CASE("a state that does not fit the rule is refused and changes "
          "nothing") {
  auto rule = make(algorithm::ormo, 4, 2);
  const auto before = rule->state();
  auto broken = [&](auto edit) {
    auto state = before;
    edit(state);
    return state;
  };
  const std::vector<std::pair<const char*, rule_state>> bad{
    {"negative iteration", broken([](rule_state& s) { s.iteration = -1; })},
    {"negative arrivals", broken([](rule_state& s) { s.arrivals = -2; })},
    {"K of 0", broken([](rule_state& s) { s.iteration_size = 0; })},
    {"NaN decay", broken([](rule_state& s) {
       s.deferred_decay = std::numeric_limits<float>::quiet_NaN();
     })},
    {"momentum of another size",
     broken([](rule_state& s) { s.momentum = Eigen::VectorXf::Zero(5); })},
    {"infinite momentum", broken([](rule_state& s) {
       s.momentum[1] = std::numeric_limits<float>::infinity();
     })},
  };
  for (const auto& [name, state] : bad) {
    // C++17 lambdas (CAPTURE's) cannot capture a structured binding.
    const char* what = name;
    CAPTURE(what);
    auto refused = rule->restore(state);
    CHECK_FALSE(refused);
    CHECK(refused.code() == status_code::corrupt);
    CHECK(refused.message().rfind("rule state: ", 0) == 0);
    CHECK(rule->iteration() == before.iteration);
    CHECK(rule->iteration_size() == before.iteration_size);
  }
}
