#include "ormo/actors/run_report.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <nlohmann/json.hpp>

namespace ormo::actors {

namespace {

/// Nine significant digits (a float round-trips); NaN and infinities, which
/// JSON lacks, become `missing`.
std::string number(double value, const char* missing = "null") {
  if (!std::isfinite(value))
    return missing;
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

/// A CSV field: no value is an empty field (what pandas, R and gnuplot
/// read as missing).
std::string csv_number(double value) {
  return number(value, "");
}

/// A JSON number with the precision of number() (so summary.json and
/// metrics.csv agree), or null for NaN and infinities.
nlohmann::ordered_json json_number(double value) {
  if (!std::isfinite(value))
    return nullptr;
  return std::strtod(number(value).c_str(), nullptr);
}

} // namespace

std::string csv_header() {
  return "time_s,wall_s,epoch,iteration,gradients,train_loss,test_loss,"
         "test_accuracy,rejected,samples_per_second\n";
}

std::string to_csv_line(const metrics_row& row) {
  std::ostringstream out;
  out << csv_number(row.time_s) << ',' << csv_number(row.wall_s) << ','
      << csv_number(row.epoch) << ',' << row.iteration << ',' << row.gradients
      << ',' << csv_number(row.train_loss) << ',' << csv_number(row.test_loss)
      << ',' << csv_number(row.test_accuracy) << ',' << row.rejected << ','
      << csv_number(row.samples_per_second) << '\n';
  return out.str();
}

std::string to_csv(const std::vector<metrics_row>& rows) {
  std::string result = csv_header();
  for (const auto& row : rows)
    result += to_csv_line(row);
  return result;
}

std::string to_json(const run_report& r) {
  nlohmann::ordered_json json;
  json["algorithm"] = r.algorithm;
  json["apply"] = r.apply;
  json["workers"] = r.workers;
  json["iteration_size"] = r.iteration_size;
  json["iterations"] = r.iterations;
  json["epochs"] = json_number(r.epochs);
  json["gradients_received"] = r.gradients_received;
  json["gradients_applied"] = r.gradients_applied;
  json["gradients_partial"] = r.gradients_partial;
  json["gradients_rejected"] = nlohmann::ordered_json::object();
  for (const auto& [reason, count] : r.gradients_rejected)
    json["gradients_rejected"][reason] = count;
  json["gradients_duplicate"] = r.gradients_duplicate;
  json["retries"] = r.retries;
  json["gradients_lost"] = r.gradients_lost;
  json["mean_delay"] = json_number(r.mean_delay);
  json["max_delay"] = r.max_delay;
  json["delay_percentiles"] = {{"p50", r.delay_p50},
                               {"p90", r.delay_p90},
                               {"p99", r.delay_p99},
                               {"p99.9", r.delay_p999}};
  json["final_train_loss"] = json_number(r.final_train_loss);
  json["final_test_loss"] = json_number(r.final_test_loss);
  json["final_test_accuracy"] = json_number(r.final_test_accuracy);
  json["time_seconds"] = json_number(r.time_seconds);
  json["wall_seconds"] = json_number(r.wall_seconds);
  json["samples_per_second"] = json_number(r.samples_per_second);
  json["compute_bound_samples_per_second"]
    = json_number(r.compute_bound_samples_per_second);
  json["throughput_vs_compute_bound"] = nullptr;
  if (r.compute_bound_samples_per_second > 0)
    json["throughput_vs_compute_bound"]
      = json_number(r.samples_per_second / r.compute_bound_samples_per_second);
  json["deterministic"] = r.deterministic;
  json["seed"] = r.seed;
  json["resumed_from"] = r.resumed_from;
  json["stop_reason"] = r.stop_reason;
  json["membership"] = {{"joined", r.joined},
                        {"crashed", r.crashed},
                        {"restarted", r.restarted},
                        {"evicted", r.evicted},
                        {"left", r.left},
                        {"lost", r.lost},
                        {"nodes_lost", r.nodes_lost}};
  json["restarts"] = r.restarts;
  json["shard_restarts"] = r.shard_restarts;
  json["gradients_rolled_back"] = r.gradients_rolled_back;
  json["faults_injected"] = nlohmann::ordered_json::object();
  for (const auto& [kind, count] : r.faults_injected)
    json["faults_injected"][kind] = count;
  json["last_failure"] = nullptr;
  if (!r.last_failure.empty())
    json["last_failure"] = r.last_failure;
  json["failure"] = nullptr;
  if (!r.failure.empty())
    json["failure"] = r.failure;
  // Invalid UTF-8 (say in a failure message) is replaced, not thrown.
  return json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
         + '\n';
}

} // namespace ormo::actors
