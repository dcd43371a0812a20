#include "ormo/optim/make_update_rule.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "helpers.hpp"

using namespace ormo;
using namespace ormo::optim;

TEST_CASE("algorithm names round-trip") {
  for (auto name : {"ssgdm", "asgd", "asgd-da", "naive-asgdm", "ormo",
                    "ormo-da", "shifted-momentum", "smega2"}) {
    auto parsed = parse_algorithm(name);
    REQUIRE(parsed.has_value());
    CHECK(std::string(to_string(*parsed)) == name);
    algorithm_settings settings;
    settings.name = *parsed;
    auto rule = make_update_rule(settings, 3, 2);
    REQUIRE(rule.has_value());
    CHECK(std::string((*rule)->name()) == name);
  }
  CHECK_FALSE(parse_algorithm("sgd").has_value());
  CHECK(parse_apply_mode("on_close") == apply_mode::on_close);
  CHECK(parse_apply_mode("on_arrival") == apply_mode::on_arrival);
  CHECK_FALSE(parse_apply_mode("later").has_value());
}

TEST_CASE("make_update_rule names the bad value") {
  algorithm_settings settings;
  auto expect_error = [&](std::size_t dimension, int iteration_size,
                          const std::string& fragment) {
    auto rule = make_update_rule(settings, dimension, iteration_size);
    REQUIRE_FALSE(rule.has_value());
    CHECK(rule.error().code() == status_code::invalid_argument);
    CHECK(rule.error().message().find(fragment) != std::string::npos);
  };
  expect_error(0, 1, "no parameters");
  expect_error(3, 0, "iteration size 0");
  settings.learning_rate = -1;
  expect_error(3, 1, "learning rate -1.000000 must be positive");
  settings.learning_rate = 0.1;
  settings.momentum = 1.0;
  expect_error(3, 1, "momentum 1.000000 must be in [0, 1)");
  settings.momentum = 0.9;
  settings.delay_threshold = 0;
  expect_error(3, 1, "delay threshold 0.000000 must be positive");
}

TEST_CASE("make_update_rule checks the published ranges at their ends") {
  // The configuration schema checks the same real_range constants.
  CHECK(learning_rate_range.lo == 0);
  CHECK(learning_rate_range.lo_open);
  CHECK(momentum_range.lo == 0);
  CHECK_FALSE(momentum_range.lo_open);
  CHECK(momentum_range.hi == 1);
  CHECK(momentum_range.hi_open);
  CHECK(delay_threshold_range.lo_open);
  auto accepts = [](const algorithm_settings& settings) {
    return make_update_rule(settings, 3, 1).has_value();
  };
  const double inf = std::numeric_limits<double>::infinity();
  algorithm_settings settings;
  settings.momentum = 0;
  CHECK(accepts(settings));
  settings.momentum = std::nextafter(1.0, 0.0);
  CHECK(accepts(settings));
  settings.momentum = -0.0001;
  CHECK_FALSE(accepts(settings));
  settings.momentum = std::nan("");
  CHECK_FALSE(accepts(settings));
  settings.momentum = 0.9;
  settings.learning_rate = inf;
  CHECK_FALSE(accepts(settings));
  settings.learning_rate = std::numeric_limits<double>::denorm_min();
  CHECK(accepts(settings));
  settings.learning_rate = 0.1;
  settings.delay_threshold = inf;
  CHECK_FALSE(accepts(settings));
  settings.delay_threshold = 1e300;
  CHECK(accepts(settings));
}
