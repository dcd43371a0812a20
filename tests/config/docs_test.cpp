// docs/configuration.md's key tables are the schema's: each table between
// `<!-- BEGIN keys PATH -->` and `<!-- END keys PATH -->` must be exactly
// markdown_key_table(PATH) (for an array of tables, PATH is the array's and
// the table lists its elements' keys). To regenerate them after changing the
// schema, run in tests/: ORMO_UPDATE_DOCS=1 ../build/bin/config_tests
// -tc="the key tables*" (then review the diff).
#include "ormo/config/schema.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace ormo::config;

namespace {

// Tests run in tests/.
const std::string docs_path = "../docs/configuration.md";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

} // namespace

TEST_CASE("the key tables of docs/configuration.md are the schema's") {
  auto text = read_text(docs_path);
  bool update = std::getenv("ORMO_UPDATE_DOCS") != nullptr;
  // Every table but the root, and the elements of every array of tables.
  std::vector<std::string> paths;
  for (const auto& table : run_config_schema().tables) {
    if (!table.path.empty())
      paths.emplace_back(table.path);
    for (const auto& key : table.keys)
      if (key.kind == value_kind::table_array)
        paths.emplace_back(key.element_table->path);
  }
  std::size_t tables = 0;
  for (const auto& path : paths) {
    ++tables;
    auto begin_marker = "<!-- BEGIN keys " + path + " -->\n";
    auto end_marker = "<!-- END keys " + path + " -->";
    auto begin = text.find(begin_marker);
    REQUIRE_MESSAGE(begin != std::string::npos,
                    docs_path << " has no line " << begin_marker);
    begin += begin_marker.size();
    auto end = text.find(end_marker, begin);
    REQUIRE_MESSAGE(end != std::string::npos,
                    docs_path << " has no line " << end_marker);
    auto expected = markdown_key_table(path);
    if (update) {
      text.replace(begin, end - begin, expected);
      continue;
    }
    CHECK_MESSAGE(text.substr(begin, end - begin) == expected,
                  "the [" << path << "] table of " << docs_path
                          << " differs from the schema; it should read:\n"
                          << expected
                          << "(regenerate: see tests/config/docs_test.cpp)");
  }
  CHECK(tables == 12);
  if (update) {
    std::ofstream out(docs_path, std::ios::binary);
    out << text;
    CHECK(out.good());
  }
}
