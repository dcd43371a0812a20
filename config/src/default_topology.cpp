#include "ormo/config/parse_run_config.hpp"

namespace ormo::config {

namespace {

// Keep in step with examples/default.toml (a test checks that both give the
// same run). Tune the run here: this is the only copy in the code.
constexpr std::string_view default_topology_text = R"toml(
# The built-in default run (what `ormo` runs without a topology file; the
# same text as ormo::config::default_topology()). A small, fast problem:
# a synthetic 10-class task, a 128-256-128-10 MLP, 4 equally fast
# workers, OrMo. Finishes in about 5 s on 2 cores.

[run]
seed = 1
deterministic = false
stop_epochs = 20         # passes over the training set

[algorithm]
name = "ormo"
learning_rate = 0.1
momentum = 0.9
iteration_size = "workers"   # K follows the number of live workers
apply = "on_arrival"

[model]
kind = "mlp"
hidden = [256, 128]
batch_size = 32

[data]
source = "synthetic"
inputs = 128
classes = 10
train_samples = 60000
test_samples = 10000
noise = 0.5

[workers]
count = 4

[workers.speed]
profile = "uniform"

[server]
shards = 1

[output]
dir = "ormo-out"
progress_seconds = 2
evaluations_per_epoch = 4
)toml";

} // namespace

std::string_view default_topology() {
  // Drop the line break after the opening delimiter: line numbers in error
  // messages then match examples/default.toml.
  return default_topology_text.substr(1);
}

result<run_config>
default_run_config(const std::vector<setting_override>& overrides) {
  return parse_run_config(default_topology(), "<built-in>", overrides);
}

} // namespace ormo::config
