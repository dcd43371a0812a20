// `ormo run` end to end as a process: its outputs (metrics.csv,
// summary.json, config.toml), reproducibility in deterministic mode, and
// (slow, real time) a run of the built-in topology and Ctrl-C.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tools/process.hpp"
#include "tools/tools_testing.hpp"

using namespace ormo::test;
using nlohmann::json;

namespace {

/// metrics.csv without its wall_s column (the one real-time column).
std::string without_wall_seconds(const std::string& csv) {
  std::string result;
  for (const auto& line : lines_of(csv)) {
    auto fields = fields_of(line);
    REQUIRE(fields.size() == 10);
    fields.erase(fields.begin() + 1);
    for (std::size_t k = 0; k < fields.size(); ++k)
      result += (k > 0 ? "," : "") + fields[k];
    result += '\n';
  }
  return result;
}

/// Checks a finished run's outputs in `dir` against each other: the last
/// metrics row is the summary's end, one row per evaluation.
json check_outputs(const std::filesystem::path& dir,
                   int evaluations_per_epoch) {
  auto summary = json::parse(read_text(dir / "summary.json"));
  auto rows = lines_of(read_text(dir / "metrics.csv"));
  REQUIRE(rows.size() >= 3);
  CHECK(rows[0]
        == "time_s,wall_s,epoch,iteration,gradients,train_loss,test_loss,"
           "test_accuracy,rejected,samples_per_second");
  CHECK(fields_of(rows[1])[3] == "0"); // the evaluation before training
  auto last = fields_of(rows.back());
  CHECK(std::stoll(last[3]) == summary["iterations"].get<long long>());
  CHECK(std::stoull(last[4])
        == summary["gradients_applied"].get<unsigned long long>());
  auto epochs = summary["epochs"].get<double>();
  CHECK(rows.size() - 1
        >= 1 + static_cast<std::size_t>(epochs) * evaluations_per_epoch);
  CHECK(summary["gradients_applied"].get<unsigned long long>()
        <= summary["gradients_received"].get<unsigned long long>());
  CHECK(summary["failure"].is_null());
  CHECK(read_text(dir / "config.toml").find("[algorithm]")
        != std::string::npos);
  return summary;
}

} // namespace

TEST_CASE("ormo run: a deterministic run gives the same outputs twice") {
  auto dir = fresh_output_dir("deterministic_twice");
  std::vector<json> summaries;
  for (const char* name : {"first", "second"}) {
    CAPTURE(name);
    auto result
      = run_process({ormo_binary, "run", example("deterministic.toml"), "--out",
                     (dir / name).string()});
    CHECK(result.exit_status == 0);
    CHECK(result.err.empty());
    CHECK(result.out.find("ormo: done (iterations): 2000 iterations")
          != std::string::npos);
    summaries.push_back(check_outputs(dir / name, 4));
  }
  CHECK(without_wall_seconds(read_text(dir / "first" / "metrics.csv"))
        == without_wall_seconds(read_text(dir / "second" / "metrics.csv")));
  for (auto& summary : summaries)
    summary.erase("wall_seconds");
  CHECK(summaries[0] == summaries[1]);
  const auto& summary = summaries[0];
  CHECK(summary["algorithm"] == "ormo");
  CHECK(summary["apply"] == "on_close");
  CHECK(summary["workers"] == 4);
  CHECK(summary["iterations"] == 2000);
  CHECK(summary["gradients_applied"] == 8000);
  CHECK(summary["deterministic"] == true);
  CHECK(summary["seed"] == 1234);
  CHECK(summary["stop_reason"] == "iterations");
  CHECK(summary["throughput_vs_compute_bound"].is_null());
  CHECK(summary["membership"]["joined"] == 4);
  CHECK(summary["final_test_accuracy"].get<double>() > 0.3); // chance: 0.1
}

TEST_CASE("ormo run: a deterministic run with declared faults gives the same "
          "bytes twice") {
  auto dir = fresh_output_dir("faults_twice");
  std::vector<std::string> csvs;
  std::vector<std::string> summaries;
  for (const char* name : {"first", "second"}) {
    CAPTURE(name);
    auto result = run_process({ormo_binary, "run", example("faults.toml"),
                               "--out", (dir / name).string()});
    CHECK(result.exit_status == 0);
    CHECK(result.err.empty());
    check_outputs(dir / name, 4);
    csvs.push_back(without_wall_seconds(read_text(dir / name / "metrics.csv")));
    // summary.json but its wall_seconds line.
    std::string summary;
    for (const auto& line : lines_of(read_text(dir / name / "summary.json")))
      if (line.find("\"wall_seconds\"") == std::string::npos)
        summary += line + '\n';
    summaries.push_back(summary);
  }
  CHECK(csvs[0] == csvs[1]);
  CHECK(summaries[0] == summaries[1]);
  auto summary = json::parse(read_text(dir / "first" / "summary.json"));
  for (const char* kind :
       {"kill_worker", "fail_gradient", "slow_worker", "freeze_worker", "drop",
        "delay", "duplicate", "reorder", "partition", "kill_shard"}) {
    INFO(kind);
    CHECK(summary["faults_injected"][kind] == 1);
  }
  CHECK(summary["shard_restarts"] == 1);
  CHECK(summary["gradients_rolled_back"].get<int>() > 0);
  CHECK(summary["restarts"].get<int>() >= 2); // killed, partitioned
  CHECK(summary["restarts"] == summary["membership"]["restarted"]);
  CHECK(summary["retries"].get<int>() > 0);
  CHECK(summary["gradients_duplicate"].get<int>() > 0);
  CHECK(summary["gradients_lost"].get<int>() > 0);
  // Nothing refused, not even a slice lost for long (pipelined workers
  // stay within the orderers' ledgers), but by the restarted shard: the
  // slices it had not answered come back computed at iterations its
  // checkpoint had not reached (at most two per worker), while the other
  // shard applied theirs.
  CHECK(summary["gradients_received"].get<int>()
        == summary["gradients_applied"].get<int>()
             + summary["gradients_partial"].get<int>());
  CHECK(summary["gradients_partial"].get<int>() <= 4 * 2);
  CHECK(summary["gradients_rejected"].empty());
  CHECK(summary["stop_reason"] == "iterations");
  CHECK(summary["final_test_accuracy"].get<double>() > 0.3); // chance: 0.1
}

TEST_CASE("ormo run: --set and --deterministic reach the resolved config") {
  auto dir = fresh_output_dir("overrides");
  auto result
    = run_process({ormo_binary, "run", example("deterministic.toml"), "--out",
                   dir.string(), "--set", "run.stop_iterations=40", "--set",
                   "workers.count=2", "--deterministic"});
  CHECK(result.exit_status == 0);
  auto summary = check_outputs(dir, 4);
  CHECK(summary["iterations"] == 40);
  CHECK(summary["workers"] == 2);
  CHECK(summary["deterministic"] == true);
}

TEST_SUITE("slow") {
  TEST_CASE("ormo run: the built-in topology in real time") {
    auto dir = fresh_output_dir("builtin_real_time");
    auto result = run_process({ormo_binary, "run", "--out", dir.string()},
                              std::chrono::seconds{300});
    REQUIRE_MESSAGE(result.exit_status == 0, result.err);
    CHECK(result.out.find("ormo: done (epochs)") != std::string::npos);
    CHECK(result.out.find("of the compute bound") != std::string::npos);
    auto summary = check_outputs(dir, 4);
    CHECK(summary["stop_reason"] == "epochs");
    CHECK(summary["deterministic"] == false);
    CHECK(summary["epochs"].get<double>() >= 20);
    CHECK(summary["compute_bound_samples_per_second"].get<double>() > 0);
    auto ratio = summary["throughput_vs_compute_bound"].get<double>();
    CHECK(ratio > 0);
    CHECK(ratio < 2);
  }

  TEST_CASE("ormo run: Ctrl-C ends a run with its outputs and exit 130") {
    using clock = child_process::clock;
    auto dir = fresh_output_dir("interrupted");
    child_process child({ormo_binary, "run", "--out", dir.string(), "--set",
                         "run.stop_epochs=100000"});
    // A progress line means training has started (and Ctrl-C is handled).
    REQUIRE(child.wait_for_output("\nepoch ",
                                  clock::now() + std::chrono::seconds{120}));
    child.send_signal(SIGINT);
    auto result = child.finish(clock::now() + std::chrono::seconds{120});
    CHECK(result.exit_status == 130);
    CHECK(result.err.find("ormo: interrupted at epoch") != std::string::npos);
    auto summary = check_outputs(dir, 4);
    CHECK(summary["stop_reason"] == "interrupted");
    CHECK(summary["epochs"].get<double>() < 100000);
  }
}

TEST_CASE("ormo run --resume: a deterministic run stopped after a "
          "checkpoint goes on to the same outputs as the run that did not "
          "stop") {
  auto dir = fresh_output_dir("resume");
  auto with_checkpoints = [&](const std::string& out, const char* stop) {
    return run_process({ormo_binary, "run", example("deterministic.toml"),
                        "--out", (dir / out).string(), "--set",
                        "checkpoints.every_iterations=500", "--set",
                        std::string("run.stop_iterations=") + stop});
  };
  auto whole = with_checkpoints("whole", "2000");
  REQUIRE(whole.exit_status == 0);
  auto stopped = with_checkpoints("stopped", "1200");
  REQUIRE(stopped.exit_status == 0);
  CHECK(
    std::filesystem::exists(dir / "stopped" / "checkpoints" / "config.toml"));

  auto resumed
    = run_process({ormo_binary, "run", "--resume", (dir / "stopped").string(),
                   "--set", "run.stop_iterations=2000"});
  CHECK_MESSAGE(resumed.exit_status == 0, resumed.err);
  CHECK(resumed.out.find("ormo: resumed from " + (dir / "stopped").string()
                         + "/checkpoints/run-iteration-")
        != std::string::npos);
  CHECK(without_wall_seconds(read_text(dir / "whole" / "metrics.csv"))
        == without_wall_seconds(read_text(dir / "stopped" / "metrics.csv")));
  auto a = check_outputs(dir / "whole", 4);
  auto b = check_outputs(dir / "stopped", 4);
  for (auto* summary : {&a, &b}) {
    summary->erase("wall_seconds");
    summary->erase("resumed_from");
  }
  CHECK(a == b);

  // A topology its checkpoints cannot fit: refused naming them; the saved
  // topology stays as it was.
  auto saved = dir / "stopped" / "checkpoints" / "config.toml";
  const auto before = read_text(saved);
  auto misfit
    = run_process({ormo_binary, "run", "--resume", (dir / "stopped").string(),
                   "--set", "workers.count=2"});
  CHECK(misfit.exit_status == 1);
  CHECK(misfit.err.find("cannot resume") != std::string::npos);
  CHECK(misfit.err.find("another workers.count?") != std::string::npos);
  CHECK(read_text(saved) == before);

  // No saved topology: a usage error naming where it was looked for.
  auto nothing
    = run_process({ormo_binary, "run", "--resume", (dir / "nowhere").string()});
  CHECK(nothing.exit_status == 2);
  CHECK(
    nothing.err.find((dir / "nowhere" / "checkpoints" / "config.toml").string())
    != std::string::npos);
}
