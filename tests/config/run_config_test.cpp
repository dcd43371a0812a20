#include "ormo/config/run_config.hpp"

#include <string>

#include <doctest/doctest.h>

using namespace ormo::config;

TEST_CASE("data sources and speed profiles have their configuration names") {
  CHECK(std::string(to_string(data_source::synthetic)) == "synthetic");
  CHECK(std::string(to_string(data_source::fashion_mnist)) == "fashion-mnist");
  CHECK(std::string(to_string(speed_profile::uniform)) == "uniform");
  CHECK(std::string(to_string(speed_profile::factors)) == "factors");
  CHECK(std::string(to_string(speed_profile::slow_fraction))
        == "slow_fraction");
  CHECK(std::string(to_string(speed_profile::lognormal)) == "lognormal");
}
