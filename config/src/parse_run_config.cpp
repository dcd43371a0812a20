#include "ormo/config/parse_run_config.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>

#include "document_reader.hpp"
#include "ormo/config/schema.hpp"

namespace ormo::config {

namespace {

using detail::is_bare_key;
using detail::split_key_path;
using detail::trim;

status invalid(std::string message) {
  return status::error(status_code::invalid_argument, std::move(message));
}

/// The rules that tie keys together, checked after every key was read into
/// `config`; each is reported at the key that breaks it.
void check_rules(detail::document_reader& reader, run_config& config) {
  const auto& stop = config.run.stop;
  if (stop.epochs <= 0 && stop.iterations <= 0 && stop.seconds <= 0
      && stop.accuracy <= 0) {
    // Point at the [run] table if the file has one, else at the file.
    auto run_node = reader.root().get("run");
    reader.fail(run_node != nullptr && reader.from_file(run_node->source())
                  ? reader.where(run_node->source())
                  : reader.file_start(),
                "run",
                "no stop rule; set one of run.stop_epochs, "
                "run.stop_iterations, run.stop_seconds, run.stop_accuracy to "
                "a value > 0");
  }
  if (config.model.kind == model::model_kind::softmax) {
    if (!config.model.hidden.empty()
        && reader.lookup("model.hidden") != nullptr)
      reader.fail_at("model.hidden",
                     "softmax has no hidden layers; remove model.hidden or "
                     "set model.kind = \"mlp\"");
    config.model.hidden.clear();
  }
  if (config.data.source == data_source::fashion_mnist
      && config.data.path.empty())
    reader.fail_at("data.path", "must name the fashion-mnist directory");
  if (config.output.dir.empty())
    reader.fail_at("output.dir", "must not be empty");
  const auto& speeds = config.workers.speed;
  auto count = static_cast<std::size_t>(config.workers.count);
  if (speeds.profile == speed_profile::factors) {
    if (reader.lookup("workers.speed.factors") == nullptr)
      reader.fail_at(
        "workers.speed.profile",
        "\"factors\" needs workers.speed.factors, one factor per worker");
    else if (speeds.factors.size() != count)
      reader.fail_at("workers.speed.factors",
                     std::to_string(speeds.factors.size()) + " factors for "
                       + std::to_string(count) + " workers (workers.count)");
  } else if (!speeds.factors.empty()) {
    reader.fail_at("workers.speed.factors",
                   "only used with profile = \"factors\"");
  }
}

} // namespace

result<setting_override> parse_override(std::string_view text) {
  auto equals = text.find('=');
  if (equals == std::string_view::npos)
    return invalid("--set: " + std::string{text} + ": expected key.path=value");
  auto key_path = trim(text.substr(0, equals));
  if (key_path.empty())
    return invalid("--set: " + std::string{text}
                   + ": empty key (expected key.path=value)");
  for (auto part : split_key_path(key_path))
    if (!is_bare_key(part))
      return invalid("--set: " + std::string{text} + ": "
                     + std::string{key_path}
                     + " is not a key path (expected e.g. "
                       "algorithm.learning_rate)");
  return setting_override{std::string{key_path},
                          std::string{trim(text.substr(equals + 1))}};
}

result<run_config>
parse_run_config(std::string_view toml_text, std::string source_name,
                 const std::vector<setting_override>& overrides) {
  if (source_name.empty())
    source_name = "<string>";
  detail::document_reader reader{run_config_schema(), source_name};
  if (auto parsed = reader.parse(toml_text, overrides); !parsed)
    return parsed;
  run_config config;
  config.source = source_name;
  reader.read(&config);
  if (!reader.failed())
    check_rules(reader, config);
  if (reader.failed())
    return reader.error();
  return config;
}

result<run_config>
load_run_config(const std::string& path,
                const std::vector<setting_override>& overrides) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto file_status = fs::status(path, ec);
  if (file_status.type() == fs::file_type::not_found)
    return status::error(status_code::not_found, path + ": no such file");
  if (ec)
    return status::error(status_code::io_error, path + ": " + ec.message());
  if (file_status.type() == fs::file_type::directory)
    return status::error(status_code::io_error, path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return status::error(status_code::io_error,
                         path + ": cannot open: " + std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  if (in.bad())
    return status::error(status_code::io_error, path + ": read failed");
  return parse_run_config(text, path, overrides);
}

} // namespace ormo::config
