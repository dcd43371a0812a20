// `ormo node FILE --name NODE` as real processes on 127.0.0.1: a run of a
// server node and two worker nodes, a worker node killed, restarted or
// frozen mid-run, and the failures at start (peer unreachable, port in use,
// unknown node). Every wait has a deadline; every process is killed and
// reaped with its test.
#include <chrono>
#include <csignal>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "nodes/nodes_testing.hpp"

using namespace ormo::test;
using nlohmann::json;

namespace {

json summary_of(const node_fixture& nodes) {
  return json::parse(read_text(nodes.out_dir() / "summary.json"));
}

/// The lines of `text` (stderr of a failed node holds exactly one).
std::size_t line_count(const std::string& text) {
  return lines_of(text).size();
}

/// The run ended by its time rule, without failure, counting `node` lost
/// (after `iteration`, when training went on without it).
void check_lost_and_went_on(const json& summary, const std::string& node,
                            long long iteration) {
  CHECK(summary["stop_reason"] == "seconds");
  CHECK(summary["failure"].is_null());
  CHECK(summary["membership"]["lost"].get<int>() >= 1);
  CHECK(summary["membership"]["nodes_lost"].get<int>() >= 1);
  REQUIRE(summary["last_failure"].is_string());
  CHECK(summary["last_failure"].get<std::string>().find("node " + node)
        != std::string::npos);
  CHECK(summary["iterations"].get<long long>() > iteration);
}

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

/// Waits for the server's progress to show gradients from both workers,
/// then returns the output offset from which later lines count.
std::size_t wait_for_training(child_process& server,
                              clock::time_point deadline) {
  REQUIRE_MESSAGE(server.wait_until(progress_with(2, 20), deadline),
                  "no progress with 2 workers:\n"
                    << server.out() << server.err());
  return server.out().size();
}

/// Waits for a progress line after `from` with one live worker, then for a
/// later one with more iterations; returns the first.
progress_line wait_for_one_worker_training(child_process& server,
                                           std::size_t from,
                                           clock::time_point deadline) {
  REQUIRE_MESSAGE(server.wait_until(progress_with(1, 0, from), deadline),
                  "the supervisor did not lose a worker:\n"
                    << server.out() << server.err());
  auto lost = first_progress_with(server.out(), 1, 0, from);
  REQUIRE_MESSAGE(server.wait_until(
                    progress_with(1, lost.iteration + 10, lost.end), deadline),
                  "no gradients after the loss:\n"
                    << server.out() << server.err());
  return lost;
}

} // namespace

TEST_CASE("ormo node: a server node and two worker nodes reach a target "
          "accuracy") {
  auto deadline = clock::now() + seconds{20};
  topology shape;
  shape.run = "stop_accuracy = 0.85\nstop_seconds = 15";
  // Slow enough (about 2 s on 2 cores) that the target comes after
  // both worker nodes joined: the run starts with the first.
  shape.learning_rate = "0.001";
  node_fixture nodes("target_accuracy", shape);
  child_process *server, *wa, *wb;
  nodes.start_all(server, wa, wb, deadline);
  auto result = server->finish(deadline);
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  CHECK(result.out.find("ormo: done (accuracy)") != std::string::npos);
  for (auto* worker : {wa, wb}) {
    auto ended = worker->finish(deadline);
    CHECK_MESSAGE(ended.exit_status == 0, ended.out << ended.err);
    CHECK(ended.out.find("the run is over") != std::string::npos);
  }
  auto summary = summary_of(nodes);
  CHECK(summary["stop_reason"] == "accuracy");
  CHECK(summary["final_test_accuracy"].get<double>() >= 0.85);
  CHECK(summary["workers"] == 2);
  CHECK(summary["membership"]["joined"] == 2);
  CHECK(summary["membership"]["lost"] == 0);
  CHECK(summary["membership"]["nodes_lost"] == 0);
  CHECK(summary["failure"].is_null());
  CHECK(summary["last_failure"].is_null());
}

TEST_CASE("ormo node: a worker node killed mid-run is lost and training "
          "goes on") {
  auto deadline = clock::now() + seconds{20};
  node_fixture nodes("kill_worker_node");
  child_process *server, *wa, *wb;
  nodes.start_all(server, wa, wb, deadline);
  auto from = wait_for_training(*server, deadline);
  wa->send_signal(SIGKILL);
  CHECK(wa->finish(deadline).exit_status == -1); // killed, reaped
  auto lost = wait_for_one_worker_training(*server, from, deadline);
  auto result = server->finish(deadline);
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  auto other = wb->finish(deadline);
  CHECK_MESSAGE(other.exit_status == 0, other.out << other.err);
  auto summary = summary_of(nodes);
  CHECK(summary["membership"]["joined"] == 2);
  check_lost_and_went_on(summary, "wa", lost.iteration);
}

TEST_SUITE("slow") {
  TEST_CASE("ormo node: a killed worker node started again rejoins") {
    auto deadline = clock::now() + seconds{25};
    topology shape;
    // Long enough that the returning node enlists well before the end.
    shape.run = "stop_seconds = 8";
    node_fixture nodes("restart_worker_node", shape);
    child_process *server, *wa, *wb;
    nodes.start_all(server, wa, wb, deadline);
    auto from = wait_for_training(*server, deadline);
    wa->send_signal(SIGKILL);
    wa->finish(deadline);
    auto lost = wait_for_one_worker_training(*server, from, deadline);
    auto& again = nodes.start("wa");
    REQUIRE_MESSAGE(
      again.wait_for_output("enlisted 1 worker slot(s)", deadline),
      again.out() << again.err());
    REQUIRE_MESSAGE(
      server->wait_until(progress_with(2, lost.iteration + 10, lost.end),
                         deadline),
      "no progress with the returned worker:\n"
        << server->out());
    auto result = server->finish(deadline);
    REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
    for (auto* worker : {wb, &again}) {
      auto ended = worker->finish(deadline);
      CHECK_MESSAGE(ended.exit_status == 0, ended.out << ended.err);
    }
    auto summary = summary_of(nodes);
    CHECK(summary["stop_reason"] == "seconds");
    CHECK(summary["failure"].is_null());
    CHECK(summary["membership"]["joined"] == 3);
    CHECK(summary["membership"]["lost"].get<int>() >= 1);
    CHECK(summary["membership"]["nodes_lost"].get<int>() >= 1);
  }
}

TEST_CASE("ormo node: a frozen worker node is lost within the connection "
          "timeout") {
  auto deadline = clock::now() + seconds{20};
  node_fixture nodes("freeze_worker_node"); // connection_timeout 1s
  child_process *server, *wa, *wb;
  nodes.start_all(server, wa, wb, deadline);
  auto from = wait_for_training(*server, deadline);
  auto frozen_at = clock::now();
  wb->send_signal(SIGSTOP);
  REQUIRE_MESSAGE(server->wait_until(progress_with(1, 0, from), deadline),
                  "the frozen node was not lost:\n"
                    << server->out());
  auto detection = seconds_since(frozen_at);
  MESSAGE("frozen node lost after " << detection << " s");
  CHECK(detection < 3.0); // 1 s timeout + heartbeat + progress period
  auto lost = wait_for_one_worker_training(*server, from, deadline);
  auto result = server->finish(deadline);
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  auto other = wa->finish(deadline);
  CHECK_MESSAGE(other.exit_status == 0, other.out << other.err);
  wb->send_signal(SIGCONT);
  wb->send_signal(SIGKILL);
  wb->finish(deadline);
  check_lost_and_went_on(summary_of(nodes), "wb", lost.iteration);
}

TEST_CASE("ormo node: a worker node ended by SIGTERM exits 130 and the run "
          "goes on") {
  auto deadline = clock::now() + seconds{20};
  node_fixture nodes("terminate_worker_node");
  child_process *server, *wa, *wb;
  nodes.start_all(server, wa, wb, deadline);
  auto from = wait_for_training(*server, deadline);
  wa->send_signal(SIGTERM);
  auto ended = wa->finish(clock::now() + seconds{5});
  CHECK_FALSE(ended.timed_out);
  CHECK_MESSAGE(ended.exit_status == 130, ended.out << ended.err);
  wait_for_one_worker_training(*server, from, deadline);
  auto result = server->finish(deadline);
  REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
  auto other = wb->finish(deadline);
  CHECK_MESSAGE(other.exit_status == 0, other.out << other.err);
  auto summary = summary_of(nodes);
  CHECK(summary["stop_reason"] == "seconds");
  CHECK(summary["failure"].is_null());
  CHECK(summary["membership"]["joined"] == 2);
}

TEST_CASE("ormo node: a worker node whose server never comes gives up after "
          "connect_timeout") {
  topology shape;
  shape.connect_timeout = "1s";
  node_fixture nodes("server_unreachable", shape); // nobody on the port
  auto started = clock::now();
  auto& wa = nodes.start("wa");
  auto result = wa.finish(started + seconds{10});
  auto elapsed = seconds_since(started);
  MESSAGE("gave up after " << elapsed << " s");
  REQUIRE_FALSE(result.timed_out);
  CHECK(result.exit_status == 1);
  CHECK(elapsed >= 1.0); // it kept trying for connect_timeout
  CHECK_MESSAGE(line_count(result.err) == 1, result.err);
  CHECK(result.err.rfind("ormo: node wa: ", 0) == 0);
  CHECK(result.err.find("server (" + nodes.endpoint() + ")")
        != std::string::npos);
}

TEST_CASE("ormo node: a server node whose port is taken fails") {
  loopback_socket taken;
  taken.listen_now();
  node_fixture nodes("port_in_use");
  nodes.choose_port(taken.port());
  auto& server = nodes.start("server");
  auto result = server.finish(clock::now() + seconds{10});
  REQUIRE_FALSE(result.timed_out);
  CHECK(result.exit_status == 1);
  CHECK_MESSAGE(result.err.find("cannot listen on " + nodes.endpoint())
                  != std::string::npos,
                result.err);
  CHECK_MESSAGE(line_count(result.err) == 1, result.err);
}

TEST_CASE("ormo node: a name not in the topology is a usage error") {
  node_fixture nodes("unknown_node");
  auto& nobody = nodes.start("nobody");
  auto result = nobody.finish(clock::now() + seconds{10});
  CHECK(result.exit_status == 2);
  CHECK_MESSAGE(line_count(result.err) == 1, result.err);
  CHECK(result.err.find("\"nobody\"") != std::string::npos);
  CHECK(result.err.find("server, wa, wb") != std::string::npos);
  CHECK(result.out.empty());
}
