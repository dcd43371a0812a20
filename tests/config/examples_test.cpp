// The built-in default run and every file in examples/ (tests run in
// tests/, so the examples are in ../examples).
#include "ormo/config/parse_run_config.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "config/config_testing.hpp"

using namespace ormo;
using namespace ormo::config;
using namespace ormo::config::testing;

namespace {

const std::filesystem::path examples_dir = "../examples";

run_config load_example(const std::string& name) {
  auto path = (examples_dir / name).string();
  auto loaded = load_run_config(path);
  INFO(path << ": " << loaded.error().message());
  REQUIRE(loaded.has_value());
  return std::move(loaded).value();
}

} // namespace

TEST_CASE("the default topology parses to a small fast run") {
  auto parsed = default_run_config();
  INFO(parsed.error().message());
  REQUIRE(parsed.has_value());
  const auto& c = *parsed;
  CHECK(c.source == "<built-in>");
  CHECK(c.data.source == data_source::synthetic);
  CHECK(c.model.kind == model::model_kind::mlp);
  CHECK_FALSE(c.model.hidden.empty());
  CHECK(c.workers.count == 4);
  CHECK(c.algorithm.settings.name == optim::algorithm::ormo);
  CHECK(c.run.stop.epochs > 0);
  CHECK(c.run.stop.epochs <= 20);
  CHECK(c.data.train_samples <= 100000);
}

TEST_CASE("the default topology takes overrides") {
  auto parsed
    = default_run_config({{"algorithm.name", "asgd"}, {"workers.count", "2"}});
  REQUIRE(parsed.has_value());
  CHECK(parsed->algorithm.settings.name == optim::algorithm::asgd);
  CHECK(parsed->workers.count == 2);
  auto bad = default_run_config({{"workers.count", "0"}});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message() == "--set: workers.count: 0 is not in [1, 4096]");
}

TEST_CASE("examples default.toml is the built-in default run") {
  auto builtin = default_run_config();
  REQUIRE(builtin.has_value());
  check_same(load_example("default.toml"), *builtin);
}

TEST_CASE("every example parses and round-trips through to_toml") {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(examples_dir))
    if (entry.path().extension() == ".toml")
      names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  for (auto expected :
       {"default.toml", "fashion-mnist-mlp.toml", "heterogeneous.toml",
        "per-worker-factors.toml", "lognormal-speeds.toml", "asgd-da.toml",
        "synchronous-reference.toml", "sharded.toml", "deterministic.toml",
        "stop-on-accuracy.toml", "three-nodes.toml", "faults.toml",
        "shifted-momentum.toml", "smega2.toml"}) {
    INFO(expected);
    CHECK(std::find(names.begin(), names.end(), expected) != names.end());
  }
  for (const auto& name : names) {
    INFO(name);
    auto config = load_example(name);
    CHECK(config.source == (examples_dir / name).string());
    check_same(config, parse_ok(to_toml(config)));
  }
}

TEST_CASE("each example sets what its name promises") {
  auto fashion = load_example("fashion-mnist-mlp.toml");
  CHECK(fashion.data.source == data_source::fashion_mnist);
  CHECK(fashion.model.kind == model::model_kind::mlp);
  CHECK(fashion.model.hidden == std::vector<int>{128});
  CHECK(fashion.model.batch_size == 32);
  CHECK(fashion.workers.count == 16);
  CHECK(fashion.algorithm.settings.name == optim::algorithm::ormo);

  auto heterogeneous = load_example("heterogeneous.toml");
  CHECK(heterogeneous.workers.speed.profile == speed_profile::slow_fraction);
  CHECK(heterogeneous.workers.speed.fraction == 0.25);
  CHECK(heterogeneous.workers.speed.factor == 4);

  auto factors = load_example("per-worker-factors.toml");
  CHECK(factors.workers.speed.profile == speed_profile::factors);
  CHECK(factors.workers.speed.factors.size()
        == static_cast<std::size_t>(factors.workers.count));

  CHECK(load_example("lognormal-speeds.toml").workers.speed.profile
        == speed_profile::lognormal);
  CHECK(load_example("asgd-da.toml").algorithm.settings.name
        == optim::algorithm::asgd_da);
  CHECK(load_example("synchronous-reference.toml").algorithm.settings.name
        == optim::algorithm::ssgdm);
  CHECK(load_example("sharded.toml").server.shards == 2);
  CHECK(load_example("deterministic.toml").run.deterministic);
  CHECK(load_example("stop-on-accuracy.toml").run.stop.accuracy > 0);
  for (auto [name, rule] :
       {std::pair{"shifted-momentum.toml", optim::algorithm::shifted_momentum},
        std::pair{"smega2.toml", optim::algorithm::smega2}}) {
    auto example = load_example(name);
    CHECK(example.algorithm.settings.name == rule);
    CHECK(example.run.deterministic);
    CHECK(example.algorithm.settings.momentum > 0);
  }

  auto faults = load_example("faults.toml");
  CHECK(faults.run.deterministic);
  std::vector<fault_kind> kinds;
  for (const auto& fault : faults.faults)
    kinds.push_back(fault.kind);
  CHECK(kinds
        == std::vector<fault_kind>{
          fault_kind::kill_worker, fault_kind::fail_gradient,
          fault_kind::slow_worker, fault_kind::freeze_worker, fault_kind::drop,
          fault_kind::delay, fault_kind::duplicate, fault_kind::reorder,
          fault_kind::partition, fault_kind::kill_shard});

  auto three = load_example("three-nodes.toml");
  CHECK(three.data.source == data_source::fashion_mnist);
  CHECK(three.model.hidden == std::vector<int>{128});
  CHECK(three.algorithm.settings.name == optim::algorithm::ormo);
  CHECK(three.run.stop.epochs == 2);
  CHECK(three.workers.count == 2);
  REQUIRE(three.nodes.size() == 3);
  CHECK(three.nodes[0].name == "server");
  CHECK(three.nodes[0].port == 7301);
  CHECK(three.nodes[0].shards == std::vector<std::int64_t>{0});
  CHECK(three.nodes[0].supervisor);
  CHECK(three.nodes[0].workers == 0);
  for (std::size_t i : {1, 2}) {
    INFO(three.nodes[i].name);
    CHECK(three.nodes[i].port == 0);
    CHECK(three.nodes[i].shards.empty());
    CHECK_FALSE(three.nodes[i].supervisor);
    CHECK(three.nodes[i].workers == 1);
  }
  CHECK(three.nodes[1].name == "worker-a");
  CHECK(three.nodes[2].name == "worker-b");
  // The [network] table writes out the defaults.
  run_config defaults;
  CHECK(three.network.heartbeat_interval
        == defaults.network.heartbeat_interval);
  CHECK(three.network.connection_timeout
        == defaults.network.connection_timeout);
  CHECK(three.network.connect_timeout == defaults.network.connect_timeout);
}
