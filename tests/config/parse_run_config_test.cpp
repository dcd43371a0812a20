#include "ormo/config/parse_run_config.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include <unistd.h>

#include <doctest/doctest.h>

#include "config/config_testing.hpp"

using namespace ormo;
using namespace ormo::config;
using namespace ormo::config::testing;

TEST_CASE("a file with only a stop rule gets every default") {
  auto config = parse_ok(minimal);
  run_config defaults;
  defaults.run.stop.epochs = 1;
  check_same(config, defaults);
  CHECK(config.source == "t.toml");
  // The documented defaults themselves.
  CHECK(config.run.seed == 1);
  CHECK_FALSE(config.run.deterministic);
  CHECK(config.algorithm.settings.name == optim::algorithm::ormo);
  CHECK(config.algorithm.settings.learning_rate == 0.1);
  CHECK(config.algorithm.settings.momentum == 0.9);
  CHECK(config.algorithm.settings.apply == optim::apply_mode::on_arrival);
  CHECK_FALSE(config.algorithm.iteration_size.has_value());
  CHECK(config.model.kind == model::model_kind::mlp);
  CHECK(config.model.hidden == std::vector<int>{64});
  CHECK(config.data.source == data_source::synthetic);
  CHECK(config.workers.count == 4);
  CHECK(config.workers.speed.profile == speed_profile::uniform);
  CHECK(config.workers.speed.factors.empty());
  CHECK(config.server.shards == 1);
  CHECK(config.output.dir == "ormo-out");
}

TEST_CASE("every key is read") {
  auto c = parse_ok(every_key);
  CHECK(c.run.seed == 42);
  CHECK(c.run.deterministic);
  CHECK(c.run.stop.epochs == 2.5);
  CHECK(c.run.stop.iterations == 1000);
  CHECK(c.run.stop.seconds == 90);
  CHECK(c.run.stop.accuracy == 0.85);
  CHECK(c.algorithm.settings.name == optim::algorithm::ormo_da);
  CHECK(c.algorithm.settings.learning_rate == 0.05);
  CHECK(c.algorithm.settings.momentum == 0.8);
  CHECK(c.algorithm.iteration_size == 8);
  CHECK(c.algorithm.settings.delay_threshold == 3.5);
  CHECK(c.algorithm.settings.apply == optim::apply_mode::on_close);
  CHECK(c.algorithm.warmup_iterations == 20);
  CHECK(c.model.kind == model::model_kind::mlp);
  CHECK(c.model.hidden == std::vector<int>{128, 32});
  CHECK(c.model.batch_size == 16);
  CHECK(c.data.source == data_source::fashion_mnist);
  CHECK(c.data.path == "/data/fmnist");
  CHECK(c.data.inputs == 20);
  CHECK(c.data.classes == 5);
  CHECK(c.data.train_samples == 3000);
  CHECK(c.data.test_samples == 500);
  CHECK(c.data.noise == 0.25);
  CHECK(c.workers.count == 3);
  CHECK(c.workers.compute_ms == 2.5);
  CHECK(c.workers.compute_jitter == 0.3);
  CHECK(c.workers.restart_limit == 7);
  CHECK(c.workers.request_timeout_s == 12.5);
  CHECK(c.workers.pushes_in_flight == 3);
  CHECK(c.workers.speed.profile == speed_profile::factors);
  CHECK(c.workers.speed.factors == std::vector<double>{1, 2.5, 4});
  CHECK(c.workers.speed.fraction == 0.5);
  CHECK(c.workers.speed.factor == 3);
  CHECK(c.workers.speed.sigma == 0.75);
  CHECK(c.server.shards == 4);
  CHECK(c.output.dir == "runs/every key");
  CHECK(c.output.progress_seconds == 0.5);
  CHECK(c.output.evaluations_per_epoch == 2);
}

TEST_CASE("each enumeration name is accepted") {
  for (auto [name, expected] :
       {std::pair{"ssgdm", optim::algorithm::ssgdm},
        std::pair{"asgd", optim::algorithm::asgd},
        std::pair{"asgd-da", optim::algorithm::asgd_da},
        std::pair{"naive-asgdm", optim::algorithm::naive_asgdm},
        std::pair{"ormo", optim::algorithm::ormo},
        std::pair{"ormo-da", optim::algorithm::ormo_da},
        std::pair{"shifted-momentum", optim::algorithm::shifted_momentum},
        std::pair{"smega2", optim::algorithm::smega2}}) {
    auto c = parse_ok(std::string{minimal} + "[algorithm]\nname = \"" + name
                      + "\"\n");
    CHECK(c.algorithm.settings.name == expected);
  }
  for (auto [name, expected] :
       {std::pair{"uniform", speed_profile::uniform},
        std::pair{"slow_fraction", speed_profile::slow_fraction},
        std::pair{"lognormal", speed_profile::lognormal}}) {
    auto c = parse_ok(std::string{minimal} + "[workers.speed]\nprofile = \""
                      + name + "\"\n");
    CHECK(c.workers.speed.profile == expected);
  }
  auto c = parse_ok(std::string{minimal}
                    + "[data]\nsource = \"synthetic\"\n[model]\nkind = "
                      "\"softmax\"\n");
  CHECK(c.data.source == data_source::synthetic);
  CHECK(c.model.kind == model::model_kind::softmax);
}

TEST_CASE("integers are accepted where floats are expected") {
  auto c = parse_ok(std::string{minimal}
                    + "[algorithm]\nlearning_rate = 1\nmomentum = 0\n");
  CHECK(c.algorithm.settings.learning_rate == 1.0);
  CHECK(c.algorithm.settings.momentum == 0.0);
}

TEST_CASE("iteration_size is workers or an integer") {
  auto follows = parse_ok(std::string{minimal}
                          + "[algorithm]\niteration_size = \"workers\"\n");
  CHECK_FALSE(follows.algorithm.iteration_size.has_value());
  auto fixed
    = parse_ok(std::string{minimal} + "[algorithm]\niteration_size = 12\n");
  REQUIRE(fixed.algorithm.iteration_size.has_value());
  CHECK(*fixed.algorithm.iteration_size == 12);
  CHECK(error_of(std::string{minimal} + "[algorithm]\niteration_size = 12.0\n")
        == "t.toml:4:18: algorithm.iteration_size: expected \"workers\" or "
           "an integer, got a float");
}

TEST_CASE("softmax has no hidden layers") {
  auto absent
    = parse_ok(std::string{minimal} + "[model]\nkind = \"softmax\"\n");
  CHECK(absent.model.hidden.empty());
  auto empty = parse_ok(std::string{minimal}
                        + "[model]\nkind = \"softmax\"\nhidden = []\n");
  CHECK(empty.model.hidden.empty());
  auto mlp_without_hidden
    = parse_ok(std::string{minimal} + "[model]\nhidden = []\n");
  CHECK(mlp_without_hidden.model.kind == model::model_kind::mlp);
  CHECK(mlp_without_hidden.model.hidden.empty());
}

TEST_CASE("each stop rule but accuracy alone is enough") {
  for (auto rule :
       {"stop_epochs = 0.5", "stop_iterations = 10", "stop_seconds = 3"}) {
    auto c = parse_ok(std::string{"[run]\n"} + rule + "\n");
    auto& stop = c.run.stop;
    CHECK((stop.epochs > 0) + (stop.iterations > 0) + (stop.seconds > 0)
            + (stop.accuracy > 0)
          == 1);
  }
}

TEST_CASE("the source name defaults to a placeholder") {
  auto parsed = parse_run_config(minimal, "");
  REQUIRE(parsed.has_value());
  CHECK(parsed->source == "<string>");
  auto bad = parse_run_config("[run]\nstop_epochs = -1\n", "");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message().rfind("<string>:2:15: run.stop_epochs:", 0) == 0);
}

// -- overrides ---------------------------------------------------------------

TEST_CASE("parse_override splits at the first equals sign") {
  auto simple = parse_override("algorithm.learning_rate=0.05");
  REQUIRE(simple.has_value());
  CHECK(simple->key_path == "algorithm.learning_rate");
  CHECK(simple->value == "0.05");
  auto spaced = parse_override("  output.dir =  a=b ");
  REQUIRE(spaced.has_value());
  CHECK(spaced->key_path == "output.dir");
  CHECK(spaced->value == "a=b");
  auto empty_value = parse_override("output.dir=");
  REQUIRE(empty_value.has_value());
  CHECK(empty_value->value.empty());
}

TEST_CASE("parse_override rejects text that is not key.path=value") {
  for (auto text : {"algorithm.learning_rate", "=3", " =3", "a..b=1", ".a=1",
                    "a.=1", "a b=1", "a.\"b\"=1"}) {
    auto parsed = parse_override(text);
    INFO(text);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error().code() == status_code::invalid_argument);
    CHECK(parsed.error().message().rfind("--set: ", 0) == 0);
  }
  CHECK(parse_override("workers.count").error().message()
        == "--set: workers.count: expected key.path=value");
}

TEST_CASE("overrides take numbers booleans and quoted strings as TOML") {
  auto c = parse_ok(minimal, {{"algorithm.learning_rate", "0.05"},
                              {"workers.count", "8"},
                              {"run.deterministic", "true"},
                              {"data.path", "\"/x y\""},
                              {"algorithm.momentum", "0"}});
  CHECK(c.algorithm.settings.learning_rate == 0.05);
  CHECK(c.workers.count == 8);
  CHECK(c.run.deterministic);
  CHECK(c.data.path == "/x y");
  CHECK(c.algorithm.settings.momentum == 0);
}

TEST_CASE("overrides take other text as a bare string") {
  auto c = parse_ok(minimal, {{"algorithm.name", "asgd"},
                              {"algorithm.iteration_size", "workers"},
                              {"data.path", "/tmp/fashion mnist"},
                              {"workers.speed.profile", "lognormal"}});
  CHECK(c.algorithm.settings.name == optim::algorithm::asgd);
  CHECK_FALSE(c.algorithm.iteration_size.has_value());
  CHECK(c.data.path == "/tmp/fashion mnist");
  CHECK(c.workers.speed.profile == speed_profile::lognormal);
  // A string key takes the text as it is even if it reads as a number.
  auto numeric = parse_ok(minimal, {{"output.dir", "2024"}});
  CHECK(numeric.output.dir == "2024");
}

TEST_CASE("overrides take arrays") {
  auto c = parse_ok(minimal, {{"model.hidden", "[128, 64, 32]"},
                              {"workers.count", "2"},
                              {"workers.speed.profile", "factors"},
                              {"workers.speed.factors", "[1, 3.5]"}});
  CHECK(c.model.hidden == std::vector<int>{128, 64, 32});
  CHECK(c.workers.speed.factors == std::vector<double>{1, 3.5});
  auto none = parse_ok(minimal, {{"model.hidden", "[]"}});
  CHECK(none.model.hidden.empty());
}

TEST_CASE("overrides replace file values and apply before validation") {
  // momentum = 1.5 alone is an error; the override fixes it.
  std::string text = std::string{minimal}
                     + "[algorithm]\nmomentum = 1.5\n[workers]\ncount = 2\n";
  auto c = parse_ok(text, {{"algorithm.momentum", "0.5"}});
  CHECK(c.algorithm.settings.momentum == 0.5);
  CHECK(c.workers.count == 2);
  // A later override wins; a file with no stop rule gets one from --set.
  auto later = parse_ok("", {{"run.stop_iterations", "5"},
                             {"server.shards", "2"},
                             {"server.shards", "3"}});
  CHECK(later.run.stop.iterations == 5);
  CHECK(later.server.shards == 3);
}

TEST_CASE("bad override values are reported at --set") {
  CHECK(error_of(minimal, {{"algorithm.learning_rate", "-1"}})
        == "--set: algorithm.learning_rate: must be > 0, got -1");
  CHECK(error_of(minimal, {{"workers.count", "many"}})
        == "--set: workers.count: expected an integer, got a string");
  CHECK(error_of(minimal, {{"workers.count", "2.0"}})
        == "--set: workers.count: expected an integer, got a float");
  CHECK(error_of(minimal, {{"model.hidden", "[64, 0]"}})
        == "--set: model.hidden[1]: 0 is not in [1, 65536]");
  CHECK(error_of(minimal, {{"algorithm.name", "sgd"}})
        == "--set: algorithm.name: \"sgd\" is not one of ssgdm, asgd, "
           "asgd-da, naive-asgdm, ormo, ormo-da, shifted-momentum, smega2; "
           "did you mean \"asgd\"?");
  CHECK(error_of(minimal, {{"output.dir", ""}})
        == "--set: output.dir: must not be empty");
  // The file is fine; the override is at fault even inside a file table.
  CHECK(error_of("[run]\nstop_epochs = 1\n", {{"run.stop_epochs", "-2"}})
        == "--set: run.stop_epochs: -2 is not in [0, 1e+09]");
}

TEST_CASE("unknown override keys are errors") {
  CHECK(error_of(minimal, {{"algorithm.lerning_rate", "0.1"}})
        == "--set: algorithm.lerning_rate: unknown key; did you mean "
           "algorithm.learning_rate?");
  CHECK(error_of(minimal, {{"cluster.count", "2"}})
        == "--set: cluster.count: unknown key");
  CHECK(error_of(minimal, {{"nodes.port", "2"}})
        == "--set: nodes.port: nodes is an array of tables; set it in the "
           "file");
  CHECK(error_of(minimal, {{"shards", "2"}})
        == "--set: shards: unknown key; did you mean server.shards?");
  CHECK(error_of(minimal, {{"workers.speed", "1"}})
        == "--set: workers.speed: is a table; set its keys one by one, e.g. "
           "workers.speed.profile");
  CHECK(error_of(minimal, {{"workers.count.max", "1"}})
        == "--set: workers.count.max: workers.count is not a table");
  CHECK(error_of(minimal, {{"a..b", "1"}}).rfind("--set: a..b: ", 0) == 0);
}

TEST_CASE("an override below a file value that is not a table") {
  CHECK(
    error_of("workers = 3\n[run]\nstop_epochs = 1\n", {{"workers.count", "4"}})
    == "t.toml:1:11: workers: expected a table, got an integer");
}

TEST_CASE("file errors are still reported when overrides are given") {
  CHECK(error_of(std::string{minimal} + "[server]\nshard = 2\n",
                 {{"server.shards", "2"}})
        == "t.toml:4:1: server.shard: unknown key; did you mean "
           "server.shards?");
}

// -- to_toml -----------------------------------------------------------------

TEST_CASE("to_toml round-trips a config with every key changed") {
  auto original = parse_ok(every_key);
  auto text = to_toml(original);
  auto again = parse_ok(text);
  check_same(original, again);
  // The resolved text names where it came from, in a comment.
  CHECK(text.find("# ormo run configuration, resolved from t.toml.")
        != std::string::npos);
  CHECK(text.find("iteration_size = 8\n") != std::string::npos);
  CHECK(text.find("factors = [1.0, 2.5, 4.0]\n") != std::string::npos);
}

TEST_CASE("to_toml lists every key even at its default") {
  auto text = to_toml(parse_ok(minimal));
  for (auto line : {"[run]\n",
                    "seed = 1\n",
                    "deterministic = false\n",
                    "stop_epochs = 1.0\n",
                    "stop_iterations = 0\n",
                    "stop_seconds = 0.0\n",
                    "stop_accuracy = 0.0\n",
                    "[algorithm]\n",
                    "name = \"ormo\"\n",
                    "learning_rate = 0.1\n",
                    "momentum = 0.9\n",
                    "iteration_size = \"workers\"\n",
                    "delay_threshold = 2.0\n",
                    "apply = \"on_arrival\"\n",
                    "warmup_iterations = 0\n",
                    "[model]\n",
                    "kind = \"mlp\"\n",
                    "hidden = [64]\n",
                    "batch_size = 32\n",
                    "[data]\n",
                    "source = \"synthetic\"\n",
                    "path = \"",
                    "inputs = 32\n",
                    "classes = 10\n",
                    "train_samples = 20000\n",
                    "test_samples = 4000\n",
                    "noise = 0.5\n",
                    "[workers]\n",
                    "count = 4\n",
                    "compute_ms = 1.0\n",
                    "compute_jitter = 0.2\n",
                    "restart_limit = 3\n",
                    "request_timeout_s = 60.0\n",
                    "pushes_in_flight = 1\n",
                    "[workers.speed]\n",
                    "profile = \"uniform\"\n",
                    "factors = []\n",
                    "fraction = 0.25\n",
                    "factor = 4.0\n",
                    "sigma = 0.5\n",
                    "[server]\n",
                    "shards = 1\n",
                    "[output]\n",
                    "dir = \"ormo-out\"\n",
                    "progress_seconds = 2.0\n",
                    "evaluations_per_epoch = 4.0\n",
                    "[network]\n",
                    "heartbeat_interval = \"500ms\"\n",
                    "connection_timeout = \"5s\"\n",
                    "connect_timeout = \"30s\"\n"}) {
    INFO(line);
    CHECK(text.find(line) != std::string::npos);
  }
}

TEST_CASE("to_toml round-trips awkward numbers and strings") {
  auto c = parse_ok(minimal);
  c.source = "weird\nname";
  c.algorithm.settings.learning_rate = 1.0 / 3.0;
  c.algorithm.settings.momentum = 0.1 + 0.2;
  c.run.stop.seconds = 123456789.012;
  c.run.stop.epochs = 5e-324; // smallest subnormal
  c.workers.compute_ms = 12345.678901;
  c.run.seed = std::numeric_limits<std::int64_t>::max();
  c.run.stop.iterations = std::numeric_limits<std::int64_t>::max();
  c.output.dir = "quote\" back\\slash tab\t bell\a é";
  c.model.kind = model::model_kind::softmax;
  c.model.hidden.clear();
  auto again = parse_ok(to_toml(c));
  check_same(c, again);
}

TEST_CASE("to_toml round-trips softmax and the other speed profiles") {
  auto c = parse_ok(std::string{minimal}
                    + "[model]\nkind = \"softmax\"\n[workers.speed]\n"
                      "profile = \"slow_fraction\"\nfraction = 0.125\n");
  auto text = to_toml(c);
  CHECK(text.find("hidden = []\n") != std::string::npos);
  check_same(c, parse_ok(text));
}

// -- files -------------------------------------------------------------------

namespace {

/// A fresh path under the system's temporary directory, removed at exit.
struct temporary_path {
  std::filesystem::path path;
  explicit temporary_path(const std::string& name)
    : path(std::filesystem::temp_directory_path()
           / ("ormo-config-test-" + std::to_string(::getpid()) + "-" + name)) {}
  ~temporary_path() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

} // namespace

TEST_CASE("load_run_config reads a file and names it in errors") {
  temporary_path file{"topo.toml"};
  {
    std::ofstream out(file.path);
    out << "[run]\nstop_epochs = 2\n\n[workers]\ncount = 0\n";
  }
  auto bad = load_run_config(file.path.string());
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().message()
        == file.path.string() + ":5:9: workers.count: 0 is not in [1, 4096]");
  auto fixed = load_run_config(file.path.string(), {{"workers.count", "6"}});
  REQUIRE(fixed.has_value());
  CHECK(fixed->source == file.path.string());
  CHECK(fixed->workers.count == 6);
  CHECK(fixed->run.stop.epochs == 2);
}

TEST_CASE("load_run_config reports a missing file or a directory") {
  temporary_path missing{"missing.toml"};
  auto absent = load_run_config(missing.path.string());
  REQUIRE_FALSE(absent.has_value());
  CHECK(absent.error().code() == status_code::not_found);
  CHECK(absent.error().message().find(missing.path.string())
        != std::string::npos);
  temporary_path directory{"dir"};
  std::filesystem::create_directory(directory.path);
  auto not_a_file = load_run_config(directory.path.string());
  REQUIRE_FALSE(not_a_file.has_value());
  CHECK(not_a_file.error().code() == status_code::io_error);
  CHECK(not_a_file.error().message().find(directory.path.string())
        != std::string::npos);
}

TEST_CASE("load_run_config reads an endless file only to a bound") {
  auto endless = load_run_config("/dev/zero");
  REQUIRE_FALSE(endless.has_value());
  CHECK(endless.error().code() == status_code::invalid_argument);
  CHECK(endless.error().message()
        == "/dev/zero: larger than 16 MiB; a topology file is a few KiB");
  // Just below the bound, a file is read (and then parsed).
  temporary_path large{"large.toml"};
  {
    std::ofstream out(large.path);
    out << "[run]\nstop_epochs = 1\n"
        << std::string((std::size_t{1} << 24) - 64, '#') << "\n";
  }
  CHECK(load_run_config(large.path.string()).has_value());
}
