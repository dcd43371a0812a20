// TLS between nodes (network.tls) with the test certificates of
// tests/data/tls: nodes whose certificates one authority signed train
// together; a node whose certificate another authority signed is refused,
// and gives up within its own deadline instead of hanging in CAF 0.17's
// handshake.
#include <chrono>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "nodes/nodes_testing.hpp"

using namespace ormo::test;

namespace {

/// The [network] lines of TLS with `name`.pem and `name`.key.
std::string tls_lines(const std::string& name) {
  auto dir = std::filesystem::absolute("data/tls");
  return "tls = true\ncertificate = \"" + (dir / (name + ".pem")).string()
         + "\"\nkey = \"" + (dir / (name + ".key")).string()
         + "\"\ncafile = \"" + (dir / "ca.pem").string() + "\"\n";
}

} // namespace

TEST_CASE("ormo node: TLS nodes of one authority train together") {
  auto deadline = clock::now() + std::chrono::seconds{20};
  topology shape;
  shape.run = "stop_seconds = 2";
  shape.network_extra = tls_lines("node");
  node_fixture nodes("tls_train", shape);
  auto summary = nodes.run_to_end(deadline);
  CHECK(summary["membership"]["joined"] == 2);
  CHECK(summary["gradients_applied"].get<long long>() > 0);
}

TEST_CASE("ormo node: a node another authority certified cannot join and "
          "gives up in time") {
  auto deadline = clock::now() + std::chrono::seconds{20};
  topology shape;
  shape.run = "stop_seconds = 4";
  shape.connect_timeout = "1s";
  shape.workers_b = 0;
  shape.network_extra = tls_lines("node");
  node_fixture nodes("tls_stranger", shape);
  auto& server = nodes.start_server(deadline);
  auto dir = std::filesystem::absolute("data/tls");
  auto started = clock::now();
  auto& stranger = nodes.start(
    "wa", {"--set", "network.certificate=\"" + (dir / "stranger.pem").string()
                      + "\"",
           "--set",
           "network.key=\"" + (dir / "stranger.key").string() + "\""});
  auto refused = stranger.finish(started + std::chrono::seconds{10});
  auto elapsed
    = std::chrono::duration<double>(clock::now() - started).count();
  MESSAGE("the stranger gave up after " << elapsed << " s");
  REQUIRE_FALSE(refused.timed_out);
  CHECK(refused.exit_status == 1);
  CHECK(refused.out.find("enlisted") == std::string::npos);
  CHECK_MESSAGE(refused.err.find("server (" + nodes.endpoint() + ")")
                  != std::string::npos,
                refused.err);
  // The server never had a worker; it ends by itself at its stop rule.
  auto ended = server.finish(deadline);
  CHECK_FALSE(ended.timed_out);
}
