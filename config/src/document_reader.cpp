#include "document_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <tuple>
#include <utility>

#include "toml_text.hpp"

namespace ormo::config::detail {

namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int_max = std::numeric_limits<int>::max();

status invalid(std::string message) {
  return status::error(status_code::invalid_argument, std::move(message));
}

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

/// Optimal string alignment distance (edits, with adjacent transpositions),
/// case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(
    a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j]
        = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2])
          && lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

/// The name nearest to `name` if it is near enough; ties go to a name with
/// the same first letter, then to the first listed.
std::optional<std::string_view>
nearest(std::string_view name, const std::vector<std::string_view>& names) {
  std::optional<std::string_view> best;
  std::pair<std::size_t, bool> best_rank;
  for (auto candidate : names) {
    std::pair<std::size_t, bool> rank{edit_distance(name, candidate),
                                      name.empty() || candidate.empty()
                                        || lower(name.front())
                                             != lower(candidate.front())};
    if (!best || rank < best_rank) {
      best = candidate;
      best_rank = rank;
    }
  }
  std::size_t limit = std::clamp<std::size_t>(name.size() / 3, 1, 2);
  if (best && best_rank.first <= limit)
    return best;
  return std::nullopt;
}

std::string type_phrase(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

/// What a key of `kind` holds, as in "expected an integer".
std::string expected_phrase(const key_spec& key) {
  switch (key.kind) {
    case value_kind::boolean:
      return "a boolean";
    case value_kind::integer:
      return "an integer";
    case value_kind::number:
      return "a number";
    case value_kind::string:
    case value_kind::choice:
      return "a string";
    case value_kind::integer_or_word:
      return quote(key.words.front()) + " or an integer";
    case value_kind::integer_list:
    case value_kind::number_list:
      return "an array";
    case value_kind::duration:
      return "a duration such as \"2s\" or \"250ms\"";
    case value_kind::table:
      return "a table";
    case value_kind::table_array:
      return "an array of tables";
  }
  return "a value";
}

std::string describe_violation(const optim::real_range& range, double value) {
  if (std::isinf(range.hi))
    return std::string{"must be "} + (range.lo_open ? "> " : ">= ")
           + format_double(range.lo) + ", got " + format_double(value);
  return format_double(value) + " is not in " + (range.lo_open ? "(" : "[")
         + format_double(range.lo) + ", " + format_double(range.hi)
         + (range.hi_open ? ")" : "]");
}

const key_spec* key_in(const table_spec& table, std::string_view name) {
  for (const auto& key : table.keys)
    if (key.name == name)
      return &key;
  return nullptr;
}

} // namespace

bool is_bare_key(std::string_view part) {
  if (part.empty())
    return false;
  return std::all_of(part.begin(), part.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::vector<std::string_view> split_key_path(std::string_view key_path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto dot = key_path.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(key_path.substr(start));
      return parts;
    }
    parts.push_back(key_path.substr(start, dot - start));
    start = dot + 1;
  }
}

std::string_view trim(std::string_view text) {
  auto blank
    = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && blank(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && blank(text.back()))
    text.remove_suffix(1);
  return text;
}

std::string join(std::string_view table_path, std::string_view key) {
  std::string path{table_path};
  if (!path.empty())
    path += '.';
  path += key;
  return path;
}

std::string nearest_word(std::string_view name,
                         const std::vector<std::string_view>& names) {
  if (auto best = nearest(name, names))
    return "; did you mean " + quote(*best) + "?";
  return {};
}

document_reader::document_reader(const document_schema& schema,
                                 std::string source_name)
  : schema_(schema), source_name_(std::move(source_name)) {}

// -- locations and errors ---------------------------------------------------

std::string document_reader::where(const toml::source_region& region) const {
  if (from_file(region))
    return source_name_ + ":" + std::to_string(region.begin.line) + ":"
           + std::to_string(region.begin.column);
  return "--set";
}

std::string document_reader::file_start() const {
  return source_name_ + ":1:1";
}

bool document_reader::from_file(const toml::source_region& region) const {
  return region.path != nullptr && *region.path == source_name_
         && region.begin.line > 0;
}

void document_reader::fail(std::string location, std::string_view key_path,
                           const std::string& what) {
  if (failed())
    return;
  std::string message = std::move(location);
  message += ": ";
  message += key_path;
  message += ": ";
  message += what;
  error_ = invalid(std::move(message));
}

void document_reader::fail(const toml::node& node, std::string_view key_path,
                           const std::string& what) {
  fail(where(node.source()), key_path, what);
}

void document_reader::fail_at(std::string_view key_path,
                              const std::string& what) {
  if (auto node = lookup(key_path)) {
    fail(where(node->source()), key_path, what);
    return;
  }
  // Absent: the nearest enclosing table or element written in the file.
  for (auto end = key_path.find_last_of(".["); end != std::string_view::npos;
       end = key_path.find_last_of(".[", end - 1)) {
    auto enclosing = lookup(key_path.substr(0, end));
    if (enclosing != nullptr && from_file(enclosing->source())) {
      fail(where(enclosing->source()), key_path, what);
      return;
    }
    if (end == 0)
      break;
  }
  fail(file_start(), key_path, what);
}

const toml::node* document_reader::lookup(std::string_view key_path) const {
  const toml::node* node = &root_;
  for (auto part : split_key_path(key_path)) {
    auto bracket = part.find('[');
    auto table = node->as_table();
    if (table == nullptr)
      return nullptr;
    node = table->get(part.substr(0, bracket));
    // Then the indices: "shards[1]", "nodes[2]".
    while (node != nullptr && bracket != std::string_view::npos) {
      auto close = part.find(']', bracket);
      if (close == std::string_view::npos)
        return nullptr;
      auto digits = part.substr(bracket + 1, close - bracket - 1);
      std::size_t index = 0;
      if (digits.empty())
        return nullptr;
      for (char c : digits) {
        if (c < '0' || c > '9')
          return nullptr;
        index = index * 10 + static_cast<std::size_t>(c - '0');
      }
      auto array = node->as_array();
      node = array != nullptr && index < array->size() ? array->get(index)
                                                       : nullptr;
      bracket = part.find('[', close);
    }
    if (node == nullptr)
      return nullptr;
  }
  return node;
}

// -- parsing and structure --------------------------------------------------

status document_reader::parse(std::string_view toml_text,
                              const std::vector<setting_override>& overrides) {
  try {
    root_ = toml::parse(toml_text, std::string_view{source_name_});
  } catch (const toml::parse_error& error) {
    std::string description{error.description()};
    std::replace(description.begin(), description.end(), '\n', ' ');
    const auto& begin = error.source().begin;
    return invalid(source_name_ + ":" + std::to_string(begin.line) + ":"
                   + std::to_string(begin.column)
                   + ": invalid TOML: " + description);
  }
  for (const auto& setting : overrides)
    if (auto applied = apply_override(setting); !applied)
      return applied;
  structure_error_.reset();
  check_keys(root_, *schema_.find_table(""), "");
  if (structure_error_)
    fail(structure_error_->location, structure_error_->key_path,
         structure_error_->what);
  return error_;
}

void document_reader::note_structure_error(const toml::source_region& region,
                                           std::string key_path,
                                           std::string what) {
  structure_error candidate{from_file(region),   region.begin.line,
                            region.begin.column, where(region),
                            std::move(key_path), std::move(what)};
  auto rank = [](const structure_error& e) {
    return std::make_tuple(!e.in_file, e.line, e.column);
  };
  if (!structure_error_ || rank(candidate) < rank(*structure_error_))
    structure_error_ = std::move(candidate);
}

std::string document_reader::suggestion(const table_spec& table,
                                        const std::string& display_path,
                                        std::string_view name) const {
  std::vector<std::string_view> names;
  for (const auto& key : table.keys)
    names.push_back(key.name);
  if (auto best = nearest(name, names))
    return "; did you mean " + join(display_path, *best) + "?";
  for (const auto& other : schema_.tables)
    if (&other != &table)
      if (auto key = key_in(other, name))
        return "; did you mean " + join(other.path, key->name) + "?";
  return {};
}

void document_reader::check_keys(const toml::table& table,
                                 const table_spec& spec,
                                 const std::string& display_path) {
  for (auto&& [key, node] : table) {
    auto path = join(display_path, key.str());
    auto known = key_in(spec, key.str());
    if (known == nullptr) {
      // Point at the key: for a table header that is its name.
      auto region = from_file(key.source()) ? key.source() : node.source();
      note_structure_error(
        region, path,
        std::string{node.is_table() ? "unknown table" : "unknown key"}
          + suggestion(spec, display_path, key.str()));
    } else if (known->kind == value_kind::table) {
      if (auto sub = node.as_table())
        check_keys(*sub, *schema_.find_table(join(spec.path, key.str())), path);
      else
        note_structure_error(node.source(), path,
                             "expected a table, got " + type_phrase(node));
    } else if (known->kind == value_kind::table_array) {
      auto array = node.as_array();
      if (array == nullptr) {
        note_structure_error(node.source(), path,
                             "expected an array of tables, got "
                               + type_phrase(node));
        continue;
      }
      for (std::size_t i = 0; i < array->size(); ++i) {
        auto element_path = path + "[" + std::to_string(i) + "]";
        const auto& element = (*array)[i];
        if (auto sub = element.as_table())
          check_keys(*sub, *known->element_table, element_path);
        else
          note_structure_error(element.source(), element_path,
                               "expected a table, got " + type_phrase(element));
      }
    } else if (node.is_table()) {
      note_structure_error(node.source(), path,
                           "expected " + expected_phrase(*known)
                             + ", got a table");
    }
  }
}

/// Puts the override's value into the document, creating tables on the way.
/// The key path must name a value in the schema. Errors name `--set`, or the
/// file position of a value that is in the way (e.g. `workers = 3`).
status document_reader::apply_override(const setting_override& setting) {
  auto parts = split_key_path(setting.key_path);
  for (auto part : parts)
    if (!is_bare_key(part))
      return invalid("--set: " + setting.key_path
                     + ": not a key path (expected e.g. "
                       "algorithm.learning_rate)");
  // Check the path against the schema first, for a precise message.
  const table_spec* spec = schema_.find_table("");
  const key_spec* key = nullptr;
  std::string path;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    key = key_in(*spec, parts[i]);
    if (key == nullptr)
      return invalid("--set: " + setting.key_path + ": unknown key"
                     + suggestion(*spec, std::string{spec->path}, parts[i]));
    path = join(path, parts[i]);
    bool last = i + 1 == parts.size();
    if (key->kind == value_kind::table) {
      if (last)
        return invalid(
          "--set: " + setting.key_path
          + ": is a table; set its keys one by one, e.g. "
          + join(path, schema_.find_table(path)->keys.front().name));
      spec = schema_.find_table(path);
    } else if (key->kind == value_kind::table_array) {
      return invalid("--set: " + setting.key_path + ": " + path
                     + " is an array of tables; set it in the file");
    } else if (!last) {
      return invalid("--set: " + setting.key_path + ": " + path
                     + " is not a table");
    }
  }
  // Walk (and make) the tables.
  toml::table* table = &root_;
  path.clear();
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    path = join(path, parts[i]);
    auto node = table->get(parts[i]);
    if (node == nullptr) {
      table->insert(parts[i], toml::table{});
      node = table->get(parts[i]);
    }
    table = node->as_table();
    if (table == nullptr)
      return invalid(where(node->source()) + ": " + path
                     + ": expected a table, got " + type_phrase(*node));
  }
  auto name = parts.back();
  // The value as TOML (source "--set"), else the text as a bare string.
  // A key that holds text takes it as it is unless it is a quoted string.
  bool holds_text = key->kind == value_kind::string
                    || key->kind == value_kind::choice
                    || key->kind == value_kind::duration;
  auto text = trim(setting.value);
  try {
    auto parsed
      = toml::parse("value = " + std::string{text}, std::string_view{"--set"});
    auto node = parsed.get("value");
    if (parsed.size() == 1 && node != nullptr
        && (!holds_text || node->is_string())) {
      node->visit(
        [&](auto& value) { table->insert_or_assign(name, std::move(value)); });
      return status::ok();
    }
  } catch (const toml::parse_error&) {
    // Not a TOML value: a bare string.
  }
  table->insert_or_assign(name, std::string{text});
  return status::ok();
}

// -- values -----------------------------------------------------------------

void document_reader::read(void* root) {
  for (const auto& spec : schema_.tables) {
    auto node = spec.path.empty() ? &root_ : lookup(spec.path);
    read_table(node != nullptr ? node->as_table() : nullptr, spec,
               std::string{spec.path}, root);
  }
}

void document_reader::read_table(const toml::table* table,
                                 const table_spec& spec,
                                 const std::string& display_path, void* root) {
  if (table == nullptr)
    return;
  for (const auto& key : spec.keys) {
    auto node = table->get(key.name);
    if (node == nullptr || key.kind == value_kind::table)
      continue;
    auto path = join(display_path, key.name);
    if (key.kind == value_kind::table_array) {
      // check_keys made sure it is an array of tables.
      // Elements start from the element type's defaults.
      auto array = node->as_array();
      key.resize(root, 0);
      key.resize(root, array->size());
      for (std::size_t i = 0; i < array->size(); ++i)
        read_table((*array)[i].as_table(), *key.element_table,
                   path + "[" + std::to_string(i) + "]",
                   key.mutable_element(root, i));
      continue;
    }
    if (auto read = value_of(*node, key, path))
      key.set(root, *read);
  }
}

std::optional<value> document_reader::value_of(const toml::node& node,
                                               const key_spec& key,
                                               const std::string& path) {
  auto list_elements = [&](auto element_value) -> std::optional<value> {
    auto array = node.as_array();
    if (array == nullptr) {
      fail(node, path, "expected an array, got " + type_phrase(node));
      return std::nullopt;
    }
    using element =
      typename decltype(element_value(node, std::string{}))::value_type;
    std::vector<element> values;
    for (std::size_t i = 0; i < array->size(); ++i) {
      auto x = element_value((*array)[i], path + "[" + std::to_string(i) + "]");
      if (!x)
        return std::nullopt;
      values.push_back(*x);
    }
    return value{std::move(values)};
  };
  auto text_of = [&](const toml::node& n) -> std::optional<std::string> {
    if (auto text = n.as_string())
      return text->get();
    fail(n, path, "expected a string, got " + type_phrase(n));
    return std::nullopt;
  };
  switch (key.kind) {
    case value_kind::boolean:
      if (auto x = node.as_boolean())
        return value{x->get()};
      fail(node, path, "expected a boolean, got " + type_phrase(node));
      return std::nullopt;
    case value_kind::integer:
      if (auto x = integer_in(node, path, key.integers))
        return value{*x};
      return std::nullopt;
    case value_kind::number:
      if (auto x = number_in(node, path, key.numbers))
        return value{*x};
      return std::nullopt;
    case value_kind::string:
      if (auto x = text_of(node))
        return value{*x};
      return std::nullopt;
    case value_kind::choice: {
      auto name = text_of(node);
      if (!name)
        return std::nullopt;
      for (auto word : key.words)
        if (*name == word)
          return value{*name};
      std::string names;
      for (auto word : key.words)
        names += std::string{names.empty() ? "" : ", "} + std::string{word};
      fail(node, path,
           quote(*name) + " is not one of " + names
             + nearest_word(*name, key.words));
      return std::nullopt;
    }
    case value_kind::integer_or_word: {
      auto expected = "expected " + expected_phrase(key) + ", got ";
      if (auto text = node.as_string()) {
        if (text->get() == key.words.front())
          return value{text->get()};
        fail(node, path, expected + quote(text->get()));
        return std::nullopt;
      }
      if (!node.is_integer()) {
        fail(node, path, expected + type_phrase(node));
        return std::nullopt;
      }
      if (auto x = integer_in(node, path, key.integers))
        return value{*x};
      return std::nullopt;
    }
    case value_kind::integer_list:
      return list_elements(
        [&](const toml::node& element, const std::string& element_path) {
          return integer_in(element, element_path, key.integers);
        });
    case value_kind::number_list:
      return list_elements(
        [&](const toml::node& element, const std::string& element_path) {
          return number_in(element, element_path, key.numbers);
        });
    case value_kind::duration:
      if (auto x = duration_in(node, path, key.durations))
        return value{*x};
      return std::nullopt;
    case value_kind::table:
    case value_kind::table_array:
      break;
  }
  return std::nullopt;
}

std::optional<std::int64_t>
document_reader::integer_in(const toml::node& node, const std::string& path,
                            const integer_range& range) {
  auto value = node.as_integer();
  if (value == nullptr) {
    fail(node, path, "expected an integer, got " + type_phrase(node));
    return std::nullopt;
  }
  auto x = value->get();
  if (x >= range.lo && x <= range.hi)
    return x;
  bool natural_limit = range.hi == int64_max || range.hi == int_max;
  if (x < range.lo && natural_limit)
    fail(node, path,
         "must be >= " + std::to_string(range.lo) + ", got "
           + std::to_string(x));
  else
    fail(node, path,
         std::to_string(x) + " is not in [" + std::to_string(range.lo) + ", "
           + std::to_string(range.hi) + "]");
  return std::nullopt;
}

std::optional<double>
document_reader::number_in(const toml::node& node, const std::string& path,
                           const optim::real_range& range) {
  double x;
  if (auto integer = node.as_integer()) {
    x = static_cast<double>(integer->get());
  } else if (auto floating = node.as_floating_point()) {
    x = floating->get();
  } else {
    fail(node, path, "expected a number, got " + type_phrase(node));
    return std::nullopt;
  }
  if (!std::isfinite(x)) {
    fail(node, path, format_double(x) + " is not a finite number");
    return std::nullopt;
  }
  if (!range.contains(x)) {
    fail(node, path, describe_violation(range, x));
    return std::nullopt;
  }
  return x;
}

std::optional<std::chrono::nanoseconds>
document_reader::duration_in(const toml::node& node, const std::string& path,
                             const duration_range& range) {
  const std::string expected
    = "expected a duration such as \"2s\" or \"250ms\", got ";
  auto text = node.as_string();
  if (text == nullptr) {
    fail(node, path, expected + type_phrase(node));
    return std::nullopt;
  }
  auto x = parse_duration(text->get());
  if (!x) {
    fail(node, path, expected + quote(text->get()));
    return std::nullopt;
  }
  if (*x < range.lo || *x > range.hi) {
    if (range.hi == std::chrono::nanoseconds::max())
      fail(node, path,
           "must be >= " + format_duration(range.lo) + ", got "
             + format_duration(*x));
    else
      fail(node, path,
           format_duration(*x) + " is not in [" + format_duration(range.lo)
             + ", " + format_duration(range.hi) + "]");
    return std::nullopt;
  }
  return x;
}

} // namespace ormo::config::detail

namespace ormo::config {

status read_document(const document_schema& schema, std::string_view toml_text,
                     const std::string& source_name,
                     const std::vector<setting_override>& overrides,
                     void* root) {
  detail::document_reader reader{schema, source_name};
  if (auto parsed = reader.parse(toml_text, overrides); !parsed)
    return parsed;
  reader.read(root);
  return reader.error();
}

} // namespace ormo::config
