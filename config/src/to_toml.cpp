#include "ormo/config/parse_run_config.hpp"

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "toml_text.hpp"

namespace ormo::config {

namespace {

using detail::format_double;
using detail::quote;

/// Writes `key = value` lines in the order of docs/configuration.md.
class toml_writer {
public:
  void table(const char* name) {
    if (!first_table_)
      out_ << '\n';
    first_table_ = false;
    out_ << '[' << name << "]\n";
  }

  void number(const char* key, double value) {
    out_ << key << " = " << format_double(value, true) << '\n';
  }

  void integer(const char* key, std::int64_t value) {
    out_ << key << " = " << value << '\n';
  }

  void boolean(const char* key, bool value) {
    out_ << key << " = " << (value ? "true" : "false") << '\n';
  }

  void text(const char* key, std::string_view value) {
    out_ << key << " = " << quote(value) << '\n';
  }

  template <class T>
  void list(const char* key, const std::vector<T>& values) {
    out_ << key << " = [";
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0)
        out_ << ", ";
      if constexpr (std::is_floating_point_v<T>)
        out_ << format_double(values[i], true);
      else
        out_ << values[i];
    }
    out_ << "]\n";
  }

  void comment(std::string_view line) {
    out_ << "# ";
    // A comment ends at a line break: keep the source name on one line.
    for (char c : line)
      out_ << (static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
    out_ << '\n';
  }

  void blank() { out_ << '\n'; }

  std::string str() const { return out_.str(); }

private:
  std::ostringstream out_;
  bool first_table_ = true;
};

} // namespace

std::string to_toml(const run_config& config) {
  toml_writer out;
  out.comment(
    "ormo run configuration, resolved from "
    + (config.source.empty() ? std::string{"<unknown>"} : config.source) + ".");
  out.comment("Every key is listed; see docs/configuration.md.");
  out.blank();

  const auto& run = config.run;
  out.table("run");
  out.integer("seed", static_cast<std::int64_t>(run.seed));
  out.boolean("deterministic", run.deterministic);
  out.number("stop_epochs", run.stop.epochs);
  out.integer("stop_iterations", run.stop.iterations);
  out.number("stop_seconds", run.stop.seconds);
  out.number("stop_accuracy", run.stop.accuracy);

  const auto& algorithm = config.algorithm;
  out.table("algorithm");
  out.text("name", optim::to_string(algorithm.settings.name));
  out.number("learning_rate", algorithm.settings.learning_rate);
  out.number("momentum", algorithm.settings.momentum);
  if (algorithm.iteration_size)
    out.integer("iteration_size", *algorithm.iteration_size);
  else
    out.text("iteration_size", "workers");
  out.number("delay_threshold", algorithm.settings.delay_threshold);
  out.text("apply", optim::to_string(algorithm.settings.apply));
  out.integer("warmup_iterations", algorithm.warmup_iterations);

  const auto& model = config.model;
  out.table("model");
  out.text("kind", model::to_string(model.kind));
  out.list("hidden", model.hidden);
  out.integer("batch_size", model.batch_size);

  const auto& data = config.data;
  out.table("data");
  out.text("source", to_string(data.source));
  out.text("path", data.path);
  out.integer("inputs", data.inputs);
  out.integer("classes", data.classes);
  out.integer("train_samples", data.train_samples);
  out.integer("test_samples", data.test_samples);
  out.number("noise", data.noise);

  const auto& workers = config.workers;
  out.table("workers");
  out.integer("count", workers.count);
  out.number("compute_ms", workers.compute_ms);
  out.number("compute_jitter", workers.compute_jitter);
  out.integer("restart_limit", workers.restart_limit);
  out.number("request_timeout_s", workers.request_timeout_s);

  const auto& speed = workers.speed;
  out.table("workers.speed");
  out.text("profile", to_string(speed.profile));
  out.list("factors", speed.factors);
  out.number("fraction", speed.fraction);
  out.number("factor", speed.factor);
  out.number("sigma", speed.sigma);

  out.table("server");
  out.integer("shards", config.server.shards);

  const auto& output = config.output;
  out.table("output");
  out.text("dir", output.dir);
  out.number("progress_seconds", output.progress_seconds);
  out.number("evaluations_per_epoch", output.evaluations_per_epoch);
  return out.str();
}

} // namespace ormo::config
