// Helpers shared by the config tests: parse-or-fail wrappers and a
// key-by-key comparison of run_configs through the schema.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "ormo/config/parse_run_config.hpp"
#include "ormo/config/schema.hpp"

namespace ormo::config::testing {

/// Parses `text` as "t.toml"; fails the test (showing the message) on error.
inline run_config parse_ok(std::string_view text,
                           const std::vector<setting_override>& overrides
                           = {}) {
  auto parsed = parse_run_config(text, "t.toml", overrides);
  INFO("text:\n" << text);
  INFO("error: " << parsed.error().message());
  REQUIRE(parsed.has_value());
  return std::move(parsed).value();
}

/// Parses `text` as "t.toml", requires invalid_argument, and returns the
/// message (always one line).
inline std::string error_of(std::string_view text,
                            const std::vector<setting_override>& overrides
                            = {}) {
  auto parsed = parse_run_config(text, "t.toml", overrides);
  INFO("text:\n" << text);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().code() == status_code::invalid_argument);
  const auto& message = parsed.error().message();
  CHECK(message.find('\n') == std::string::npos);
  return message;
}

/// `[run]` with a stop rule and nothing else: the smallest valid file.
inline constexpr std::string_view minimal = "[run]\nstop_epochs = 1\n";

/// Checks every field but `source`: every key of the schema.
inline void check_same(const run_config& a, const run_config& b) {
  std::string differing;
  for (const auto& path : differences(run_config_schema(), &a, &b))
    differing += " " + path;
  CHECK_MESSAGE(differing.empty(), "keys that differ:" << differing);
}

/// A file that sets every key to a value other than its default.
inline constexpr std::string_view every_key = R"(
[run]
seed = 42
deterministic = true
stop_epochs = 2.5
stop_iterations = 1000
stop_seconds = 90
stop_accuracy = 0.85

[algorithm]
name = "ormo-da"
learning_rate = 0.05
momentum = 0.8
iteration_size = 8
delay_threshold = 3.5
apply = "on_close"
warmup_iterations = 20

[model]
kind = "mlp"
hidden = [128, 32]
batch_size = 16

[data]
source = "fashion-mnist"
path = "/data/fmnist"
inputs = 20
classes = 5
train_samples = 3000
test_samples = 500
noise = 0.25

[workers]
count = 3
compute_ms = 2.5
compute_jitter = 0.3
restart_limit = 7
request_timeout_s = 12.5
retry_after_s = 1.5
pushes_in_flight = 3

[workers.speed]
profile = "factors"
factors = [1, 2.5, 4]
fraction = 0.5
factor = 3
sigma = 0.75

[server]
shards = 4

[output]
dir = "runs/every key"
progress_seconds = 0.5
evaluations_per_epoch = 2

[checkpoints]
every_iterations = 50
keep = 5
dir = "runs/every key/saved"

[network]
heartbeat_interval = "250ms"
connection_timeout = "2s"
connect_timeout = "1min"
chunk_kib = 64
tls = true
certificate = "data/tls/node.pem"
key = "data/tls/node.key"
cafile = "data/tls/ca.pem"

[[nodes]]
name = "ps"
host = "10.0.0.1"
port = 7301
shards = [0, 1]
supervisor = true
workers = 1

[[nodes]]
name = "ps-2.b"
host = "10.0.0.2"
port = 7302
shards = [2, 3]
workers = 2

[[faults]]
kind = "slow_worker"
target = "worker 1"
at_seconds = 1.5
duration_s = 2
factor = 3

[[faults]]
kind = "drop"
target = "worker 2 <-> shard 3"
at_iteration = 40
duration_s = 0.5
probability = 0.25

[[faults]]
kind = "delay"
target = "worker 0 <-> shard 1"
at_gradient = 100
duration_s = 1
delay_ms = 20
)";

} // namespace ormo::config::testing
