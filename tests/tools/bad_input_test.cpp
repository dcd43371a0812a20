// The catalog of bad inputs (docs/bad-input.md), run against the real
// `ormo run` as a new user would: each gets the documented exit status, a
// one-line message naming what is wrong and where, and leaves the output
// directory as it was (a previous run in it stays whole; no staging
// directory is left behind). Tiny deterministic runs, so that the whole
// catalog takes seconds.
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "tools/process.hpp"
#include "tools/tools_testing.hpp"

using namespace ormo::test;
namespace fs = std::filesystem;

namespace {

using clock_type = child_process::clock;

/// A tiny deterministic run (a few milliseconds).
const std::string tiny_run = R"([run]
deterministic = true
stop_iterations = 20
[model]
kind = "softmax"
[data]
train_samples = 1000
test_samples = 200
[workers]
count = 2
)";

const std::string previous_metrics = "PREVIOUS RUN\n";

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE_MESSAGE(out.flush(), "cannot write " << path);
}

/// Fills `out` with what looks like an earlier run's outputs.
void write_previous_run(const fs::path& out) {
  fs::create_directories(out);
  write_text(out / "config.toml", "# previous\n");
  write_text(out / "metrics.csv", previous_metrics);
  write_text(out / "summary.json", "{\"previous\": true}\n");
}

/// True if `out` still holds exactly the run write_previous_run wrote.
bool holds_previous_run(const fs::path& out) {
  if (!fs::is_directory(out))
    return false;
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(out))
    ++entries;
  return entries == 3 && read_text(out / "metrics.csv") == previous_metrics
         && read_text(out / "config.toml") == "# previous\n";
}

/// The entries of `dir` left by a run besides the ones a test made
/// (staging directories, `out.failed`).
std::vector<std::string> leftovers(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    auto name = entry.path().filename().string();
    if (name.find(".staging-") != std::string::npos
        || name.find(".failed") != std::string::npos)
      names.push_back(name);
  }
  return names;
}

/// stderr without the hint line a usage error adds.
std::vector<std::string> message_lines(const std::string& err) {
  std::vector<std::string> lines;
  for (auto& line : lines_of(err))
    if (line.rfind("Run 'ormo", 0) != 0)
      lines.push_back(line);
  return lines;
}

/// One bad input: the topology file, extra arguments, and what it gets.
struct bad_input {
  std::string what;
  std::string file = tiny_run;
  std::vector<std::string> arguments;
  int exit_status = 2;
  /// A fragment of the one line on stderr.
  std::string message;
};

/// Runs every input with a previous run in its output directory: each gets
/// its exit status and message, and the previous run stays whole.
void check_refused(const std::string& group,
                   const std::vector<bad_input>& inputs) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& input = inputs[i];
    CAPTURE(input.what);
    auto dir = fresh_output_dir("bad_input/" + group + "/" + std::to_string(i));
    auto out = dir / "out";
    write_previous_run(out);
    write_text(dir / "topo.toml", input.file);
    std::vector<std::string> arguments = {
      ormo_binary, "run", (dir / "topo.toml").string(), "--out", out.string()};
    arguments.insert(arguments.end(), input.arguments.begin(),
                     input.arguments.end());
    auto result = run_process(arguments, std::chrono::seconds{30});
    CAPTURE(result.err);
    CHECK_FALSE(result.timed_out);
    CHECK(result.exit_status == input.exit_status);
    auto lines = message_lines(result.err);
    CHECK(lines.size() == 1);
    CHECK(result.err.find(input.message) != std::string::npos);
    CHECK(holds_previous_run(out));
    CHECK(leftovers(dir).empty());
  }
}

bad_input with_set(std::string what, std::string setting, std::string message) {
  bad_input input;
  input.what = std::move(what);
  input.arguments = {"--set", std::move(setting)};
  input.message = std::move(message);
  return input;
}

bad_input with_file(std::string what, std::string file, std::string message) {
  bad_input input;
  input.what = std::move(what);
  input.file = std::move(file);
  input.message = std::move(message);
  return input;
}

// -- Fashion-MNIST files, written plain (zlib reads plain files as they are)

std::string big_endian(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
          static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string idx_images(std::uint32_t count, std::uint32_t side) {
  std::string text{"\0\0\x08\x03", 4};
  text += big_endian(count) + big_endian(side) + big_endian(side);
  for (std::uint32_t k = 0; k < count * side * side; ++k)
    text += static_cast<char>(k * 7 % 251);
  return text;
}

std::string idx_labels(std::uint32_t count) {
  std::string text{"\0\0\x08\x01", 4};
  text += big_endian(count);
  for (std::uint32_t k = 0; k < count; ++k)
    text += static_cast<char>(k % 10);
  return text;
}

/// A small valid Fashion-MNIST directory (64 training, 16 test images).
fs::path write_fashion_mnist(const fs::path& dir) {
  auto data = dir / "data";
  fs::create_directories(data);
  write_text(data / "train-images-idx3-ubyte.gz", idx_images(64, 28));
  write_text(data / "train-labels-idx1-ubyte.gz", idx_labels(64));
  write_text(data / "t10k-images-idx3-ubyte.gz", idx_images(16, 28));
  write_text(data / "t10k-labels-idx1-ubyte.gz", idx_labels(16));
  return data;
}

std::string fashion_mnist_run(const fs::path& data) {
  return R"([run]
deterministic = true
stop_iterations = 5
[model]
kind = "softmax"
[data]
source = "fashion-mnist"
path = ")"
         + data.string() + "\"\n[workers]\ncount = 2\n";
}

/// Runs `file` with a previous run in dir/out.
process_result run_in(const fs::path& dir, const std::string& file,
                      std::vector<std::string> prefix = {}) {
  write_previous_run(dir / "out");
  write_text(dir / "topo.toml", file);
  auto arguments = std::move(prefix);
  for (const auto& argument :
       {ormo_binary, std::string{"run"}, (dir / "topo.toml").string(),
        std::string{"--out"}, (dir / "out").string()})
    arguments.push_back(argument);
  return run_process(arguments, std::chrono::seconds{30});
}

/// `ormo ...` through /bin/sh with `limits` (shell commands) first.
std::vector<std::string> shell_with(const std::string& limits) {
  return {"/bin/sh", "-c", limits + "; exec \"$@\"", "sh"};
}

} // namespace

TEST_CASE("bad input: malformed files and command lines") {
  check_refused(
    "files",
    {
      with_file("TOML syntax", "[run\nstop_iterations = 3\n",
                "topo.toml:1:5: invalid TOML"),
      with_file("binary garbage", std::string{"\0\x01\xff", 3}, "invalid TOML"),
      with_file("invalid UTF-8 in a string", "[output]\ndir = \"\xff\"\n",
                "topo.toml:2:"),
      with_file("empty file: no stop rule", "",
                "topo.toml:1:1: run: no stop rule"),
      with_file("a key defined twice", tiny_run + "[run]\nseed = 2\n",
                "cannot redefine existing table 'run'"),
      with_file("unknown table", tiny_run + "[modle]\nkind = \"mlp\"\n",
                "modle: unknown table; did you mean model?"),
      with_file("unknown key", tiny_run + "cuont = 3\n",
                "workers.cuont: unknown key; did you mean workers.count?"),
      with_file("a key outside its table", "stop_iterations = 3\n" + tiny_run,
                "stop_iterations: unknown key; did you mean "
                "run.stop_iterations?"),
      with_set("--set an unknown key", "workers.cuont=3",
               "--set: workers.cuont: unknown key"),
      with_set("--set a table", "workers=3", "--set: workers: is a table"),
      with_set("--set without a value", "workers.count=",
               "--set: workers.count: expected an integer, got a string"),
      with_set("--set without =", "workers.count",
               "--set: workers.count: expected key.path=value"),
      {"an extra argument", tiny_run, {"extra"}, 2, "extra"},
      {"an unknown option", tiny_run, {"--fast"}, 2, "--fast"},
    });
  auto dir = fresh_output_dir("bad_input/files/missing");
  auto missing
    = run_process({ormo_binary, "run", (dir / "nope.toml").string()});
  CHECK(missing.exit_status == 2);
  CHECK(missing.err.find("nope.toml: no such file") != std::string::npos);
  auto directory = run_process({ormo_binary, "run", dir.string()});
  CHECK(directory.exit_status == 2);
  CHECK(directory.err.find(": is a directory") != std::string::npos);
  // Read to a bound, not to the end (which never comes).
  auto endless = run_process({ormo_binary, "run", "/dev/zero"});
  CHECK(endless.exit_status == 2);
  CHECK(endless.err == "/dev/zero: larger than 16 MiB; a topology file is a "
                       "few KiB\n");
}

TEST_CASE("bad input: wrong types") {
  check_refused(
    "types",
    {
      with_set("string for int", "run.stop_iterations=\"10\"",
               "run.stop_iterations: expected an integer, got a string"),
      with_set("string for float", "algorithm.learning_rate=\"0.1\"",
               "algorithm.learning_rate: expected a number, got a string"),
      with_set("bool for float", "algorithm.momentum=true",
               "expected a number, got a boolean"),
      with_set("int for array", "model.hidden=64",
               "model.hidden: expected an array, got an integer"),
      with_set("strings in an int array", "model.hidden=[\"a\"]",
               "model.hidden[0]: expected an integer, got a string"),
      with_set("float for int", "model.batch_size=2.0",
               "model.batch_size: expected an integer, got a float"),
      with_set("string for bool", "run.deterministic=\"yes\"",
               "run.deterministic: expected a boolean, got a string"),
      with_set("integer overflow", "run.seed=99999999999999999999",
               "run.seed: expected an integer"),
      with_set("bare number for a duration", "network.heartbeat_interval=5",
               "expected a duration such as"),
      with_set("negative duration", "network.connect_timeout=-5s",
               "expected a duration such as"),
      with_set("date for float", "run.stop_seconds=1979-05-27",
               "run.stop_seconds: expected a number, got a date"),
      with_set("table for float", "run.stop_seconds={a=1}",
               "expected a number, got a table"),
      with_set("unknown algorithm", "algorithm.name=adam",
               "algorithm.name: \"adam\" is not one of"),
      with_set("unknown model", "model.kind=cnn",
               "model.kind: \"cnn\" is not one of"),
      with_set("unknown data source", "data.source=mnist",
               "data.source: \"mnist\" is not one of"),
      with_set("unknown speed profile", "workers.speed.profile=slow",
               "workers.speed.profile: \"slow\" is not one of"),
      with_set("unknown word for K", "algorithm.iteration_size=all",
               "expected \"workers\" or an integer"),
      with_set("NaN", "data.noise=nan", "data.noise: nan is not a finite"),
      with_set("infinity", "data.noise=inf", "data.noise: inf is not a finite"),
    });
}

TEST_CASE("bad input: values out of range") {
  check_refused(
    "ranges",
    {
      with_set("zero rate", "algorithm.learning_rate=0",
               "algorithm.learning_rate: must be > 0, got 0"),
      with_set("momentum 1", "algorithm.momentum=1",
               "algorithm.momentum: 1 is not in [0, 1)"),
      with_set("K 0", "algorithm.iteration_size=0",
               "algorithm.iteration_size: 0 is not in [1, 65536]"),
      with_set("negative warmup", "algorithm.warmup_iterations=-1",
               "must be >= 0, got -1"),
      with_set("batch 0", "model.batch_size=0",
               "model.batch_size: 0 is not in [1, 65536]"),
      with_set("batch 10^9", "model.batch_size=1000000000",
               "model.batch_size: 1000000000 is not in [1, 65536]"),
      with_set("hidden 0", "model.hidden=[0]", "model.hidden[0]: 0 is not in"),
      with_set("hidden 10^9", "model.hidden=[1000000000]",
               "model.hidden[0]: 1000000000 is not in [1, 65536]"),
      with_set("one class", "data.classes=1", "data.classes: 1 is not in"),
      with_set("no inputs", "data.inputs=0", "data.inputs: 0 is not in"),
      with_set("10^8 samples", "data.train_samples=100000000",
               "data.train_samples: 100000000 is not in [1, 10000000]"),
      with_set("no workers", "workers.count=0", "workers.count: 0 is not in"),
      with_set("4097 workers", "workers.count=4097",
               "workers.count: 4097 is not in [1, 4096]"),
      with_set("compute_ms 0", "workers.compute_ms=0",
               "workers.compute_ms: 0 is not in (0, 1e+06]"),
      with_set("pushes in flight 9", "workers.pushes_in_flight=9",
               "workers.pushes_in_flight: 9 is not in [1, 8]"),
      with_set("fraction 1.5", "workers.speed.fraction=1.5",
               "workers.speed.fraction: 1.5 is not in [0, 1]"),
      with_set("257 shards", "server.shards=257",
               "server.shards: 257 is not in [1, 256]"),
      with_set("negative epochs", "run.stop_epochs=-1",
               "run.stop_epochs: -1 is not in"),
      with_set("accuracy 1.5", "run.stop_accuracy=1.5",
               "run.stop_accuracy: 1.5 is not in [0, 1]"),
      with_set("empty output dir", "output.dir=\"\"",
               "output.dir: must not be empty"),
      with_set("softmax with hidden layers", "model.hidden=[8]",
               "model.hidden: softmax has no hidden layers"),
      with_file("no stop rule",
                "[run]\nseed = 3\n[model]\nkind = \"softmax\"\n",
                "topo.toml:1:1: run: no stop rule"),
    });
}

TEST_CASE("bad input: values that overflow what they feed") {
  check_refused(
    "overflow",
    {
      with_set("learning rate beyond float", "algorithm.learning_rate=1e39",
               "--set: algorithm.learning_rate: 1e+39 overflows a float"),
      with_set("learning rate below float", "algorithm.learning_rate=1e-50",
               "--set: algorithm.learning_rate: 1e-50 is 0 as a float"),
      with_set("momentum that is 1 as a float",
               "algorithm.momentum=0.99999999999",
               "algorithm.momentum: 0.99999999999 is 1 as a float"),
      with_set("noise whose variance overflows", "data.noise=1e300",
               "data.noise: 1e+300 is not in [0, 1e+06]"),
      with_set("speed factor 1e300", "workers.speed.factor=1e300",
               "workers.speed.factor: 1e+300 is not in [1, 1e+06]"),
      with_set("sigma 1000", "workers.speed.sigma=1000",
               "workers.speed.sigma: 1000 is not in [0, 3]"),
      with_set("jitter 1000", "workers.compute_jitter=1000",
               "workers.compute_jitter: 1000 is not in [0, 3]"),
      with_set("virtual days per gradient", "workers.compute_ms=1e6",
               "--set: workers.compute_ms: a gradient would take up to"),
      with_set("stop_seconds beyond the clock", "run.stop_seconds=1e300",
               "run.stop_seconds: 1e+300 is not in [0, 1e+09]"),
      with_set("stop_epochs beyond the counters", "run.stop_epochs=1e300",
               "run.stop_epochs: 1e+300 is not in [0, 1e+09]"),
      with_set("evaluations that never advance",
               "output.evaluations_per_epoch=1e300",
               "output.evaluations_per_epoch: 1e+300 is not in (0, 10000]"),
      with_set("restart limit beyond int", "workers.restart_limit=2147483648",
               "workers.restart_limit: 2147483648 is not in"),
    });
}

TEST_CASE("bad input: sizes refused before anything is allocated") {
  auto mlp = [](const std::string& model) {
    std::string file = tiny_run;
    file.replace(file.find("kind = \"softmax\""), 16,
                 "kind = \"mlp\"\n" + model);
    return file;
  };
  check_refused(
    "sizes",
    {
      with_file("a model of 4.3e9 parameters", mlp("hidden = [65536, 65536]"),
                "model.hidden: a model of 4297850890 parameters is larger "
                "than the 2147483647 allowed"),
      {"more shards than parameters",
       tiny_run,
       {"--set", "data.inputs=1", "--set", "data.classes=2", "--set",
        "server.shards=5"},
       2,
       "--set: server.shards: 5 shards for a model of 4 parameters"},
      with_set("fewer samples than workers", "data.train_samples=1",
               "--set: data.train_samples: 1 samples for 2 workers"),
    });
  // Beyond the memory here (4 GB of address space for the test).
  auto limited = shell_with("ulimit -v 4000000");
  struct memory_case {
    const char* what;
    std::string file;
    const char* keys;
  };
  std::vector<memory_case> cases = {
    {"activations of a 65536 batch",
     mlp("hidden = [65536]\nbatch_size = 65536"),
     "model.hidden, workers.count: the run needs at least"},
    {"2^32 synthetic values",
     "[run]\nstop_iterations = 2\ndeterministic = true\n[data]\n"
     "train_samples = 4096\ninputs = 1048576\n[workers]\ncount = 2\n",
     "data.inputs, data.train_samples, data.test_samples: the run needs at "
     "least"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    CAPTURE(cases[i].what);
    auto dir = fresh_output_dir("bad_input/memory/" + std::to_string(i));
    auto result = run_in(dir, cases[i].file, limited);
    CHECK(result.exit_status == 2);
    CHECK(message_lines(result.err).size() == 1);
    CHECK(result.err.find(cases[i].keys) != std::string::npos);
    CHECK(result.err.find("topo.toml") != std::string::npos);
    CHECK(holds_previous_run(dir / "out"));
    CHECK(leftovers(dir).empty());
  }
}

TEST_CASE("bad input: combinations that can never finish") {
  check_refused(
    "never",
    {
      with_file("accuracy alone",
                "[run]\nstop_accuracy = 1.0\n[model]\nkind = \"softmax\"\n",
                "run.stop_accuracy: alone it may never be reached"),
      {"ssgdm with K above the workers",
       tiny_run,
       {"--set", "algorithm.name=ssgdm", "--set", "algorithm.iteration_size=3"},
       2,
       "algorithm.iteration_size: 3 with algorithm.name = \"ssgdm\" and 2 "
       "workers"},
      {"ssgdm with pushes in flight",
       tiny_run,
       {"--set", "algorithm.name=ssgdm", "--set", "workers.pushes_in_flight=2"},
       2,
       "workers.pushes_in_flight: 2 with algorithm.name = \"ssgdm\""},
    });
}

TEST_CASE("bad input: truncated, swapped and mismatched data files") {
  struct data_case {
    const char* what;
    const char* file;
    std::string contents; // empty: remove; "<dir>": a directory
    const char* message;
  };
  std::vector<data_case> cases = {
    {"truncated images", "train-images-idx3-ubyte.gz",
     idx_images(64, 28).substr(0, 5000),
     "train-images-idx3-ubyte.gz: truncated: expected 50176 bytes (64 "
     "images)"},
    {"truncated labels", "t10k-labels-idx1-ubyte.gz",
     idx_labels(16).substr(0, 12),
     "t10k-labels-idx1-ubyte.gz: truncated: expected 16 bytes"},
    {"an empty file", "train-labels-idx1-ubyte.gz", std::string(1, '\0'),
     "train-labels-idx1-ubyte.gz: truncated header"},
    {"labels where images belong", "train-images-idx3-ubyte.gz", idx_labels(64),
     "train-images-idx3-ubyte.gz: has 1 dimension, expected 3"},
    {"too few labels", "train-labels-idx1-ubyte.gz", idx_labels(63),
     "has 64 images but"},
    {"test images of another size", "t10k-images-idx3-ubyte.gz",
     idx_images(16, 32),
     "t10k-images-idx3-ubyte.gz: images of 1024 pixels, but the training "
     "images"},
    {"not an IDX file", "t10k-images-idx3-ubyte.gz", "hello, not idx",
     "t10k-images-idx3-ubyte.gz: not an IDX file"},
    {"a header of 10^12 values", "train-images-idx3-ubyte.gz",
     std::string{"\0\0\x08\x03", 4} + big_endian(60000) + big_endian(8192)
       + big_endian(8192),
     "pixels are implausibly large"},
    {"a missing file", "t10k-labels-idx1-ubyte.gz", "",
     "t10k-labels-idx1-ubyte.gz: file not found"},
    {"a directory for a file", "t10k-labels-idx1-ubyte.gz", "<dir>",
     "t10k-labels-idx1-ubyte.gz: read failed: Is a directory"},
  };
  // The set the cases spoil runs.
  {
    auto dir = fresh_output_dir("bad_input/data/good");
    auto result = run_in(dir, fashion_mnist_run(write_fashion_mnist(dir)));
    REQUIRE_MESSAGE(result.exit_status == 0, result.err);
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& bad = cases[i];
    CAPTURE(bad.what);
    auto dir = fresh_output_dir("bad_input/data/" + std::to_string(i));
    auto data = write_fashion_mnist(dir);
    fs::remove(data / bad.file);
    if (bad.contents == "<dir>")
      fs::create_directory(data / bad.file);
    else if (!bad.contents.empty())
      write_text(data / bad.file, bad.contents);
    auto result = run_in(dir, fashion_mnist_run(data));
    CAPTURE(result.err);
    CHECK(result.exit_status == 1);
    CHECK(message_lines(result.err).size() == 1);
    CHECK(result.err.find(bad.message) != std::string::npos);
    CHECK(holds_previous_run(dir / "out"));
    CHECK(leftovers(dir).empty());
  }
  auto dir = fresh_output_dir("bad_input/data/paths");
  write_text(dir / "a-file", "x");
  for (auto path : {dir / "nowhere", dir / "a-file"}) {
    auto result = run_in(dir, fashion_mnist_run(path));
    CHECK(result.exit_status == 1);
    CHECK(result.err.find((path / "train-images-idx3-ubyte.gz").string())
          != std::string::npos);
    CHECK(holds_previous_run(dir / "out"));
  }
}

TEST_CASE("bad input: output directories that cannot hold a run") {
  auto dir = fresh_output_dir("bad_input/output");
  write_text(dir / "topo.toml", tiny_run);
  write_text(dir / "a-file", "keep me");
  fs::create_directories(dir / "user");
  write_text(dir / "user" / "thesis.tex", "mine");
  fs::create_directories(dir / "real");
  fs::create_symlink(dir / "real", dir / "link");
  struct output_case {
    std::string out;
    const char* message;
  };
  std::vector<output_case> cases = {
    {(dir / "a-file").string(), "exists and is not a directory"},
    {(dir / "a-file" / "sub").string(), "cannot create its parent"},
    {(dir / "user").string(),
     "holds \"thesis.tex\", which is not a run's output"},
    {(dir / "link").string(), "is a symbolic link"},
    {".", "names no directory of its own"},
    {"/", "names no directory of its own"},
    {"..", "names no directory of its own"},
    {"/proc/ormo-out", "cannot create"},
  };
  for (const auto& bad : cases) {
    CAPTURE(bad.out);
    auto result = run_process(
      {ormo_binary, "run", (dir / "topo.toml").string(), "--out", bad.out});
    CHECK(result.exit_status == 2);
    CHECK(message_lines(result.err).size() == 1);
    CHECK(result.err.find("ormo: output.dir: ") != std::string::npos);
    CHECK(result.err.find(bad.message) != std::string::npos);
  }
  CHECK(read_text(dir / "a-file") == "keep me");
  CHECK(read_text(dir / "user" / "thesis.tex") == "mine");
  CHECK(fs::is_empty(dir / "real"));
  CHECK(leftovers(dir).empty());
}

TEST_CASE("output directory: a finished run replaces the previous one whole") {
  auto dir = fresh_output_dir("bad_input/replace");
  auto out = dir / "out";
  write_previous_run(out);
  fs::create_directories(out / "checkpoints");
  write_text(out / "checkpoints" / "kept", "checkpoint");
  // A staging directory a killed run left behind (no such process).
  fs::create_directories(dir / ".out.staging-999999999");
  write_text(dir / "topo.toml", tiny_run);
  auto result = run_process({ormo_binary, "run", (dir / "topo.toml").string(),
                             "--out", (dir / "out/").string()});
  REQUIRE_MESSAGE(result.exit_status == 0, result.err);
  CHECK(read_text(out / "metrics.csv").rfind("time_s,", 0) == 0);
  CHECK(read_text(out / "config.toml").find("[algorithm]")
        != std::string::npos);
  CHECK(read_text(out / "summary.json").find("\"previous\"")
        == std::string::npos);
  CHECK(read_text(out / "checkpoints" / "kept") == "checkpoint");
  CHECK(leftovers(dir).empty());
}

TEST_CASE("output directory: a write error is exit 1 naming the file, and "
          "the previous run stays") {
  auto dir = fresh_output_dir("bad_input/write_error");
  // A file size limit (its signal ignored) makes writes fail as on a full
  // disk: config.toml fits, the growing metrics.csv does not.
  std::string file = tiny_run;
  file.replace(file.find("stop_iterations = 20"), 20, "stop_iterations = 2000");
  file += "[output]\nevaluations_per_epoch = 100\n";
  for (int attempt = 0; attempt < 2; ++attempt) {
    CAPTURE(attempt); // the second replaces the first's out.failed
    auto result = run_in(dir, file, shell_with("trap '' XFSZ; ulimit -f 8"));
    CAPTURE(result.err);
    CHECK(result.exit_status == 1);
    CHECK(result.out.find("ormo: done") == std::string::npos);
    auto lines = message_lines(result.err);
    REQUIRE(!lines.empty());
    CHECK(lines.back().find((dir / "out" / "metrics.csv").string()
                            + ": cannot write: File too large")
          != std::string::npos);
    CHECK(lines.back().find("out unchanged, this run's outputs in")
          != std::string::npos);
    CHECK(holds_previous_run(dir / "out"));
    CHECK(fs::exists(dir / "out.failed" / "metrics.csv"));
    CHECK(fs::exists(dir / "out.failed" / "config.toml"));
  }
}

TEST_CASE("bad input: SIGTERM while the data is still loading") {
  auto dir = fresh_output_dir("bad_input/signal_loading");
  auto data = write_fashion_mnist(dir);
  // A pipe for a file: loading waits until the test writes it.
  auto images = data / "train-images-idx3-ubyte.gz";
  fs::remove(images);
  REQUIRE(mkfifo(images.c_str(), 0600) == 0);
  write_previous_run(dir / "out");
  write_text(dir / "topo.toml", fashion_mnist_run(data));
  child_process child({ormo_binary, "run", (dir / "topo.toml").string(),
                       "--out", (dir / "out").string()});
  auto deadline = clock_type::now() + std::chrono::seconds{30};
  // The line before loading: the handlers are installed by then.
  REQUIRE(child.wait_for_output("output in", deadline));
  child.send_signal(SIGTERM);
  {
    // Opening blocks until ormo opens its end.
    std::ofstream writer(images, std::ios::binary);
    writer << idx_images(64, 28);
  }
  auto result = child.finish(deadline);
  CHECK(result.exit_status == 130);
  CHECK(result.err.find("ormo: interrupted before training")
        != std::string::npos);
  CHECK(holds_previous_run(dir / "out"));
  CHECK(leftovers(dir).empty());
}

TEST_CASE("bad input: SIGTERM during a run ends it as Ctrl-C does") {
  auto dir = fresh_output_dir("bad_input/signal_run");
  std::string file = tiny_run;
  file.replace(file.find("stop_iterations = 20"), 20,
               "stop_iterations = 100000000");
  file += "[output]\nprogress_seconds = 0.01\n";
  write_previous_run(dir / "out");
  write_text(dir / "topo.toml", file);
  child_process child({ormo_binary, "run", (dir / "topo.toml").string(),
                       "--out", (dir / "out").string()});
  auto deadline = clock_type::now() + std::chrono::seconds{30};
  REQUIRE(child.wait_for_output("\nepoch ", deadline));
  child.send_signal(SIGTERM);
  auto result = child.finish(deadline);
  CHECK(result.exit_status == 130);
  CHECK(result.err.find("ormo: interrupted at epoch") != std::string::npos);
  // An interrupted run is finished: its outputs replace the previous ones.
  CHECK(read_text(dir / "out" / "summary.json").find("\"interrupted\"")
        != std::string::npos);
  CHECK(leftovers(dir).empty());
}

TEST_CASE("bad input: a diverged model ends the run instead of hanging") {
  auto dir = fresh_output_dir("bad_input/diverged");
  // Every gradient after the first step is non-finite and rejected, so no
  // iteration closes again.
  std::string file = tiny_run;
  file.replace(file.find("kind = \"softmax\""), 16,
               "kind = \"mlp\"\nhidden = [16]");
  file += "[algorithm]\nlearning_rate = 1e20\n[output]\nprogress_seconds = "
          "0.05\n";
  auto result = run_in(dir, file);
  CAPTURE(result.err);
  CHECK(result.exit_status == 1);
  CHECK(result.err.find("ormo: run failed: no iteration closed while")
        != std::string::npos);
  CHECK(result.err.find("algorithm.learning_rate") != std::string::npos);
  CHECK(holds_previous_run(dir / "out"));
  CHECK(fs::exists(dir / "out.failed" / "summary.json"));
}

TEST_CASE("bad input: a closed stdout does not end the run") {
  auto dir = fresh_output_dir("bad_input/closed_stdout");
  std::string file = tiny_run;
  file.replace(file.find("stop_iterations = 20"), 20,
               "stop_iterations = 20000");
  file += "[output]\nprogress_seconds = 0.01\n";
  // `ormo run ... | head -c 1`, keeping ormo's exit status in a file.
  auto result = run_in(dir, file,
                       {"/bin/sh", "-c",
                        "{ \"$@\"; echo $? > \"$0\"; } | head -c 1 > /dev/null",
                        (dir / "status").string()});
  CHECK(result.exit_status == 0);
  CHECK(read_text(dir / "status") == "0\n");
  CHECK(read_text(dir / "out" / "summary.json").find("\"iterations\"")
        != std::string::npos);
  CHECK(leftovers(dir).empty());
}

TEST_CASE("bad input: a supervisor node whose port is taken leaves the "
          "output directory as it was") {
  // Hold a port: bound and listening, so that the node cannot listen.
  int taken = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(taken >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof address)
          == 0);
  REQUIRE(listen(taken, 1) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length)
          == 0);
  auto port = std::to_string(ntohs(address.sin_port));
  auto dir = fresh_output_dir("bad_input/node_port");
  write_previous_run(dir / "out");
  write_text(dir / "topo.toml",
             "[run]\nstop_iterations = 5\n[model]\nkind = \"softmax\"\n"
             "[data]\ntrain_samples = 100\ntest_samples = 20\n"
             "[[nodes]]\nname = \"server\"\nport = "
               + port + "\nshards = [0]\nsupervisor = true\nworkers = 1\n");
  auto result
    = run_process({ormo_binary, "node", (dir / "topo.toml").string(), "--name",
                   "server", "--out", (dir / "out").string()});
  close(taken);
  CAPTURE(result.err);
  CHECK(result.exit_status == 1);
  CHECK(result.err.find("cannot listen on 127.0.0.1:" + port)
        != std::string::npos);
  CHECK(holds_previous_run(dir / "out"));
  CHECK(leftovers(dir).empty());
}
