#include "ormo/actors/run_report.hpp"

#include <cmath>
#include <cstdio>
#include <sstream>

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

std::string quoted(const std::string& text) {
  std::string result = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        result += "\\\"";
        break;
      case '\\':
        result += "\\\\";
        break;
      case '\n':
        result += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          result += escaped;
        } else {
          result += c;
        }
    }
  }
  return result + "\"";
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
  std::ostringstream out;
  out << "{\n";
  auto field
    = [&](const char* name, const std::string& value, bool last = false) {
        out << "  \"" << name << "\": " << value << (last ? "\n" : ",\n");
      };
  field("algorithm", quoted(r.algorithm));
  field("apply", quoted(r.apply));
  field("workers", std::to_string(r.workers));
  field("iteration_size", std::to_string(r.iteration_size));
  field("iterations", std::to_string(r.iterations));
  field("epochs", number(r.epochs));
  field("gradients_received", std::to_string(r.gradients_received));
  field("gradients_applied", std::to_string(r.gradients_applied));
  field("gradients_partial", std::to_string(r.gradients_partial));
  std::string rejected = "{";
  for (const auto& [reason, count] : r.gradients_rejected)
    rejected += (rejected.size() > 1 ? ", " : "") + quoted(reason) + ": "
                + std::to_string(count);
  field("gradients_rejected", rejected + "}");
  field("mean_delay", number(r.mean_delay));
  field("max_delay", std::to_string(r.max_delay));
  field("final_train_loss", number(r.final_train_loss));
  field("final_test_loss", number(r.final_test_loss));
  field("final_test_accuracy", number(r.final_test_accuracy));
  field("time_seconds", number(r.time_seconds));
  field("wall_seconds", number(r.wall_seconds));
  field("samples_per_second", number(r.samples_per_second));
  field("compute_bound_samples_per_second",
        number(r.compute_bound_samples_per_second));
  field("throughput_vs_compute_bound",
        r.compute_bound_samples_per_second > 0
          ? number(r.samples_per_second / r.compute_bound_samples_per_second)
          : "null");
  field("deterministic", r.deterministic ? "true" : "false");
  field("seed", std::to_string(r.seed));
  field("stop_reason", quoted(r.stop_reason));
  out << "  \"membership\": {\"joined\": " << r.joined
      << ", \"crashed\": " << r.crashed << ", \"restarted\": " << r.restarted
      << ", \"evicted\": " << r.evicted << ", \"left\": " << r.left << "},\n";
  field("failure", r.failure.empty() ? "null" : quoted(r.failure), true);
  out << "}\n";
  return out.str();
}

} // namespace ormo::actors
