// `ormo-bench transport` run as a process: it ends on its own, well within
// its deadline, and its last line is the ratio the issue asks for.
#include <chrono>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tools/process.hpp"

namespace {

std::string last_line(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::string last;
  while (std::getline(lines, line))
    if (!line.empty())
      last = line;
  return last;
}

} // namespace

TEST_CASE("transport_bench: quick run ends with RATIO transport_vs_raw_tcp"
          * doctest::test_suite("real_time")) {
  auto result = ormo::test::run_process(
    {ORMO_BENCH_BINARY, "transport", "--quick"}, std::chrono::seconds(120));
  REQUIRE_MESSAGE(!result.timed_out, result.err);
  REQUIRE_MESSAGE(result.exit_status == 0, result.err);
  CHECK(result.out.find("plain TCP") != std::string::npos);
  CHECK(result.out.find("gradient_push -> push_outcome") != std::string::npos);
  const std::string prefix = "RATIO transport_vs_raw_tcp ";
  auto line = last_line(result.out);
  REQUIRE_MESSAGE(line.rfind(prefix, 0) == 0, line);
  char* end = nullptr;
  double ratio = std::strtod(line.c_str() + prefix.size(), &end);
  CHECK(*end == '\0');
  CHECK(ratio > 0);
}

TEST_CASE("transport_bench: a CAF option it cannot parse fails cleanly"
          * doctest::test_suite("real_time")) {
  auto result = ormo::test::run_process(
    {ORMO_BENCH_BINARY, "transport", "--quick", "--middleman.workers=many"},
    std::chrono::seconds(60));
  REQUIRE(!result.timed_out);
  CHECK(result.exit_status != 0);
}
