// `ormo run FILE` on a topology with [[nodes]]: one child process per node
// with its lines prefixed, Ctrl-C ending them all, and --deterministic
// running the whole topology in one process.
#include <chrono>
#include <cstdlib>
#include <csignal>
#include <memory>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "nodes/nodes_testing.hpp"

using namespace ormo::test;
using nlohmann::json;

namespace {

/// Starts `ormo run TOPOLOGY` and waits until its server node listens; on
/// "cannot listen" (the free port was taken meanwhile) tries once more on
/// another port.
std::unique_ptr<child_process> start_launcher(node_fixture& nodes,
                                              clock::time_point deadline) {
  for (int attempt = 0;; ++attempt) {
    auto launcher = std::make_unique<child_process>(std::vector<std::string>{
      ormo_binary, "run", nodes.topology_path().string()});
    auto listening
      = "[server] ormo: node server: listening on " + nodes.endpoint();
    bool ready = launcher->wait_until(
      [&](const std::string& out, const std::string&) {
        return out.find(listening) != std::string::npos
               || out.find("cannot listen") != std::string::npos;
      },
      deadline);
    if (launcher->out().find(listening) != std::string::npos)
      return launcher;
    REQUIRE_MESSAGE(ready, "the server node did not listen in time:\n"
                             << launcher->out() << launcher->err());
    REQUIRE_MESSAGE(attempt == 0, "cannot listen twice:\n" << launcher->out());
    launcher->finish(deadline);
    nodes.choose_port(free_port());
  }
}

json summary_of(const node_fixture& nodes) {
  return json::parse(read_text(nodes.out_dir() / "summary.json"));
}

/// The gradients `summary` counts as decided: applied, partial and
/// rejected for any reason.
long long decided_of(const json& summary) {
  long long decided = summary["gradients_applied"].get<long long>()
                      + summary["gradients_partial"].get<long long>();
  for (const auto& [reason, count] : summary["gradients_rejected"].items())
    decided += count.get<long long>();
  return decided;
}

} // namespace

TEST_CASE("ormo run: a topology with nodes runs one process per node") {
  auto deadline = clock::now() + seconds{30};
  topology shape;
  shape.run = "stop_seconds = 2";
  node_fixture nodes("launcher_run", shape);
  auto launcher = start_launcher(nodes, deadline);
  auto result = launcher->finish(deadline);
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  CHECK(result.out.find("ormo: 3 nodes on this machine: server wa wb")
        != std::string::npos);
  for (const char* line : {"[wa] ormo: node wa: enlisted 1 worker slot(s)",
                           "[wb] ormo: node wb: enlisted 1 worker slot(s)",
                           "[wa] ormo: node wa: the run is over",
                           "[wb] ormo: node wb: the run is over",
                           "[server] epoch ", "[server] ormo: done (seconds)"})
    CHECK_MESSAGE(result.out.find(line) != std::string::npos,
                  line << " missing in:\n"
                       << result.out);
  auto summary = summary_of(nodes);
  CHECK(summary["stop_reason"] == "seconds");
  CHECK(summary["deterministic"] == false);
  CHECK(summary["membership"]["joined"] == 2);
  CHECK(summary["failure"].is_null());
  CHECK(processes_mentioning(nodes.topology_path().string()).empty());
}

TEST_CASE("ormo run: declared node faults kill one node and stop another "
          "for a while") {
  auto deadline = clock::now() + seconds{30};
  topology shape;
  shape.run = "stop_seconds = 4";
  // wb is killed; wa is stopped for less than the connection timeout (1 s),
  // so it stays a member.
  shape.faults = "[[faults]]\nkind = \"kill_node\"\ntarget = \"node wb\"\n"
                 "at_seconds = 1.5\n\n[[faults]]\nkind = \"stop_node\"\n"
                 "target = \"node wa\"\nat_seconds = 2.5\nduration_s = 0.4\n";
  node_fixture nodes("launcher_faults", shape);
  auto launcher = start_launcher(nodes, deadline);
  auto result = launcher->finish(deadline);
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  for (const char* line : {"ormo: fault: node wb: SIGKILL (kill_node)",
                           "ormo: node wb exited with status 137",
                           "ormo: fault: node wa: SIGSTOP (stop_node)",
                           "ormo: fault: node wa: SIGCONT",
                           "[wa] ormo: node wa: the run is over"})
    CHECK_MESSAGE(result.out.find(line) != std::string::npos,
                  line << " missing in:\n"
                       << result.out);
  auto summary = summary_of(nodes);
  CHECK(summary["stop_reason"] == "seconds");
  CHECK(summary["failure"].is_null());
  CHECK(summary["faults_injected"]
        == json::parse(R"({"kill_node": 1, "stop_node": 1})"));
  CHECK(summary["membership"]["nodes_lost"] == 1);
  CHECK(summary["membership"]["lost"] == 1);
  CHECK(summary["gradients_received"]
        == summary["gradients_applied"].get<long long>()
             + summary["gradients_partial"].get<long long>());
  CHECK(summary["final_test_accuracy"].get<double>() > 0.3);
  CHECK(processes_mentioning(nodes.topology_path().string()).empty());
}

TEST_CASE("ormo run: worker and link faults strike inside the nodes") {
  auto deadline = clock::now() + seconds{30};
  topology shape;
  shape.run = "stop_seconds = 5";
  shape.workers_a = 2; // slots 0 and 1 on wa, slot 2 on wb
  shape.workers = "retry_after_s = 0.2";
  // Fired by the supervisor's node, struck on wb (a worker) and on wa
  // (the link of slot 0).
  shape.faults = "[[faults]]\nkind = \"kill_worker\"\ntarget = \"worker 2\"\n"
                 "at_gradient = 300\n\n[[faults]]\nkind = \"drop\"\n"
                 "target = \"worker 0 <-> shard 0\"\nat_seconds = 0.5\n"
                 "duration_s = 1\nprobability = 0.3\n";
  node_fixture nodes("launcher_inner_faults", shape);
  auto launcher = start_launcher(nodes, deadline);
  auto result = launcher->finish(deadline);
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  auto summary = summary_of(nodes);
  INFO(summary.dump(2));
  CHECK(summary["failure"].is_null());
  CHECK(summary["faults_injected"]
        == json::parse(R"({"drop": 1, "kill_worker": 1})"));
  const auto& membership = summary["membership"];
  CHECK(membership["crashed"] == 1);
  CHECK(membership["restarted"] == 1);
  CHECK(summary["restarts"] == 1);
  const auto last_failure = summary["last_failure"].get<std::string>();
  CHECK(last_failure.find("node wb, worker ") != std::string::npos);
  CHECK(last_failure.find("(slot 2)") != std::string::npos);
  CHECK(last_failure.find("killed by a declared fault") != std::string::npos);
  // Dropped pushes and answers come again, and are decided once.
  CHECK(summary["retries"].get<long long>() > 0);
  CHECK(summary["gradients_received"] == decided_of(summary));
  CHECK(summary["final_test_accuracy"].get<double>() > 0.3);
  CHECK(processes_mentioning(nodes.topology_path().string()).empty());
}

TEST_CASE("ormo run: a killed shard restarts on its node from its "
          "checkpoint and the workers of the other nodes go on with it") {
  auto deadline = clock::now() + seconds{40};
  topology shape;
  shape.run = "stop_seconds = 5";
  shape.workers = "retry_after_s = 0.2";
  // Shard 0 on the supervisor's node, shard 1 on "sa"; an MLP larger than
  // a 4 KiB chunk, so the worker nodes reach both through proxies.
  shape.shard_node_port = free_port();
  shape.network_extra = "chunk_kib = 4\n";
  shape.extra = "[server]\nshards = 2\n\n[model]\nkind = \"mlp\"\n"
                "hidden = [64]\n\n[checkpoints]\nevery_iterations = 100\n";
  shape.faults = "[[faults]]\nkind = \"kill_shard\"\ntarget = \"shard 1\"\n"
                 "at_seconds = 1.5\n\n[[faults]]\nkind = \"kill_shard\"\n"
                 "target = \"shard 0\"\nat_seconds = 3\n";
  node_fixture nodes("launcher_kill_shard", shape);
  auto launcher = start_launcher(nodes, deadline);
  auto result = launcher->finish(deadline);
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  auto summary = summary_of(nodes);
  INFO(summary.dump(2));
  CHECK(summary["failure"].is_null());
  CHECK(summary["stop_reason"] == "seconds");
  CHECK(summary["faults_injected"] == json::parse(R"({"kill_shard": 2})"));
  CHECK(summary["shard_restarts"] == 2);
  CHECK(summary["gradients_rolled_back"].get<long long>() > 0);
  // No worker failed: each waited for its shard's new route and resent.
  CHECK(summary["membership"]["crashed"] == 0);
  CHECK(summary["membership"]["joined"] == 2);
  CHECK(summary["retries"].get<long long>() > 0);
  // Two shards: a gradient one shard had decided and the other not yet at
  // the stop was in flight (at most one per worker, one push in flight each).
  CHECK(std::llabs(summary["gradients_received"].get<long long>()
                   - decided_of(summary))
        <= 2);
  CHECK(summary["final_test_accuracy"].get<double>() > 0.3);
  CHECK(processes_mentioning(nodes.topology_path().string()).empty());
}

TEST_CASE("ormo run: Ctrl-C ends every node of a topology with exit 130") {
  auto deadline = clock::now() + seconds{30};
  topology shape;
  shape.run = "stop_seconds = 60";
  node_fixture nodes("launcher_interrupted", shape);
  auto launcher = start_launcher(nodes, deadline);
  for (const char* line :
       {"[wa] ormo: node wa: enlisted", "[wb] ormo: node wb: enlisted"})
    REQUIRE_MESSAGE(launcher->wait_for_output(line, deadline),
                    line << " missing in:\n"
                         << launcher->out());
  auto from = launcher->out().size();
  REQUIRE(launcher->wait_for_output_after(from, "[server] epoch ", deadline));
  auto children = processes_mentioning(nodes.topology_path().string());
  CHECK(children.size() == 4); // the launcher and its three nodes
  launcher->send_signal(SIGINT);
  auto result = launcher->finish(deadline);
  REQUIRE_FALSE(result.timed_out);
  CHECK_MESSAGE(result.exit_status == 130, result.out << result.err);
  auto summary = summary_of(nodes);
  CHECK(summary["stop_reason"] == "interrupted");
  CHECK(summary["epochs"].get<double>() > 0);
  CHECK(processes_mentioning(nodes.topology_path().string()).empty());
}

TEST_CASE("ormo run --deterministic runs a topology with nodes in one "
          "process") {
  topology shape;
  shape.run = "stop_iterations = 300";
  node_fixture nodes("launcher_deterministic", shape);
  auto result = run_process(
    {ormo_binary, "run", nodes.topology_path().string(), "--deterministic"},
    seconds{30});
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  CHECK(result.out.find("[server]") == std::string::npos);
  CHECK(result.out.find("ormo: done (iterations): 300 iterations")
        != std::string::npos);
  auto summary = summary_of(nodes);
  CHECK(summary["deterministic"] == true);
  CHECK(summary["workers"] == 2);
  CHECK(summary["iterations"] == 300);
  CHECK(summary["membership"]["joined"] == 2);
}
