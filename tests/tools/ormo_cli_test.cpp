// The `ormo` command line as a user meets it: help on every level, the
// version, and usage errors (one line, a hint, exit 2), run as a process.
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tools/process.hpp"
#include "tools/tools_testing.hpp"

using namespace ormo::test;

namespace {

process_result run_ormo(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), ormo_binary);
  return run_process(arguments);
}

} // namespace

TEST_CASE("ormo cli: help on every level prints the usage and exits 0") {
  const std::vector<std::vector<std::string>> top
    = {{"-h"}, {"--help"}, {"help"}};
  for (const auto& arguments : top) {
    CAPTURE(arguments.front());
    auto result = run_ormo(arguments);
    CHECK(result.exit_status == 0);
    CHECK(result.err.empty());
    CHECK(result.out.find("Usage: ormo [OPTIONS] SUBCOMMAND")
          != std::string::npos);
    CHECK(result.out.find("run") != std::string::npos);
  }
  const std::vector<std::vector<std::string>> run
    = {{"run", "-h"}, {"run", "--help"}, {"help", "run"}};
  for (const auto& arguments : run) {
    CAPTURE(arguments.front() + " " + arguments.back());
    auto result = run_ormo(arguments);
    CHECK(result.exit_status == 0);
    CHECK(result.err.empty());
    CHECK(result.out.find("Usage: ormo run [OPTIONS] [FILE]")
          != std::string::npos);
    for (const char* option : {"--out DIR", "--set K=V", "--deterministic"})
      CHECK(result.out.find(option) != std::string::npos);
  }
}

TEST_CASE("ormo cli: --version and version print the project version") {
  for (const char* argument : {"--version", "version"}) {
    CAPTURE(argument);
    auto result = run_ormo({argument});
    CHECK(result.exit_status == 0);
    CHECK(result.out == std::string("ormo ") + ORMO_VERSION + "\n");
    CHECK(result.err.empty());
  }
}

TEST_CASE("ormo cli: a usage error is one line naming the fault, a hint, "
          "exit 2") {
  struct usage_case {
    std::vector<std::string> arguments;
    std::string names; // what the first line must mention
    std::string hint;
  };
  const std::vector<usage_case> cases = {
    {{}, "missing command", "ormo --help"},
    {{"frob"}, "unknown command frob", "ormo --help"},
    {{"--bogus"}, "--bogus", "ormo --help"},
    {{"run", "--bogus"}, "--bogus", "ormo run --help"},
    {{"run", "--out"}, "--out", "ormo run --help"},
    {{"run", "--set", "no_equals_sign"}, "no_equals_sign", "ormo run --help"},
    {{"run", "a.toml", "b.toml"}, "b.toml", "ormo run --help"},
    {{"help", "frob"}, "frob", "ormo --help"},
  };
  for (const auto& c : cases) {
    std::string command = "ormo";
    for (const auto& argument : c.arguments)
      command += " " + argument;
    CAPTURE(command);
    auto result = run_ormo(c.arguments);
    CHECK(result.exit_status == 2);
    CHECK(result.out.empty());
    auto lines = lines_of(result.err);
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].rfind("ormo: ", 0) == 0);
    CHECK(lines[0].find(c.names) != std::string::npos);
    CHECK(lines[1] == "Run '" + c.hint + "' for usage.");
  }
}

TEST_CASE("ormo cli: a bad configuration exits 2 with one line") {
  auto dir = fresh_output_dir("bad_configuration");
  auto missing = run_ormo({"run", (dir / "missing.toml").string()});
  CHECK(missing.exit_status == 2);
  CHECK(missing.err == (dir / "missing.toml").string() + ": no such file\n");
  auto unknown = run_ormo({"run", "--out", dir.string(), "--set", "nokey=1"});
  CHECK(unknown.exit_status == 2);
  CHECK(unknown.err == "--set: nokey: unknown key\n");
  CHECK(unknown.out.empty());
}
