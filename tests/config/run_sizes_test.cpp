// The sizes a configuration implies before anything is loaded, and the
// lower bound of the memory a run needs.
#include "ormo/config/run_sizes.hpp"

#include <cstdint>
#include <limits>

#include <doctest/doctest.h>

#include "config/config_testing.hpp"

using namespace ormo;
using namespace ormo::config;
using namespace ormo::config::testing;

TEST_CASE("run_sizes: synthetic data and an MLP") {
  auto c = parse_ok("[run]\nstop_epochs = 1\n[model]\nhidden = [64, 16]\n"
                    "[data]\ninputs = 32\nclasses = 10\ntrain_samples = 100\n"
                    "test_samples = 20\n");
  auto sizes = sizes_of(c);
  CHECK(sizes.inputs == 32);
  CHECK(sizes.classes == 10);
  CHECK(sizes.train_samples == 100);
  CHECK(sizes.test_samples == 20);
  CHECK(sizes.parameters == 64u * 33 + 16 * 65 + 10 * 17);
  CHECK(sizes.activations_per_sample == 64 + 16 + 10);
}

TEST_CASE("run_sizes: fashion-mnist as distributed, softmax") {
  auto c = parse_ok("[run]\nstop_epochs = 1\n[model]\nkind = \"softmax\"\n"
                    "[data]\nsource = \"fashion-mnist\"\n");
  auto sizes = sizes_of(c);
  CHECK(sizes.inputs == 784);
  CHECK(sizes.classes == 10);
  CHECK(sizes.train_samples == 60000);
  CHECK(sizes.test_samples == 10000);
  CHECK(sizes.parameters == 10u * 785);
}

TEST_CASE("minimum_memory_bytes: data, parameters per worker, batches") {
  auto c = parse_ok("[run]\nstop_epochs = 1\n[model]\nkind = \"softmax\"\n"
                    "batch_size = 8\n[data]\ninputs = 4\nclasses = 2\n"
                    "train_samples = 100\ntest_samples = 20\n");
  // 120 samples x 4 inputs; 10 parameters x (3 workers + the server); 3
  // batches of 8 x (4 inputs + 2 outputs); floats.
  CHECK(minimum_memory_bytes(c, 3) == 4 * (120 * 4 + 10 * 4 + 3 * 8 * 6));
  CHECK(minimum_memory_bytes(c, 6) > minimum_memory_bytes(c, 3));
}

TEST_CASE("minimum_memory_bytes saturates instead of overflowing") {
  // Beyond what validation allows: the bound must still not wrap around.
  run_config c;
  c.model.hidden = {65536, 65536, 65536, 65536, 65536};
  c.model.batch_size = 65536;
  c.data.inputs = 1 << 20;
  CHECK(minimum_memory_bytes(c, std::numeric_limits<std::uint64_t>::max())
        == std::numeric_limits<std::uint64_t>::max());
  CHECK(minimum_memory_bytes(c, 4096) > (std::uint64_t{1} << 40));
}
