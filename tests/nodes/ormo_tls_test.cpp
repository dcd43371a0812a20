// TLS between nodes (network.tls) with the test certificates of
// tests/data/tls: nodes whose certificates one authority signed train
// together; a node whose certificate another authority signed, or one
// without TLS, is refused, gives up within its own deadline instead of
// hanging in CAF 0.17's handshake, and leaves the nodes it tried undisturbed.
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

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

TEST_CASE("ormo node: a node another authority certified and a node "
          "without TLS cannot join, give up in time, and leave the run "
          "undisturbed") {
  auto deadline = clock::now() + std::chrono::seconds{40};
  topology shape;
  shape.run = "stop_seconds = 8";
  shape.connect_timeout = "1s";
  shape.network_extra = tls_lines("node");
  node_fixture nodes("tls_strangers", shape);
  auto& server = nodes.start_server(deadline);
  auto& wa = nodes.start("wa");
  REQUIRE_MESSAGE(wa.wait_for_output("enlisted", deadline), wa.err());
  auto dir = std::filesystem::absolute("data/tls");
  std::vector<std::vector<std::string>> strangers{
    {"--set",
     "network.certificate=\"" + (dir / "stranger.pem").string() + "\"",
     "--set", "network.key=\"" + (dir / "stranger.key").string() + "\""},
    {"--set", "network.tls=false"}};
  for (const auto& arguments : strangers) {
    CAPTURE(arguments.back());
    auto started = clock::now();
    auto& stranger = nodes.start("wb", arguments);
    auto refused = stranger.finish(started + std::chrono::seconds{10});
    MESSAGE("gave up after "
            << std::chrono::duration<double>(clock::now() - started).count()
            << " s");
    REQUIRE_FALSE(refused.timed_out);
    CHECK(refused.exit_status == 1);
    CHECK(refused.out.find("enlisted") == std::string::npos);
    CHECK_MESSAGE(refused.err.find("server (" + nodes.endpoint() + ")")
                    != std::string::npos,
                  refused.err);
  }
  // The server still trains with wa, and takes the right wb.
  auto from = server.out().size();
  auto last = progress_lines(server.out()).empty()
                ? 0
                : progress_lines(server.out()).back().iteration;
  REQUIRE_MESSAGE(server.wait_until(progress_with(1, last + 1, from), deadline),
                  server.out() << server.err());
  auto& wb = nodes.start("wb");
  REQUIRE_MESSAGE(wb.wait_for_output("enlisted", deadline), wb.err());
  auto ended = server.finish(deadline);
  REQUIRE_MESSAGE(ended.exit_status == 0, ended.out << ended.err);
  for (auto* worker : {&wa, &wb})
    CHECK(worker->finish(deadline).exit_status == 0);
  auto summary
    = nlohmann::json::parse(read_text(nodes.out_dir() / "summary.json"));
  CHECK(summary["membership"]["joined"] == 2);
  CHECK(summary["membership"]["lost"] == 0);
}
