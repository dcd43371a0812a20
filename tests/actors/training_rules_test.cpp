// run_training with the rules that keep vectors of their own
// (shifted-momentum, smega2), from their example files in deterministic
// mode: each learns, and a run resumed from a checkpoint ends bit-exact as
// the run that never stopped (the checkpoints carry the rules' vectors).
#include "ormo/actors/training.hpp"

#include <filesystem>
#include <string>

#include "actors/actor_testing.hpp"
#include "actors/checkpoint_testing.hpp"
#include "helpers.hpp"
#include "ormo/actors/checkpoint_file.hpp"
#include "ormo/actors/checkpoint_store.hpp"
#include "ormo/actors/classification_problem.hpp"
#include "ormo/actors/run_checkpoint.hpp"
#include "ormo/actors/shard_checkpoint.hpp"
#include "ormo/config/parse_run_config.hpp"

using namespace ormo;
using namespace ormo::actors;
using namespace ormo::actors::testing;

namespace {

const char* const rule_examples[] = {"shifted-momentum", "smega2"};

/// examples/NAME.toml (tests run in tests/), with `overrides`.
config::run_config
example(const std::string& name,
        const std::vector<config::setting_override>& overrides = {}) {
  auto path = "../examples/" + name + ".toml";
  auto loaded = config::load_run_config(path, overrides);
  REQUIRE_MESSAGE(loaded, loaded.error().message());
  return std::move(loaded).value();
}

config::setting_override set(const std::string& text) {
  auto parsed = config::parse_override(text);
  REQUIRE_MESSAGE(parsed, parsed.error().message());
  return std::move(parsed).value();
}

/// One run in a fresh deterministic actor system (`resume`: from the newest
/// checkpoint in the run's checkpoint directory).
run_report run_once(const config::run_config& run, bool resume = false) {
  auto problem = make_classification_problem(run);
  REQUIRE(problem);
  deterministic_system env;
  auto report = run_training(env.sys(), run, problem.value(), {}, resume);
  CHECK(env.running() == 0);
  return report;
}

} // namespace

TEST_CASE("training: shifted-momentum and smega2 run from their example "
          "files and learn") {
  for (const std::string name : rule_examples) {
    CAPTURE(name);
    auto run = example(name);
    CHECK(std::string(optim::to_string(run.algorithm.settings.name)) == name);
    const auto report = run_once(run);
    REQUIRE_MESSAGE(report.failure.empty(), report.failure);
    CHECK(report.algorithm == name);
    CHECK(report.stop_reason == "epochs");
    CHECK(report.gradients_rejected.empty());
    CHECK(report.gradients_received == report.gradients_applied);
    REQUIRE(report.rows.size() >= 3);
    const auto& first = report.rows.front();
    const auto& last = report.rows.back();
    MESSAGE(name << ": test accuracy " << first.test_accuracy << " -> "
                 << last.test_accuracy << ", train loss " << last.train_loss);
    // 10 classes: chance is 0.1; the initial parameters are there.
    CHECK(first.test_accuracy < 0.2);
    CHECK(last.test_accuracy > 0.6);
    CHECK(last.test_accuracy > report.rows[1].test_accuracy);
    // The same file, the same run.
    const auto again = run_once(run);
    CHECK(again.final_parameters == report.final_parameters);
  }
}

TEST_CASE("training: a deterministic shifted-momentum or smega2 run resumed "
          "from a checkpoint ends bit-exact as the run that never stopped") {
  for (const std::string name : rule_examples)
    for (int shards : {1, 2}) {
      CAPTURE(name);
      CAPTURE(shards);
      ormo::test::scratch_directory dir;
      // An epoch: 313 gradients, 313 updates of shifted-momentum, 39
      // cycles of smega2 (C = 8); cut a few times, the resume in mid-run.
      const int every = name == "smega2" ? 5 : 40;
      auto run = example(
        name, {set("run.stop_epochs=1"),
               set("checkpoints.every_iterations=" + std::to_string(every)),
               set("checkpoints.keep=100"),
               set("server.shards=" + std::to_string(shards)),
               set("checkpoints.dir=\"" + dir.file("saved") + "\"")});
      const auto whole = run_once(run);
      REQUIRE_MESSAGE(whole.failure.empty(), whole.failure);
      keep_only_cut(dir.path() / "saved", 1);
      auto resumed = run_once(run, true);
      REQUIRE_MESSAGE(resumed.failure.empty(), resumed.failure);
      REQUIRE(resumed.resumed_from.size() == 1 + shards);
      CHECK(resumed.final_parameters == whole.final_parameters);
      CHECK(resumed.iterations == whole.iterations);
      CHECK(resumed.gradients_applied == whole.gradients_applied);
      CHECK(resumed.final_test_accuracy == whole.final_test_accuracy);
      CHECK(resumed.time_seconds == whole.time_seconds);
    }
}
