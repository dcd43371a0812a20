// node_layout: what each node of a topology runs and whom it reaches; slots
// are dealt in file order, so a slot is the same in every process and in a
// one-process run of the same file.
#include "ormo/net/node_layout.hpp"

#include <doctest/doctest.h>

#include "ormo/config/parse_run_config.hpp"

using namespace ormo;

namespace {

constexpr const char* four_nodes = R"([run]
stop_epochs = 1

[server]
shards = 2

[[nodes]]
name = "wa"
workers = 2

[[nodes]]
name = "s1"
host = "127.0.0.2"
port = 7002
shards = [1]

[[nodes]]
name = "sup"
port = 7000
shards = [0]
supervisor = true
workers = 1

[[nodes]]
name = "wb"
workers = 1
)";

config::run_config parse(const char* text) {
  auto run = config::parse_run_config(text, "topo.toml");
  REQUIRE_MESSAGE(run, run.error().message());
  return *run;
}

} // namespace

TEST_CASE("node_layout: slots in file order, shards and peers by node") {
  auto run = parse(four_nodes);
  CHECK(run.workers.count == 4);
  auto wa = net::layout_of(run, "wa");
  REQUIRE(wa);
  CHECK(wa->slots == std::vector<std::size_t>{0, 1});
  CHECK(wa->shards.empty());
  CHECK_FALSE(wa->supervisor);
  CHECK(wa->self.port == 0);
  CHECK(net::to_string(wa->supervisor_node) == "sup (127.0.0.1:7000)");
  REQUIRE(wa->shard_nodes.size() == 2);
  CHECK(net::to_string(wa->shard_nodes[0]) == "sup (127.0.0.1:7000)");
  CHECK(net::to_string(wa->shard_nodes[1]) == "s1 (127.0.0.2:7002)");

  auto sup = net::layout_of(run, "sup");
  REQUIRE(sup);
  CHECK(sup->supervisor);
  CHECK(sup->shards == std::vector<std::size_t>{0});
  CHECK(sup->slots == std::vector<std::size_t>{2});
  CHECK(sup->slots_by_node
        == std::map<std::string, std::vector<std::size_t>>{
          {"s1", {}}, {"sup", {2}}, {"wa", {0, 1}}, {"wb", {3}}});

  auto wb = net::layout_of(run, "wb");
  REQUIRE(wb);
  CHECK(wb->slots == std::vector<std::size_t>{3});
}

TEST_CASE("node_layout: an unknown node or a topology without nodes") {
  auto run = parse(four_nodes);
  auto unknown = net::layout_of(run, "wc");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message()
        == "topo.toml: no node named \"wc\" (the nodes: wa, s1, sup, wb)");
  auto single = parse("[run]\nstop_epochs = 1\n");
  auto none = net::layout_of(single, "wa");
  REQUIRE_FALSE(none);
  CHECK(none.error().message()
        == "topo.toml: the topology has no [[nodes]]; run it with `ormo run`");
}
