// The schema machinery: run_config's rows, and the kinds no topology key
// uses yet (arrays of tables, durations), through a test-only schema.
#include "ormo/config/schema.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "config/config_testing.hpp"

using namespace std::chrono_literals;
using namespace ormo;
using namespace ormo::config;
using namespace ormo::config::testing;

namespace test_topology {

enum class role { server, worker, monitor };

const char* to_string(role value) {
  switch (value) {
    case role::server:
      return "server";
    case role::worker:
      return "worker";
    case role::monitor:
      return "monitor";
  }
  return "unknown";
}

struct node_entry {
  std::string host = "localhost";
  int port = 4242;
  role kind = role::worker;
  std::chrono::nanoseconds timeout = 2s;
};

struct topology {
  std::vector<node_entry> nodes;
  std::chrono::nanoseconds heartbeat = 250ms;
  std::int64_t retries = 3;
};

const document_schema& schema() {
  static const document_schema built = [] {
    document_schema s;
    auto elements = std::make_unique<table_spec>(table_spec{
      "nodes",
      {string_key<node_entry>(
         "host", [](auto& n) -> auto& { return n.host; }, "Host name."),
       integer_key<node_entry>(
         "port", {1, 65535, false}, [](auto& n) -> auto& { return n.port; },
         "TCP port."),
       choice_key<node_entry>(
         "role", {role::server, role::worker, role::monitor},
         [](auto& n) -> auto& { return n.kind; }, "What runs there."),
       duration_key<node_entry>(
         "timeout", {1ms, 1h}, [](auto& n) -> auto& { return n.timeout; },
         "Connect timeout.")}});
    s.tables = {
      {"",
       {table_array_key<topology>(
          "nodes", *elements, [](auto& t) -> auto& { return t.nodes; },
          "The nodes."),
        table_key("net")}},
      {"net",
       {duration_key<topology>(
          "heartbeat", {1ms, duration_range{}.hi},
          [](auto& t) -> auto& { return t.heartbeat; }, "Heartbeat period."),
        integer_key<topology>(
          "retries", {0, 100, true}, [](auto& t) -> auto& { return t.retries; },
          "Reconnects.")}},
    };
    s.element_tables.push_back(std::move(elements));
    return s;
  }();
  return built;
}

result<topology> parse_topology(std::string_view text,
                                const std::vector<setting_override>& overrides
                                = {}) {
  return read_document<topology>(schema(), text, "topo.toml", overrides);
}

std::string topology_error(std::string_view text,
                           const std::vector<setting_override>& overrides
                           = {}) {
  auto parsed = parse_topology(text, overrides);
  INFO("text:\n" << text);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().code() == status_code::invalid_argument);
  return parsed.error().message();
}

constexpr std::string_view three_nodes = R"([net]
heartbeat = "2s"

[[nodes]]
host = "a"
port = 1
role = "server"

[[nodes]]
host = "b"
port = 2
timeout = "1.5min"

[[nodes]]
host = "c"
port = 3
role = "monitor"
)";

} // namespace test_topology

TEST_CASE("arrays of tables are read element by element") {
  using namespace test_topology;
  auto parsed = parse_topology(three_nodes);
  INFO(parsed.error().message());
  REQUIRE(parsed.has_value());
  const auto& t = *parsed;
  REQUIRE(t.nodes.size() == 3);
  CHECK(t.nodes[0].host == "a");
  CHECK(t.nodes[0].kind == role::server);
  CHECK(t.nodes[0].timeout == 2s);
  CHECK(t.nodes[1].port == 2);
  CHECK(t.nodes[1].kind == role::worker);
  CHECK(t.nodes[1].timeout == 90s);
  CHECK(t.nodes[2].kind == role::monitor);
  CHECK(t.heartbeat == 2s);
  CHECK(t.retries == 3);
}

TEST_CASE("errors inside an array of tables name the element") {
  using namespace test_topology;
  CHECK(topology_error("[[nodes]]\nport = 1\n[[nodes]]\nport = 2\n[[nodes]]\n"
                       "port = 0\n")
        == "topo.toml:6:8: nodes[2].port: 0 is not in [1, 65535]");
  CHECK(topology_error("[[nodes]]\nport = 1\n[[nodes]]\nprot = 2\n")
        == "topo.toml:4:1: nodes[1].prot: unknown key; did you mean "
           "nodes[1].port?");
  CHECK(topology_error("[[nodes]]\nrole = \"workr\"\n")
        == "topo.toml:2:8: nodes[0].role: \"workr\" is not one of server, "
           "worker, monitor; did you mean \"worker\"?");
  CHECK(topology_error("[[nodes]]\nhost = 5\n")
        == "topo.toml:2:8: nodes[0].host: expected a string, got an integer");
  CHECK(topology_error("nodes = 3\n")
        == "topo.toml:1:9: nodes: expected an array of tables, got an "
           "integer");
  CHECK(topology_error("nodes = [{ port = 1 }, 2]\n")
        == "topo.toml:1:24: nodes[1]: expected a table, got an integer");
  CHECK(topology_error("[net]\nheartbat = \"1s\"\n")
        == "topo.toml:2:1: net.heartbat: unknown key; did you mean "
           "net.heartbeat?");
}

TEST_CASE("durations need a unit and a value in range") {
  using namespace test_topology;
  CHECK(topology_error("[net]\nheartbeat = 2\n")
        == "topo.toml:2:13: net.heartbeat: expected a duration such as "
           "\"2s\" or \"250ms\", got an integer");
  CHECK(topology_error("[net]\nheartbeat = \"2 s\"\n")
        == "topo.toml:2:13: net.heartbeat: expected a duration such as "
           "\"2s\" or \"250ms\", got \"2 s\"");
  CHECK(topology_error("[net]\nheartbeat = \"0s\"\n")
        == "topo.toml:2:13: net.heartbeat: must be >= 1ms, got 0s");
  CHECK(topology_error("[[nodes]]\ntimeout = \"2h\"\n")
        == "topo.toml:2:11: nodes[0].timeout: 2h is not in [1ms, 1h]");
}

TEST_CASE("--set reaches the schema's keys, not arrays of tables") {
  using namespace test_topology;
  auto set
    = parse_topology("", {{"net.heartbeat", "500ms"}, {"net.retries", "7"}});
  INFO(set.error().message());
  REQUIRE(set.has_value());
  CHECK(set->heartbeat == 500ms);
  CHECK(set->retries == 7);
  CHECK(topology_error("", {{"net.heartbeat", "5"}})
        == "--set: net.heartbeat: expected a duration such as \"2s\" or "
           "\"250ms\", got \"5\"");
  CHECK(topology_error("", {{"nodes.port", "5"}})
        == "--set: nodes.port: nodes is an array of tables; set it in the "
           "file");
  CHECK(topology_error("", {{"net.retires", "5"}})
        == "--set: net.retires: unknown key; did you mean net.retries?");
}

TEST_CASE("arrays of tables are written as blocks and read back equal") {
  using namespace test_topology;
  auto parsed = parse_topology(three_nodes);
  REQUIRE(parsed.has_value());
  auto text = write_document(schema(), &*parsed);
  // The tables first, then the arrays of tables.
  CHECK(text
        == "[net]\nheartbeat = \"2s\"\nretries = 3\n\n"
           "[[nodes]]\nhost = \"a\"\nport = 1\nrole = \"server\"\n"
           "timeout = \"2s\"\n\n"
           "[[nodes]]\nhost = \"b\"\nport = 2\nrole = \"worker\"\n"
           "timeout = \"90s\"\n\n"
           "[[nodes]]\nhost = \"c\"\nport = 3\nrole = \"monitor\"\n"
           "timeout = \"2s\"\n");
  auto again = parse_topology(text);
  INFO(again.error().message());
  REQUIRE(again.has_value());
  CHECK(differences(schema(), &*parsed, &*again).empty());
}

TEST_CASE("differences compares arrays of tables element by element") {
  using namespace test_topology;
  auto parsed = parse_topology(three_nodes);
  REQUIRE(parsed.has_value());
  auto changed = *parsed;
  changed.nodes[1].port = 9;
  changed.nodes[2].timeout = 3s;
  CHECK(differences(schema(), &*parsed, &changed)
        == std::vector<std::string>{"nodes[1].port", "nodes[2].timeout"});
  changed.nodes.pop_back();
  changed.heartbeat = 1s;
  CHECK(differences(schema(), &*parsed, &changed)
        == std::vector<std::string>{"nodes", "net.heartbeat"});
}

TEST_CASE("durations parse with a unit and format canonically") {
  CHECK(parse_duration("250ms") == 250ms);
  CHECK(parse_duration("2s") == 2s);
  CHECK(parse_duration("1.5min") == 90s);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("10us") == 10us);
  CHECK(parse_duration("7ns") == 7ns);
  CHECK(parse_duration("0.1s") == 100ms);
  for (auto bad : {"", "2", "s", "-1s", "1.s", ".5s", "2 s", "1e3s", "2sec",
                   "1..5s", "99999999999h"})
    CHECK_MESSAGE(!parse_duration(bad), bad);
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(90s) == "90s");
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(2h) == "2h");
  CHECK(format_duration(3min) == "3min");
  CHECK(format_duration(1500us) == "1500us");
  CHECK(format_duration(1001ns) == "1001ns");
  std::vector<std::chrono::nanoseconds> samples{1ns, 999ns, 1us,  1ms,   1s,
                                                59s, 61s,   1min, 61min, 25h};
  for (auto d : samples)
    CHECK(parse_duration(format_duration(d)) == d);
}

TEST_CASE("every key of run_config is in the schema and in every_key") {
  // every_key sets each key but model.kind to a value other than its
  // default, so a key missing from the comparison shows up here.
  auto every = parse_ok(every_key);
  run_config defaults;
  std::vector<std::string> keys;
  for (const auto& table : run_config_schema().tables)
    for (const auto& key : table.keys)
      if (key.kind != value_kind::table && key.name != "kind")
        keys.push_back((table.path.empty() ? "" : std::string{table.path} + ".")
                       + std::string{key.name});
  CHECK(keys.size() == 51);
  CHECK(keys.front() == "nodes");
  CHECK(differences(run_config_schema(), &defaults, &every) == keys);
  // Each key of a node differs from its default on some node of every_key.
  REQUIRE(every.nodes.size() == 2);
  defaults.nodes.resize(every.nodes.size());
  std::vector<std::string> element_keys;
  for (const auto& path : differences(run_config_schema(), &defaults, &every))
    if (auto dot = path.find("]."); path.rfind("nodes[", 0) == 0)
      element_keys.push_back(path.substr(dot + 2));
  for (auto key : {"name", "host", "port", "shards", "supervisor", "workers"}) {
    INFO(key);
    CHECK(std::count(element_keys.begin(), element_keys.end(), key) >= 1);
  }
  CHECK(element_keys.size() == 11);
  // Each key of a fault differs from its default on some fault of
  // every_key.
  REQUIRE(every.faults.size() == 3);
  defaults.faults.resize(every.faults.size());
  std::vector<std::string> fault_keys;
  for (const auto& path : differences(run_config_schema(), &defaults, &every))
    if (auto dot = path.find("]."); path.rfind("faults[", 0) == 0)
      fault_keys.push_back(path.substr(dot + 2));
  for (const auto& key : run_config_schema().find_table("")->keys.back()
                           .element_table->keys) {
    INFO(key.name);
    CHECK(std::count(fault_keys.begin(), fault_keys.end(), key.name) >= 1);
  }
  CHECK(fault_keys.size() == 15);
  CHECK(find_key(run_config_schema(), "workers.speed.factor") != nullptr);
  CHECK(find_key(run_config_schema(), "algorithm.learning_rate")->numbers.lo
        == optim::learning_rate_range.lo);
  CHECK(find_key(run_config_schema(), "workers.speed") == nullptr);
  CHECK(find_key(run_config_schema(), "workers.cuont") == nullptr);
}

TEST_CASE("the schema's ranges for rule settings are optim's") {
  auto lr = parse_ok(std::string{minimal} + "[algorithm]\nmomentum = 0\n");
  CHECK(lr.algorithm.settings.momentum == 0);
  CHECK(testing::error_of(std::string{minimal} + "[algorithm]\nmomentum = 1\n")
        == "t.toml:4:12: algorithm.momentum: 1 is not in [0, 1)");
  CHECK_FALSE(optim::momentum_range.contains(1));
  CHECK(optim::momentum_range.contains(0));
  CHECK_FALSE(optim::learning_rate_range.contains(0));
}

TEST_CASE("an array of tables in the file replaces the default elements") {
  using namespace test_topology;
  topology t;
  t.nodes.resize(2);
  t.nodes[0].port = 9;
  auto read
    = read_document(schema(), "[[nodes]]\nhost = \"z\"\n", "topo.toml", {}, &t);
  INFO(read.message());
  REQUIRE(read.is_ok());
  REQUIRE(t.nodes.size() == 1);
  CHECK(t.nodes[0].host == "z");
  CHECK(t.nodes[0].port == 4242);
}
