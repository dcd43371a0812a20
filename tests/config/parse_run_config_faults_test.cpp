// `[[faults]]`: read, written back, their targets resolved, and every bad
// combination refused with its exact message naming the entry and the key.
#include "ormo/config/parse_run_config.hpp"

#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "config/config_testing.hpp"

using namespace ormo;
using namespace ormo::config;
using namespace ormo::config::testing;

namespace {

/// Two shards, four workers; `[[faults]]` is line 8.
constexpr std::string_view head = R"([run]
stop_epochs = 1
[workers]
count = 4
[server]
shards = 2

)";

std::string with_fault(std::string_view body) {
  return std::string{head} + "[[faults]]\n" + std::string{body};
}

} // namespace

TEST_CASE("faults: every kind is read with its target resolved") {
  auto config = parse_ok(std::string{head} + R"([[faults]]
kind = "kill_worker"
target = "worker 3"
at_gradient = 50

[[faults]]
kind = "fail_gradient"
target = "worker 0"
at_seconds = 0.25
duration_s = 1
probability = 0.5

[[faults]]
kind = "slow_worker"
target = " worker  1 "
at_iteration = 10
duration_s = 2
factor = 8

[[faults]]
kind = "freeze_worker"
target = "worker 2"
at_seconds = 1
duration_s = 0.5

[[faults]]
kind = "drop"
target = "worker 1 <-> shard 1"
at_seconds = 1
duration_s = 1
probability = 0.3

[[faults]]
kind = "delay"
target = "worker 0 <-> shard 0"
at_seconds = 1
duration_s = 1
delay_ms = 30

[[faults]]
kind = "duplicate"
target = "worker 0 <-> shard 1"
at_seconds = 1
duration_s = 1

[[faults]]
kind = "reorder"
target = "worker 3 <-> shard 0"
at_seconds = 1
duration_s = 1
delay_ms = 5

[[faults]]
kind = "partition"
target = "worker 2"
at_seconds = 2
duration_s = 3
)");
  REQUIRE(config.faults.size() == 9);
  const auto& kill = config.faults[0];
  CHECK(kill.kind == fault_kind::kill_worker);
  CHECK(kill.target_kind == fault_target_kind::worker);
  CHECK(kill.worker == 3);
  CHECK(kill.shard == -1);
  CHECK(kill.at_gradient == 50);
  CHECK(config.faults[1].probability == 0.5);
  CHECK(config.faults[2].worker == 1);
  CHECK(config.faults[2].factor == 8);
  const auto& drop = config.faults[4];
  CHECK(drop.kind == fault_kind::drop);
  CHECK(drop.target_kind == fault_target_kind::link);
  CHECK(drop.worker == 1);
  CHECK(drop.shard == 1);
  CHECK(config.faults[5].delay_ms == 30);
  CHECK(config.faults[7].kind == fault_kind::reorder);
  CHECK(config.faults[8].target_kind == fault_target_kind::worker);
  CHECK(is_link_fault(fault_kind::partition));
  CHECK_FALSE(is_link_fault(fault_kind::slow_worker));
  // Written back and read again: the same faults.
  auto again = parse_ok(to_toml(config));
  check_same(config, again);
  REQUIRE(again.faults.size() == 9);
  CHECK(again.faults[4].worker == 1);
  CHECK(again.faults[4].shard == 1);
}

TEST_CASE("faults: bad combinations are refused naming the entry and key") {
  struct bad_case {
    std::string_view body;
    std::string_view message;
  };
  const bad_case cases[] = {
    {"target = \"worker 1\"\nat_seconds = 1\n",
     "t.toml:8:1: faults[0].kind: missing; every fault needs a kind"},
    {"kind = \"explode\"\ntarget = \"worker 1\"\nat_seconds = 1\n",
     "t.toml:9:8: faults[0].kind: \"explode\" is not one of kill_worker, "
     "fail_gradient, slow_worker, freeze_worker, drop, delay, duplicate, "
     "reorder, partition, kill_shard, kill_node, stop_node"},
    {"kind = \"kill_node\"\ntarget = \"node a\"\nat_seconds = 1\n",
     "t.toml:9:8: faults[0].kind: \"kill_node\" signals a node's process: "
     "it needs [[nodes]] and run.deterministic = false (a deterministic run "
     "of nodes is one process)"},
    {"kind = \"kill_worker\"\nat_seconds = 1\n",
     "t.toml:8:1: faults[0].target: missing; \"kill_worker\" needs \"worker "
     "W\""},
    {"kind = \"kill_worker\"\ntarget = \"worker 1\"\n",
     "t.toml:8:1: faults[0]: says not when it fires; set one of at_seconds, "
     "at_iteration, at_gradient to a value > 0"},
    {"kind = \"kill_worker\"\ntarget = \"worker 1\"\nat_seconds = 1\n"
     "at_gradient = 5\n",
     "t.toml:12:15: faults[0].at_gradient: at_seconds is set too; exactly "
     "one of at_seconds, at_iteration, at_gradient says when it fires"},
    {"kind = \"kill_worker\"\ntarget = \"worker 4\"\nat_seconds = 1\n",
     "t.toml:10:10: faults[0].target: worker 4 is not in [0, 3] "
     "(workers.count = 4)"},
    {"kind = \"drop\"\ntarget = \"worker 1 <-> shard 2\"\nat_seconds = 1\n"
     "duration_s = 1\n",
     "t.toml:10:10: faults[0].target: shard 2 is not in [0, 1] "
     "(server.shards = 2)"},
    {"kind = \"kill_worker\"\ntarget = \"workers 1\"\nat_seconds = 1\n",
     "t.toml:10:10: faults[0].target: \"workers 1\" is not \"worker W\", "
     "\"shard S\", \"worker W <-> shard S\" or \"node NAME\""},
    {"kind = \"drop\"\ntarget = \"worker 1\"\nat_seconds = 1\n"
     "duration_s = 1\n",
     "t.toml:10:10: faults[0].target: \"drop\" needs a link \"worker W <-> "
     "shard S\", got \"worker 1\""},
    {"kind = \"slow_worker\"\ntarget = \"worker 1 <-> shard 0\"\n"
     "at_seconds = 1\nduration_s = 1\nfactor = 2\n",
     "t.toml:10:10: faults[0].target: \"slow_worker\" needs \"worker W\", got "
     "\"worker 1 <-> shard 0\""},
    {"kind = \"kill_worker\"\ntarget = \"worker 1\"\nat_seconds = 1\n"
     "duration_s = 2\n",
     "t.toml:12:14: faults[0].duration_s: \"kill_worker\" happens once and "
     "lasts no time; remove duration_s"},
    {"kind = \"freeze_worker\"\ntarget = \"worker 1\"\nat_seconds = 1\n",
     "t.toml:8:1: faults[0].duration_s: \"freeze_worker\" needs duration_s "
     "> 0 (how long it lasts)"},
    {"kind = \"slow_worker\"\ntarget = \"worker 1\"\nat_seconds = 1\n"
     "duration_s = 1\n",
     "t.toml:8:1: faults[0].factor: \"slow_worker\" needs factor > 1 (how "
     "many times as long a gradient takes)"},
    {"kind = \"freeze_worker\"\ntarget = \"worker 1\"\nat_seconds = 1\n"
     "duration_s = 1\nfactor = 2\n",
     "t.toml:13:10: faults[0].factor: only for \"slow_worker\", not "
     "\"freeze_worker\""},
    {"kind = \"partition\"\ntarget = \"worker 1\"\nat_seconds = 1\n"
     "duration_s = 1\nprobability = 0.5\n",
     "t.toml:13:15: faults[0].probability: \"partition\" strikes for "
     "certain; probability is for fail_gradient, drop, delay, duplicate and "
     "reorder"},
    {"kind = \"drop\"\ntarget = \"worker 1 <-> shard 0\"\nat_seconds = 1\n"
     "duration_s = 1\nprobability = 0\n",
     "t.toml:13:15: faults[0].probability: 0 is not in (0, 1]"},
    {"kind = \"delay\"\ntarget = \"worker 1 <-> shard 0\"\nat_seconds = 1\n"
     "duration_s = 1\n",
     "t.toml:8:1: faults[0].delay_ms: \"delay\" needs delay_ms > 0 (how late "
     "a message arrives)"},
    {"kind = \"drop\"\ntarget = \"worker 1 <-> shard 0\"\nat_seconds = 1\n"
     "duration_s = 1\ndelay_ms = 3\n",
     "t.toml:13:12: faults[0].delay_ms: only for \"delay\" and \"reorder\", "
     "not \"drop\""},
    {"kind = \"kill_shard\"\ntarget = \"shard 1\"\nat_seconds = 1\n",
     "t.toml:9:8: faults[0].kind: \"kill_shard\" restarts the shard from "
     "its newest checkpoint: set checkpoints.every_iterations"},
    {"kind = \"kill_worker\"\ntarget = \"worker 1\"\nat_seconds = -1\n",
     "t.toml:11:14: faults[0].at_seconds: -1 is not in [0, 1e+09]"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    CHECK(error_of(with_fault(c.body)) == c.message);
  }
}

TEST_CASE("faults: the second entry is named as such") {
  auto text = with_fault("kind = \"kill_worker\"\ntarget = \"worker 1\"\n"
                         "at_seconds = 1\n\n[[faults]]\nkind = "
                         "\"slow_worker\"\ntarget = \"worker 2\"\n"
                         "at_seconds = 2\nduration_s = 1\nfactor = 0.5\n");
  CHECK(error_of(text)
        == "t.toml:18:10: faults[1].factor: 0.5 is not in [1, 1e+06]");
}

namespace {

/// A multi-process topology: the server (shard 0, supervisor), "wa" and
/// "wb" with a worker each; `[[faults]]` is line 22.
constexpr std::string_view nodes_head = R"([run]
stop_seconds = 5

[[nodes]]
name = "server"
port = 7301
shards = [0]
supervisor = true

[[nodes]]
name = "wa"
workers = 1

[[nodes]]
name = "wb"
workers = 1

[network]
heartbeat_interval = "100ms"
connection_timeout = "1s"

)";

std::string with_node_fault(std::string_view body) {
  return std::string{nodes_head} + "[[faults]]\n" + std::string{body};
}

} // namespace

TEST_CASE("faults: kill_node and stop_node in a multi-process topology") {
  auto config = parse_ok(with_node_fault(
    "kind = \"kill_node\"\ntarget = \"node wb\"\nat_seconds = 1.5\n\n"
    "[[faults]]\nkind = \"stop_node\"\ntarget = \"node wa\"\n"
    "at_seconds = 2\nduration_s = 0.5\n"));
  REQUIRE(config.faults.size() == 2);
  CHECK(config.faults[0].kind == fault_kind::kill_node);
  CHECK(config.faults[0].target_kind == fault_target_kind::node);
  CHECK(config.faults[0].node == "wb");
  CHECK(config.faults[1].node == "wa");
  CHECK(config.faults[1].duration_s == 0.5);
  CHECK(is_node_fault(fault_kind::stop_node));
  CHECK_FALSE(is_node_fault(fault_kind::partition));
  check_same(config, parse_ok(to_toml(config)));
  struct bad_case {
    std::string_view body;
    std::string_view message;
  };
  const bad_case cases[] = {
    {"kind = \"kill_node\"\ntarget = \"node wc\"\nat_seconds = 1\n",
     "t.toml:24:10: faults[0].target: no node is called \"wc\""},
    {"kind = \"kill_node\"\ntarget = \"node server\"\nat_seconds = 1\n",
     "t.toml:24:10: faults[0].target: \"server\" hosts the supervisor, "
     "which writes the run's outputs; signal another node"},
    {"kind = \"kill_node\"\ntarget = \"node wa\"\nat_gradient = 10\n",
     "t.toml:25:15: faults[0].at_gradient: \"kill_node\" fires at a time: "
     "set at_seconds (the launcher sees no gradients or iterations)"},
    {"kind = \"stop_node\"\ntarget = \"node wa\"\nat_seconds = 1\n",
     "t.toml:22:1: faults[0].duration_s: \"stop_node\" needs duration_s > 0 "
     "(how long it lasts)"},
    {"kind = \"kill_node\"\ntarget = \"worker 1\"\nat_seconds = 1\n",
     "t.toml:24:10: faults[0].target: \"kill_node\" needs \"node NAME\", "
     "got \"worker 1\""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.body);
    CHECK(error_of(with_node_fault(c.body)) == c.message);
  }
  // Worker and link faults strike inside the processes of the nodes.
  auto across = parse_ok(with_node_fault(
    "kind = \"drop\"\ntarget = \"worker 1 <-> shard 0\"\nat_seconds = 1\n"
    "duration_s = 1\nprobability = 0.5\n\n"
    "[[faults]]\nkind = \"kill_worker\"\ntarget = \"worker 0\"\n"
    "at_gradient = 10\n\n[[faults]]\nkind = \"kill_shard\"\n"
    "target = \"shard 0\"\nat_seconds = 2\n\n"
    "[checkpoints]\nevery_iterations = 100\n"));
  CHECK(across.faults.size() == 3);
  // A deterministic run of nodes is one process: in-process faults.
  auto one_process = parse_ok(
    std::string{nodes_head}.replace(0, 5, "[run]\ndeterministic = true")
    + "[[faults]]\nkind = \"kill_worker\"\ntarget = \"worker 1\"\n"
      "at_gradient = 10\n");
  CHECK(one_process.faults.size() == 1);
}
