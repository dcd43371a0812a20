// Tensors larger than network.chunk_kib cross nodes in chunks: a run whose
// parameters (2826 values, about 11 KiB) are larger than a 4 KiB chunk
// trains across processes as one without chunks does.
#include <chrono>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "nodes/nodes_testing.hpp"

using namespace ormo::test;

TEST_CASE("ormo node: parameters larger than a chunk cross nodes in chunks") {
  auto deadline = clock::now() + std::chrono::seconds{20};
  topology shape;
  shape.run = "stop_seconds = 2";
  shape.network_extra = "chunk_kib = 4\n";
  node_fixture nodes("chunked", shape);
  auto summary = nodes.run_to_end(deadline);
  CHECK(summary["membership"]["joined"] == 2);
  CHECK(summary["gradients_applied"].get<long long>() > 100);
  CHECK(summary["gradients_rejected"].empty());
  CHECK(summary["final_test_accuracy"].get<double>() > 0.5);
}
