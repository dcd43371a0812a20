// Multi-process topologies: `[[nodes]]` and `[network]` read, written back,
// and the rules that tie the nodes together, each with its exact message.
#include "ormo/config/parse_run_config.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "config/config_testing.hpp"

using namespace std::chrono_literals;
using namespace ormo;
using namespace ormo::config;
using namespace ormo::config::testing;

namespace {

/// A valid topology: two shards on two server nodes, three workers.
/// Line numbers matter to the messages below.
constexpr std::string_view three_nodes = R"([run]
stop_epochs = 1

[server]
shards = 2

[[nodes]]
name = "ps"
port = 7301
shards = [0]
supervisor = true

[[nodes]]
name = "ps-2"
port = 7302
shards = [1]
workers = 1

[[nodes]]
name = "w"
workers = 2
)";

/// `minimal` (2 lines) followed by `text`: its first line is line 3.
std::string after_minimal(std::string_view text) {
  return std::string{minimal} + std::string{text};
}

/// One valid server node (shard 0, supervisor, one worker) on lines 3-8.
constexpr std::string_view server_node = R"([[nodes]]
name = "s"
port = 7301
shards = [0]
supervisor = true
workers = 1
)";

} // namespace

// -- reading -----------------------------------------------------------------

TEST_CASE("nodes are read with their defaults and workers.count is their sum") {
  auto c = parse_ok(three_nodes);
  REQUIRE(c.nodes.size() == 3);
  CHECK(c.nodes[0].name == "ps");
  CHECK(c.nodes[0].host == "127.0.0.1");
  CHECK(c.nodes[0].port == 7301);
  CHECK(c.nodes[0].shards == std::vector<std::int64_t>{0});
  CHECK(c.nodes[0].supervisor);
  CHECK(c.nodes[0].workers == 0);
  CHECK(c.nodes[1].name == "ps-2");
  CHECK(c.nodes[1].shards == std::vector<std::int64_t>{1});
  CHECK_FALSE(c.nodes[1].supervisor);
  CHECK(c.nodes[1].workers == 1);
  CHECK(c.nodes[2].name == "w");
  CHECK(c.nodes[2].host == "127.0.0.1");
  CHECK(c.nodes[2].port == 0);
  CHECK(c.nodes[2].shards.empty());
  CHECK(c.nodes[2].workers == 2);
  CHECK(c.workers.count == 3);
  // Without a [network] table, its defaults.
  network_config defaults;
  CHECK(c.network.heartbeat_interval == defaults.heartbeat_interval);
  CHECK(c.network.connection_timeout == defaults.connection_timeout);
  CHECK(c.network.connect_timeout == defaults.connect_timeout);
  CHECK(defaults.heartbeat_interval == 500ms);
  CHECK(defaults.connection_timeout == 5s);
  CHECK(defaults.connect_timeout == 30s);
}

TEST_CASE("the network table is read") {
  auto c = parse_ok(std::string{three_nodes}
                    + "[network]\nheartbeat_interval = \"100ms\"\n"
                      "connection_timeout = \"1.5s\"\n"
                      "connect_timeout = \"2min\"\n");
  CHECK(c.network.heartbeat_interval == 100ms);
  CHECK(c.network.connection_timeout == 1500ms);
  CHECK(c.network.connect_timeout == 2min);
}

TEST_CASE("nodes may set host and any mix of roles") {
  auto c = parse_ok(after_minimal(R"([[nodes]]
name = "all_in.one-1"
host = "10.1.2.3"
port = 65535
shards = [0]
supervisor = true
workers = 4
)"));
  REQUIRE(c.nodes.size() == 1);
  CHECK(c.nodes[0].name == "all_in.one-1");
  CHECK(c.nodes[0].host == "10.1.2.3");
  CHECK(c.nodes[0].port == 65535);
  CHECK(c.workers.count == 4);
}

TEST_CASE("without nodes a run is one process and the node rules are off") {
  // connection_timeout <= 2 x heartbeat_interval is only checked with nodes.
  auto c = parse_ok(after_minimal("[network]\nconnection_timeout = \"1s\"\n"
                                  "[workers]\ncount = 7\n"));
  CHECK(c.nodes.empty());
  CHECK(c.workers.count == 7);
  CHECK(c.network.connection_timeout == 1s);
}

TEST_CASE("workers.count given in the file or by --set must be the sum") {
  CHECK(
    parse_ok(std::string{three_nodes} + "[workers]\ncount = 3\n").workers.count
    == 3);
  CHECK(parse_ok(three_nodes, {{"workers.count", "3"}}).workers.count == 3);
  CHECK(error_of(std::string{three_nodes} + "[workers]\ncount = 4\n")
        == "t.toml:23:9: workers.count: 4 workers, but the nodes run 3 (the "
           "sum of their workers); leave workers.count out or make them "
           "agree");
  CHECK(error_of(three_nodes, {{"workers.count", "2"}})
        == "--set: workers.count: 2 workers, but the nodes run 3 (the sum of "
           "their workers); leave workers.count out or make them agree");
}

TEST_CASE("the speed rules see workers.count from the nodes") {
  auto c = parse_ok(std::string{three_nodes}
                    + "[workers.speed]\nprofile = \"factors\"\n"
                      "factors = [1, 2, 3]\n");
  CHECK(c.workers.speed.factors.size() == 3);
  CHECK(error_of(std::string{three_nodes}
                 + "[workers.speed]\nprofile = \"factors\"\n"
                   "factors = [1, 2]\n")
        == "t.toml:24:11: workers.speed.factors: 2 factors for 3 workers "
           "(workers.count)");
}

// -- writing -----------------------------------------------------------------

TEST_CASE("to_toml writes nodes and network and reads back equal") {
  auto c = parse_ok(std::string{three_nodes}
                    + "[network]\nheartbeat_interval = \"250ms\"\n"
                      "connect_timeout = \"1.5min\"\n");
  auto text = to_toml(c);
  auto again = parse_ok(text);
  check_same(c, again);
  CHECK(again.nodes.size() == 3);
  CHECK(again.workers.count == 3);
  for (auto block :
       {"[network]\nheartbeat_interval = \"250ms\"\nconnection_timeout = "
        "\"5s\"\nconnect_timeout = \"90s\"\n",
        "[[nodes]]\nname = \"ps\"\nhost = \"127.0.0.1\"\nport = 7301\n"
        "shards = [0]\nsupervisor = true\nworkers = 0\n",
        "[[nodes]]\nname = \"w\"\nhost = \"127.0.0.1\"\nport = 0\n"
        "shards = []\nsupervisor = false\nworkers = 2\n"}) {
    INFO(block);
    CHECK(text.find(block) != std::string::npos);
  }
  // The node blocks come after every table.
  CHECK(text.find("[[nodes]]") > text.find("[network]"));
  CHECK(text.find("[[nodes]]") > text.find("[output]"));
}

TEST_CASE("differences names the node key that differs") {
  auto a = parse_ok(three_nodes);
  auto b = a;
  b.nodes[2].workers = 5;
  b.network.connect_timeout = 1s;
  CHECK(
    differences(run_config_schema(), &a, &b)
    == std::vector<std::string>{"nodes[2].workers", "network.connect_timeout"});
  b.nodes.pop_back();
  CHECK(differences(run_config_schema(), &a, &b)
        == std::vector<std::string>{"nodes", "network.connect_timeout"});
}

// -- values ------------------------------------------------------------------

TEST_CASE("network durations need a unit and a value in range") {
  CHECK(error_of(after_minimal("[network]\nheartbeat_interval = 500\n"))
        == "t.toml:4:22: network.heartbeat_interval: expected a duration "
           "such as \"2s\" or \"250ms\", got an integer");
  CHECK(error_of(after_minimal("[network]\nconnection_timeout = \"5\"\n"))
        == "t.toml:4:22: network.connection_timeout: expected a duration "
           "such as \"2s\" or \"250ms\", got \"5\"");
  CHECK(error_of(after_minimal("[network]\nheartbeat_interval = \"5ms\"\n"))
        == "t.toml:4:22: network.heartbeat_interval: 5ms is not in [10ms, "
           "1min]");
  CHECK(error_of(after_minimal("[network]\nconnection_timeout = \"2h\"\n"))
        == "t.toml:4:22: network.connection_timeout: 2h is not in [50ms, "
           "1h]");
  CHECK(error_of(after_minimal("[network]\nconnect_timeout = \"10ms\"\n"))
        == "t.toml:4:19: network.connect_timeout: 10ms is not in [100ms, "
           "1h]");
}

TEST_CASE("node values are checked where they are written") {
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nport = 70000\n"))
        == "t.toml:5:8: nodes[0].port: 70000 is not in [0, 65535]");
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nworkers = -1\n"))
        == "t.toml:5:11: nodes[0].workers: must be >= 0, got -1");
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nshards = [0, -1]\n"))
        == "t.toml:5:14: nodes[0].shards[1]: must be >= 0, got -1");
  CHECK(error_of(after_minimal("[[nodes]]\nsupervisor = \"yes\"\n"))
        == "t.toml:4:14: nodes[0].supervisor: expected a boolean, got a "
           "string");
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nprot = 1\n"))
        == "t.toml:5:1: nodes[0].prot: unknown key; did you mean "
           "nodes[0].port?");
}

// -- --set -------------------------------------------------------------------

TEST_CASE("--set reaches the network keys") {
  auto c = parse_ok(three_nodes, {{"network.heartbeat_interval", "250ms"},
                                  {"network.connection_timeout", "\"10s\""},
                                  {"network.connect_timeout", "1h"}});
  CHECK(c.network.heartbeat_interval == 250ms);
  CHECK(c.network.connection_timeout == 10s);
  CHECK(c.network.connect_timeout == 1h);
  CHECK(error_of(three_nodes, {{"network.heartbeat_interval", "5"}})
        == "--set: network.heartbeat_interval: expected a duration such as "
           "\"2s\" or \"250ms\", got \"5\"");
  // The rules see the overridden values.
  CHECK(error_of(three_nodes, {{"network.heartbeat_interval", "3s"}})
        == "t.toml:1:1: network.connection_timeout: must be more than twice "
           "network.heartbeat_interval (6s), got 5s");
  CHECK(error_of(three_nodes, {{"nodes.port", "1"}})
        == "--set: nodes.port: nodes is an array of tables; set it in the "
           "file");
}

// -- the rules ---------------------------------------------------------------

TEST_CASE("a node needs a valid unique name") {
  CHECK(error_of(after_minimal("[[nodes]]\nport = 7301\nshards = [0]\n"
                               "supervisor = true\nworkers = 1\n"))
        == "t.toml:3:1: nodes[0].name: missing; every node needs a name");
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"\"\n"))
        == "t.toml:4:8: nodes[0].name: must not be empty");
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"a b\"\n"))
        == "t.toml:4:8: nodes[0].name: \"a b\" may contain only letters, "
           "digits, '_', '-' and '.'");
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"n/1\"\n"))
        == "t.toml:4:8: nodes[0].name: \"n/1\" may contain only letters, "
           "digits, '_', '-' and '.'");
  CHECK(error_of(after_minimal(std::string{server_node}
                               + "[[nodes]]\nname = \"w\"\nworkers = 1\n"
                                 "[[nodes]]\nname = \"s\"\nworkers = 1\n"))
        == "t.toml:13:8: nodes[2].name: \"s\" is also the name of nodes[0]");
}

TEST_CASE("a node needs a host") {
  CHECK(error_of(after_minimal(std::string{server_node}
                               + "[[nodes]]\nname = \"w\"\nhost = \"\"\n"
                                 "workers = 1\n"))
        == "t.toml:11:8: nodes[1].host: must not be empty");
}

TEST_CASE("every shard is on exactly one node, and only shards that exist") {
  CHECK(error_of(
          after_minimal("[[nodes]]\nname = \"s\"\nport = 1\nshards = [0, 1]\n"
                        "supervisor = true\nworkers = 1\n"))
        == "t.toml:6:14: nodes[0].shards[1]: 1 is not in [0, 0] "
           "(server.shards = 1)");
  // server.shards in the file: the message points at it.
  CHECK(
    error_of(after_minimal("[server]\nshards = 2\n" + std::string{server_node}))
    == "t.toml:4:10: server.shards: shard 1 is on no node");
  // Absent: at the start of the file.
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nport = 1\n"
                               "supervisor = true\nworkers = 1\n"))
        == "t.toml:1:1: server.shards: shard 0 is on no node");
  CHECK(error_of(after_minimal(std::string{server_node}
                               + "[[nodes]]\nname = \"t\"\nport = 2\n"
                                 "shards = [0]\n"))
        == "t.toml:12:10: nodes[1].shards: shard 0 is on both \"s\" "
           "(nodes[0]) and \"t\" (nodes[1])");
  CHECK(error_of(
          after_minimal("[[nodes]]\nname = \"s\"\nport = 1\nshards = [0, 0]\n"
                        "supervisor = true\nworkers = 1\n"))
        == "t.toml:6:10: nodes[0].shards: shard 0 is listed twice");
}

TEST_CASE("exactly one node is the supervisor") {
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nport = 1\n"
                               "shards = [0]\nworkers = 1\n"))
        == "t.toml:3:1: nodes: no node has supervisor = true; exactly one "
           "must");
  CHECK(error_of(after_minimal(std::string{server_node}
                               + "[[nodes]]\nname = \"t\"\nport = 2\n"
                                 "supervisor = true\n"))
        == "t.toml:12:14: nodes[1].supervisor: both \"s\" (nodes[0]) and "
           "\"t\" (nodes[1]) have supervisor = true; exactly one node may");
}

TEST_CASE("a node with shards or the supervisor needs a port") {
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nshards = [0]\n"
                               "supervisor = true\nworkers = 1\n"))
        == "t.toml:3:1: nodes[0].port: \"s\" hosts shards and the "
           "supervisor, so it needs a port >= 1");
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nport = 0\n"
                               "supervisor = true\n"))
        == "t.toml:5:8: nodes[0].port: \"s\" hosts the supervisor, so it "
           "needs a port >= 1");
  CHECK(error_of(after_minimal(std::string{server_node}
                               + "[[nodes]]\nname = \"t\"\nshards = [0]\n"))
        == "t.toml:9:1: nodes[1].port: \"t\" hosts shards, so it needs a "
           "port >= 1");
}

TEST_CASE("two nodes may not listen on the same host and port") {
  CHECK(error_of(after_minimal(std::string{server_node}
                               + "[[nodes]]\nname = \"t\"\nport = 7301\n"))
        == "t.toml:11:8: nodes[1].port: \"s\" (nodes[0]) and \"t\" "
           "(nodes[1]) both listen on 127.0.0.1:7301");
  CHECK(error_of(after_minimal(std::string{server_node}
                               + "[[nodes]]\nname = \"t\"\nport = 1\n"
                                 "[[nodes]]\nname = \"u\"\nhost = "
                                 "\"127.0.0.1\"\nport = 1\n"))
        == "t.toml:15:8: nodes[2].port: \"t\" (nodes[1]) and \"u\" "
           "(nodes[2]) both listen on 127.0.0.1:1");
  // Other hosts, or no port at all, are fine.
  auto c = parse_ok(after_minimal(std::string{server_node}
                                  + "[[nodes]]\nname = \"t\"\nhost = "
                                    "\"10.0.0.2\"\nport = 7301\n"
                                    "[[nodes]]\nname = \"u\"\nworkers = 1\n"
                                    "[[nodes]]\nname = \"v\"\nworkers = 1\n"));
  CHECK(c.nodes.size() == 4);
  CHECK(c.workers.count == 3);
}

TEST_CASE("the nodes run at least one worker and at most workers.count's") {
  CHECK(error_of(after_minimal("[[nodes]]\nname = \"s\"\nport = 1\n"
                               "shards = [0]\nsupervisor = true\n"))
        == "t.toml:3:1: nodes: no node runs workers; set workers >= 1 on at "
           "least one");
  CHECK(error_of(after_minimal(std::string{server_node}
                               + "[[nodes]]\nname = \"w\"\nworkers = 5000\n"))
        == "t.toml:3:1: nodes: the nodes run 5001 workers, more than "
           "workers.count allows (4096)");
}

TEST_CASE("connection_timeout is more than twice heartbeat_interval") {
  CHECK(error_of(std::string{three_nodes}
                 + "[network]\nheartbeat_interval = \"500ms\"\n"
                   "connection_timeout = \"1s\"\n")
        == "t.toml:24:22: network.connection_timeout: must be more than "
           "twice network.heartbeat_interval (1s), got 1s");
  // Absent: at the [network] table.
  CHECK(error_of(std::string{three_nodes}
                 + "[network]\nheartbeat_interval = \"2.5s\"\n")
        == "t.toml:22:1: network.connection_timeout: must be more than "
           "twice network.heartbeat_interval (5s), got 5s");
  CHECK(parse_ok(std::string{three_nodes}
                 + "[network]\nconnection_timeout = \"1001ms\"\n")
          .network.connection_timeout
        == 1001ms);
}

TEST_CASE("TLS needs a readable certificate, key and authority") {
  // Paths are relative to the working directory: tests/ for the test.
  std::string tls = std::string{three_nodes} + "[network]\ntls = true\n";
  CHECK(error_of(tls).find("network.certificate: needed when network.tls "
                           "is true")
        != std::string::npos);
  auto with = [&](const char* certificate) {
    return tls + "certificate = \"" + certificate
           + "\"\nkey = \"data/tls/node.key\"\ncafile = \"data/tls/ca.pem\"\n";
  };
  CHECK(error_of(with("data/tls/missing.pem"))
          .find("network.certificate: cannot read \"data/tls/missing.pem\"")
        != std::string::npos);
  auto run = parse_ok(with("data/tls/node.pem"));
  CHECK(run.network.tls);
  CHECK(run.network.certificate == "data/tls/node.pem");
  CHECK(run.network.cafile == "data/tls/ca.pem");
}
