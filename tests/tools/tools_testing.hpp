// Shared by the tests of the `ormo` executable: where it is, where the
// examples are, a fresh output directory per test, and file helpers.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace ormo::test {

/// The built `ormo` (set by tests/CMakeLists.txt).
inline const std::string ormo_binary = ORMO_BINARY;

/// An example topology of the source tree, e.g. "deterministic.toml".
inline std::string example(const std::string& name) {
  return std::string(ORMO_SOURCE_DIR) + "/examples/" + name;
}

/// An empty directory of the build tree for one test's outputs.
inline std::filesystem::path fresh_output_dir(const std::string& name) {
  std::filesystem::path dir
    = std::filesystem::path(ORMO_TEST_OUTPUT_DIR) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

/// The lines of `text`, without their '\n'.
inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  return lines;
}

/// The comma-separated fields of one CSV line (no quoting in metrics.csv).
inline std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  for (std::string field; std::getline(in, field, ',');)
    fields.push_back(field);
  if (!line.empty() && line.back() == ',')
    fields.emplace_back();
  return fields;
}

} // namespace ormo::test
