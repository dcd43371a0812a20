// Every way a topology can be wrong, and the exact one-line message for it:
// `FILE:LINE:COL: key.path: what is wrong`.
#include "ormo/config/parse_run_config.hpp"

#include <string>

#include <doctest/doctest.h>

#include "config/config_testing.hpp"

using namespace ormo;
using namespace ormo::config;
using namespace ormo::config::testing;

namespace {

struct bad_value {
  const char* table;
  const char* key;
  const char* value;
  const char* what;
};

/// A file with `key = value` on line 2, in `[table]`, and a stop rule.
std::string file_with(const bad_value& bad) {
  std::string text
    = std::string{"["} + bad.table + "]\n" + bad.key + " = " + bad.value + "\n";
  std::string stop = std::string{bad.key} == "stop_epochs"
                       ? "stop_iterations = 5\n"
                       : "stop_epochs = 1\n";
  if (std::string{bad.table} == "run")
    return text + stop;
  return text + "[run]\n" + stop;
}

/// The expected message: the value starts after "key = ".
std::string message_for(const bad_value& bad) {
  return "t.toml:2:" + std::to_string(std::string{bad.key}.size() + 4) + ": "
         + bad.table + "." + bad.key + ": " + bad.what;
}

void check_all(std::initializer_list<bad_value> cases) {
  for (const auto& bad : cases) {
    auto text = file_with(bad);
    CHECK(error_of(text) == message_for(bad));
  }
}

} // namespace

TEST_CASE("out-of-range values name the file line column and key") {
  check_all({
    {"run", "seed", "-1", "must be >= 0, got -1"},
    {"run", "stop_epochs", "-1", "-1 is not in [0, 1e+09]"},
    {"run", "stop_epochs", "1e300", "1e+300 is not in [0, 1e+09]"},
    {"run", "stop_epochs", "inf", "inf is not a finite number"},
    {"run", "stop_epochs", "nan", "nan is not a finite number"},
    {"run", "stop_iterations", "-3", "must be >= 0, got -3"},
    {"run", "stop_seconds", "-0.5", "-0.5 is not in [0, 1e+09]"},
    {"run", "stop_seconds", "1e300", "1e+300 is not in [0, 1e+09]"},
    {"run", "stop_accuracy", "1.5", "1.5 is not in [0, 1]"},
    {"run", "stop_accuracy", "-0.1", "-0.1 is not in [0, 1]"},
    {"algorithm", "learning_rate", "0", "must be > 0, got 0"},
    {"algorithm", "learning_rate", "-inf", "-inf is not a finite number"},
    {"algorithm", "momentum", "1.5", "1.5 is not in [0, 1)"},
    {"algorithm", "momentum", "1", "1 is not in [0, 1)"},
    {"algorithm", "momentum", "-0.1", "-0.1 is not in [0, 1)"},
    {"algorithm", "iteration_size", "0", "0 is not in [1, 65536]"},
    {"algorithm", "iteration_size", "100000", "100000 is not in [1, 65536]"},
    {"algorithm", "delay_threshold", "0", "must be > 0, got 0"},
    {"algorithm", "warmup_iterations", "-1", "must be >= 0, got -1"},
    {"model", "batch_size", "0", "0 is not in [1, 65536]"},
    {"data", "inputs", "0", "0 is not in [1, 1048576]"},
    {"data", "classes", "1", "1 is not in [2, 65536]"},
    {"data", "train_samples", "0", "0 is not in [1, 10000000]"},
    {"data", "test_samples", "20000000", "20000000 is not in [1, 10000000]"},
    {"data", "noise", "-1", "-1 is not in [0, 1e+06]"},
    {"data", "noise", "1e300", "1e+300 is not in [0, 1e+06]"},
    {"workers", "count", "0", "0 is not in [1, 4096]"},
    {"workers", "count", "5000", "5000 is not in [1, 4096]"},
    {"workers", "compute_ms", "0", "0 is not in (0, 1e+06]"},
    {"workers", "compute_jitter", "-0.1", "-0.1 is not in [0, 3]"},
    {"workers", "compute_jitter", "1000", "1000 is not in [0, 3]"},
    {"workers", "restart_limit", "-1", "must be >= 0, got -1"},
    {"workers", "restart_limit", "3000000000",
     "3000000000 is not in [0, 2147483647]"},
    {"workers", "request_timeout_s", "0", "0 is not in (0, 1e+06]"},
    {"workers", "request_timeout_s", "1e300", "1e+300 is not in (0, 1e+06]"},
    {"workers", "pushes_in_flight", "0", "0 is not in [1, 8]"},
    {"workers", "pushes_in_flight", "9", "9 is not in [1, 8]"},
    {"workers", "compute_ms", "1e300", "1e+300 is not in (0, 1e+06]"},
    {"workers.speed", "fraction", "1.5", "1.5 is not in [0, 1]"},
    {"workers.speed", "factor", "0.5", "0.5 is not in [1, 1e+06]"},
    {"workers.speed", "factor", "1e300", "1e+300 is not in [1, 1e+06]"},
    {"workers.speed", "sigma", "-1", "-1 is not in [0, 3]"},
    {"workers.speed", "sigma", "1000", "1000 is not in [0, 3]"},
    {"server", "shards", "0", "0 is not in [1, 256]"},
    {"server", "shards", "300", "300 is not in [1, 256]"},
    {"output", "dir", "\"\"", "must not be empty"},
    {"output", "progress_seconds", "0", "must be > 0, got 0"},
    {"output", "evaluations_per_epoch", "-1", "-1 is not in (0, 10000]"},
    {"output", "evaluations_per_epoch", "1e300", "1e+300 is not in (0, 10000]"},
  });
}

TEST_CASE("unknown names for enumerated keys list the choices") {
  check_all({
    {"algorithm", "name", "\"sgd\"",
     "\"sgd\" is not one of ssgdm, asgd, asgd-da, naive-asgdm, ormo, "
     "ormo-da, shifted-momentum, smega2; did you mean \"asgd\"?"},
    {"algorithm", "apply", "\"later\"",
     "\"later\" is not one of on_close, on_arrival"},
    {"algorithm", "iteration_size", "\"all\"",
     "expected \"workers\" or an integer, got \"all\""},
    {"model", "kind", "\"cnn\"", "\"cnn\" is not one of softmax, mlp"},
    {"data", "source", "\"mnist\"",
     "\"mnist\" is not one of synthetic, fashion-mnist"},
    {"workers.speed", "profile", "\"fast\"",
     "\"fast\" is not one of uniform, factors, slow_fraction, lognormal"},
  });
}

TEST_CASE("wrong types name what was expected and what was found") {
  check_all({
    {"run", "seed", "1.5", "expected an integer, got a float"},
    {"run", "deterministic", "1", "expected a boolean, got an integer"},
    {"run", "deterministic", "\"yes\"", "expected a boolean, got a string"},
    {"run", "stop_iterations", "2.0", "expected an integer, got a float"},
    {"algorithm", "name", "3", "expected a string, got an integer"},
    {"algorithm", "learning_rate", "\"fast\"",
     "expected a number, got a string"},
    {"algorithm", "momentum", "true", "expected a number, got a boolean"},
    {"algorithm", "iteration_size", "2.5",
     "expected \"workers\" or an integer, got a float"},
    {"model", "batch_size", "\"32\"", "expected an integer, got a string"},
    {"model", "hidden", "64", "expected an array, got an integer"},
    {"data", "path", "1", "expected a string, got an integer"},
    {"workers", "count", "1979-05-27", "expected an integer, got a date"},
    {"workers", "count", "[4]", "expected an integer, got an array"},
    {"workers", "compute_ms", "07:32:00", "expected a number, got a time"},
    {"workers", "compute_ms", "{ ms = 1 }", "expected a number, got a table"},
    {"workers.speed", "factors", "2", "expected an array, got an integer"},
    {"output", "dir", "5", "expected a string, got an integer"},
  });
}

TEST_CASE("bad array elements are named by index at their own column") {
  CHECK(error_of("[model]\nhidden = [64, 0]\n[run]\nstop_epochs = 1\n")
        == "t.toml:2:15: model.hidden[1]: 0 is not in [1, 65536]");
  CHECK(error_of("[model]\nhidden = [64,\n  2.5]\n[run]\nstop_epochs = 1\n")
        == "t.toml:3:3: model.hidden[1]: expected an integer, got a float");
  CHECK(error_of("[workers]\ncount = 2\n[workers.speed]\nprofile = "
                 "\"factors\"\nfactors = [1, \"x\"]\n[run]\nstop_epochs = 1\n")
        == "t.toml:5:15: workers.speed.factors[1]: expected a number, got a "
           "string");
  CHECK(error_of("[workers]\ncount = 2\n[workers.speed]\nprofile = "
                 "\"factors\"\nfactors = [0.5, 1]\n[run]\nstop_epochs = 1\n")
        == "t.toml:5:12: workers.speed.factors[0]: 0.5 is not in [1, 1e+06]");
}

TEST_CASE("a run without a stop rule is an error") {
  CHECK(error_of("")
        == "t.toml:1:1: run: no stop rule; set one of run.stop_epochs, "
           "run.stop_iterations, run.stop_seconds, run.stop_accuracy to a "
           "value > 0");
  // With a [run] table, the message points at it.
  auto message = error_of("[workers]\ncount = 2\n\n[run]\nseed = 3\n"
                          "stop_epochs = 0\n");
  CHECK(message.rfind("t.toml:4:1: run: no stop rule;", 0) == 0);
}

TEST_CASE("rules that tie keys together point at the offending key") {
  CHECK(error_of(std::string{minimal}
                 + "[model]\nkind = \"softmax\"\nhidden = [32]\n")
        == "t.toml:5:10: model.hidden: softmax has no hidden layers; remove "
           "model.hidden or set model.kind = \"mlp\"");
  CHECK(error_of(std::string{minimal}
                 + "[workers]\ncount = 3\n[workers.speed]\n"
                   "profile = \"factors\"\nfactors = [1, 2]\n")
        == "t.toml:7:11: workers.speed.factors: 2 factors for 3 workers "
           "(workers.count)");
  CHECK(
    error_of(std::string{minimal} + "[workers.speed]\nprofile = \"factors\"\n")
    == "t.toml:4:11: workers.speed.profile: \"factors\" needs "
       "workers.speed.factors, one factor per worker");
  CHECK(error_of(std::string{minimal}
                 + "[workers.speed]\nprofile = \"lognormal\"\n"
                   "factors = [1, 1, 1, 1]\n")
        == "t.toml:5:11: workers.speed.factors: only used with profile = "
           "\"factors\"");
  CHECK(error_of(std::string{minimal}
                 + "[data]\nsource = \"fashion-mnist\"\npath = \"\"\n")
        == "t.toml:5:8: data.path: must name the fashion-mnist directory");
  // The synchronous reference's servers answer only when the iteration
  // closes: a worker must not compute ahead, whichever key comes last.
  CHECK(error_of(std::string{minimal}
                 + "[algorithm]\nname = \"ssgdm\"\n"
                   "[workers]\npushes_in_flight = 2\n")
        == "t.toml:6:20: workers.pushes_in_flight: 2 with algorithm.name = "
           "\"ssgdm\"; the synchronous reference needs 1 (its servers answer "
           "a push only when the iteration closes)");
  CHECK(error_of(std::string{minimal} + "[workers]\npushes_in_flight = 8\n",
                 {{"algorithm.name", "\"ssgdm\""}})
          .find("workers.pushes_in_flight: 8 with algorithm.name = \"ssgdm\"")
        != std::string::npos);
  // 1 is today's loop, so ssgdm takes it; the others take any.
  parse_ok(std::string{minimal}
           + "[algorithm]\nname = \"ssgdm\"\n"
             "[workers]\npushes_in_flight = 1\n");
  for (const char* name : {"asgd", "asgd-da", "naive-asgdm", "ormo", "ormo-da",
                           "shifted-momentum", "smega2"})
    CHECK(parse_ok(std::string{minimal} + "[algorithm]\nname = \"" + name
                   + "\"\n[workers]\npushes_in_flight = 8\n")
            .workers.pushes_in_flight
          == 8);
  // The factor count follows workers.count, also when --set changes it.
  CHECK(error_of(std::string{minimal}
                   + "[workers]\ncount = 2\n[workers.speed]\n"
                     "profile = \"factors\"\nfactors = [1, 2]\n",
                 {{"workers.count", "3"}})
        == "t.toml:7:11: workers.speed.factors: 2 factors for 3 workers "
           "(workers.count)");
}

TEST_CASE("unknown keys are errors with a suggestion for a likely typo") {
  CHECK(error_of("[run]\nstop_epochs = 1\n[workers]\ncuont = 3\n")
        == "t.toml:4:1: workers.cuont: unknown key; did you mean "
           "workers.count?");
  CHECK(error_of("[run]\nstop_epochs = 1\n[workers.speed]\nprofil = "
                 "\"uniform\"\n")
        == "t.toml:4:1: workers.speed.profil: unknown key; did you mean "
           "workers.speed.profile?");
  CHECK(error_of("[run]\nstop_epochs = 1\nfrobnicate = true\n")
        == "t.toml:3:1: run.frobnicate: unknown key");
  // The same name in another table.
  CHECK(error_of("[run]\nstop_epochs = 1\n[workers]\nshards = 2\n")
        == "t.toml:4:1: workers.shards: unknown key; did you mean "
           "server.shards?");
}

TEST_CASE("unknown tables are errors at the top level and nested") {
  CHECK(error_of("[run]\nstop_epochs = 1\n\n[wrokers]\ncount = 2\n")
        == "t.toml:4:2: wrokers: unknown table; did you mean workers?");
  CHECK(error_of("[run]\nstop_epochs = 1\n[events]\nevery = 10\n")
        == "t.toml:3:2: events: unknown table");
  CHECK(error_of("[run]\nstop_epochs = 1\n[faults]\nkind = \"drop\"\n")
        == "t.toml:3:1: faults: expected an array of tables, got a table");
  CHECK(error_of("[run]\nstop_epochs = 1\n[workers.sped]\nprofile = "
                 "\"uniform\"\n")
        == "t.toml:3:10: workers.sped: unknown table; did you mean "
           "workers.speed?");
  CHECK(error_of("seed = 3\n[run]\nstop_epochs = 1\n")
        == "t.toml:1:1: seed: unknown key; did you mean run.seed?");
  CHECK(error_of("[run]\nstop_epochs = 1\nnested.key = 1\n")
        == "t.toml:3:1: run.nested: unknown table");
}

TEST_CASE("the first unknown key in the file is reported") {
  // toml++ keeps keys sorted; the report follows the file order.
  CHECK(error_of("[run]\nstop_epochs = 1\nzz = 1\n[algorithm]\naa = 2\n")
        == "t.toml:3:1: run.zz: unknown key");
  // Unknown keys come before bad values.
  CHECK(error_of("[run]\nstop_epochs = -1\n[output]\nzz = 1\n")
        == "t.toml:4:1: output.zz: unknown key");
}

TEST_CASE("tables and values in each other's place are errors") {
  CHECK(error_of("run = 5\n")
        == "t.toml:1:7: run: expected a table, got an "
           "integer");
  CHECK(error_of("[[run]]\nstop_epochs = 1\n").rfind("t.toml:1:", 0) == 0);
  CHECK(error_of("[[run]]\nstop_epochs = 1\n")
          .find("run: expected a table, "
                "got an array")
        != std::string::npos);
  CHECK(error_of("[run]\nstop_epochs = 1\n[algorithm.name]\nx = 1\n")
        == "t.toml:3:1: algorithm.name: expected a string, got a table");
  CHECK(error_of("[run]\nstop_epochs = 1\n[workers]\nspeed = \"fast\"\n")
        == "t.toml:4:9: workers.speed: expected a table, got a string");
}

TEST_CASE("syntax errors carry the parser's position and description") {
  auto message = error_of("[run]\nstop_epochs = 1\nseed = \n");
  CHECK(message.rfind("t.toml:3:8: invalid TOML: ", 0) == 0);
  CHECK(message.size() > std::string{"t.toml:3:8: invalid TOML: "}.size());
  auto duplicate = error_of("[run]\nstop_epochs = 1\nstop_epochs = 2\n");
  CHECK(duplicate.rfind("t.toml:3:", 0) == 0);
  CHECK(duplicate.find("invalid TOML: ") != std::string::npos);
  CHECK(duplicate.find("stop_epochs") != std::string::npos);
  auto unclosed = error_of("[run\nstop_epochs = 1\n");
  CHECK(unclosed.rfind("t.toml:1:", 0) == 0);
}

TEST_CASE("values finite in TOML but not in the float they feed are errors") {
  auto with = [](const std::string& algorithm) {
    return "[run]\nstop_epochs = 1\n[algorithm]\n" + algorithm + "\n";
  };
  CHECK(error_of(with("learning_rate = 1e39"))
        == "t.toml:4:17: algorithm.learning_rate: 1e+39 overflows a float "
           "(the updates compute in float; at most 3.4e+38)");
  CHECK(error_of(with("learning_rate = 1e-50"))
        == "t.toml:4:17: algorithm.learning_rate: 1e-50 is 0 as a float (the "
           "updates compute in float; at least 1.4e-45)");
  CHECK(error_of(with("momentum = 0.99999999999"))
        == "t.toml:4:12: algorithm.momentum: 0.99999999999 is 1 as a float "
           "(the updates compute in float); it must stay below 1");
  parse_ok(with("learning_rate = 3e38"));
  parse_ok(with("momentum = 0.9999999"));
}

TEST_CASE("sizes the data and model cannot have are errors before loading") {
  // softmax on 1 input and 2 classes: 4 parameters.
  auto tiny = std::string{"[run]\nstop_epochs = 1\n[model]\nkind = "
                          "\"softmax\"\n[data]\ninputs = 1\nclasses = 2\n"};
  CHECK(error_of(tiny + "[server]\nshards = 5\n")
        == "t.toml:9:10: server.shards: 5 shards for a model of 4 "
           "parameters; each shard needs at least one");
  parse_ok(tiny + "[server]\nshards = 4\n");
  CHECK(error_of(tiny + "train_samples = 3\n[workers]\ncount = 4\n")
        == "t.toml:8:17: data.train_samples: 3 samples for 4 workers "
           "(workers.count); each worker's shard needs at least one");
  parse_ok(tiny + "train_samples = 4\n[workers]\ncount = 4\n");
  CHECK(error_of("[run]\nstop_epochs = 1\n[model]\nhidden = [65536, 65536]\n")
        == "t.toml:4:10: model.hidden: a model of 4297850890 parameters is "
           "larger than the 2147483647 allowed");
}

TEST_CASE("combinations that can never finish are errors") {
  CHECK(error_of("[run]\nstop_accuracy = 0.9\n")
        == "t.toml:2:17: run.stop_accuracy: alone it may never be reached "
           "and the run would never end; also set run.stop_epochs, "
           "run.stop_iterations or run.stop_seconds as a bound");
  parse_ok("[run]\nstop_accuracy = 0.9\nstop_seconds = 60\n");
  CHECK(error_of("[run]\nstop_epochs = 1\n[algorithm]\nname = \"ssgdm\"\n"
                 "iteration_size = 5\n[workers]\ncount = 4\n")
        == "t.toml:5:18: algorithm.iteration_size: 5 with algorithm.name = "
           "\"ssgdm\" and 4 workers: its barrier waits for one gradient of "
           "each worker and would never open; use \"workers\" or at most "
           "workers.count");
  parse_ok("[run]\nstop_epochs = 1\n[algorithm]\nname = \"asgd\"\n"
           "iteration_size = 5\n[workers]\ncount = 4\n");
}

TEST_CASE("a deterministic gradient may not take virtual days") {
  auto det = std::string{"[run]\nstop_epochs = 1\ndeterministic = true\n"};
  parse_ok(det + "[workers]\ncompute_ms = 1e6\ncompute_jitter = 0\n");
  CHECK(error_of(det + "[workers]\ncompute_ms = 1e6\n")
        == "t.toml:5:14: workers.compute_ms: a gradient would take up to "
           "2225541 virtual ms (workers.compute_ms × the slowest speed "
           "factor × exp(4 × workers.compute_jitter)); at most 1e+06 in "
           "deterministic mode");
  CHECK(error_of(det
                 + "[workers.speed]\nprofile = \"slow_fraction\"\n"
                   "factor = 1e6\n")
          .rfind("t.toml:6:10: workers.speed.factor: a gradient would take "
                 "up to 2225541",
                 0)
        == 0);
  CHECK(error_of(det
                 + "[workers.speed]\nprofile = \"lognormal\"\n"
                   "sigma = 2\n")
          .rfind("t.toml:6:9: workers.speed.sigma: a gradient would", 0)
        == 0);
  // Real time: the same keys are fine (speeds are then measured slowdowns).
  parse_ok("[run]\nstop_epochs = 1\n[workers.speed]\nprofile = "
           "\"slow_fraction\"\nfactor = 1e6\n");
}
