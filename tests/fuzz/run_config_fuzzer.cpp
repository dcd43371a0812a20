// Fuzz target: arbitrary text as a topology file. parse_run_config either
// refuses it with an error or returns a config; then to_toml of that config
// parses again into a config that writes the same TOML (the round trip its
// header promises). Nothing may throw, crash, leak or read out of bounds.
// The first line is also tried as a `--set key=value` override.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ormo/config/parse_run_config.hpp"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "run_config fuzzer: %s\n%s\n", what, detail.c_str());
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  using namespace ormo::config;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto override = parse_override(text.substr(0, text.find('\n')))) {
    if (override.value().key_path.empty())
      fail("parse_override accepted an empty key", std::string(text));
  }
  auto config = parse_run_config(text, "fuzz.toml");
  if (!config)
    return 0;
  const auto written = to_toml(config.value());
  auto again = parse_run_config(written, "fuzz.toml");
  if (!again)
    fail("to_toml wrote a file parse_run_config refuses",
         again.error().message() + "\n--- written:\n" + written);
  const auto rewritten = to_toml(again.value());
  if (rewritten != written)
    fail("to_toml of the parsed TOML differs from it",
         "--- first:\n" + written + "--- second:\n" + rewritten);
  return 0;
}
