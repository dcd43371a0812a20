// run_report: the CSV header and row format, and summary.json as valid JSON
// with the documented keys (checked by a small JSON reader below, no library).
#include "ormo/actors/run_report.hpp"

#include <cctype>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace ormo::actors;

namespace {

/// A strict reader of RFC 8259 JSON that records the top-level object's
/// members (their raw text).
class json_reader {
public:
  explicit json_reader(std::string text) : text_(std::move(text)) {}

  /// True when the whole text is one JSON value (whitespace around it).
  bool parse() {
    skip_space();
    if (!value(0))
      return false;
    skip_space();
    return position_ == text_.size();
  }

  std::map<std::string, std::string> members;
  /// The top-level keys in the order of the text.
  std::vector<std::string> keys;
  /// Top-level string members, decoded.
  std::map<std::string, std::string> strings;
  std::string error;

private:
  bool fail(const std::string& why) {
    if (error.empty())
      error = why + " at offset " + std::to_string(position_);
    return false;
  }

  void skip_space() {
    while (position_ < text_.size()
           && (text_[position_] == ' ' || text_[position_] == '\n'
               || text_[position_] == '\t' || text_[position_] == '\r'))
      ++position_;
  }

  bool literal(const char* word) {
    std::string w = word;
    if (text_.compare(position_, w.size(), w) != 0)
      return fail("bad literal");
    position_ += w.size();
    return true;
  }

  bool string(std::string* decoded) {
    if (position_ >= text_.size() || text_[position_] != '"')
      return fail("expected a string");
    ++position_;
    while (position_ < text_.size()) {
      char c = text_[position_++];
      if (c == '"')
        return true;
      if (static_cast<unsigned char>(c) < 0x20)
        return fail("raw control character in a string");
      if (c != '\\') {
        if (decoded)
          *decoded += c;
        continue;
      }
      if (position_ >= text_.size())
        return fail("unfinished escape");
      char e = text_[position_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          if (decoded)
            *decoded += e;
          break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          if (decoded)
            *decoded += e == 'n' ? '\n' : e == 't' ? '\t' : '?';
          break;
        case 'u': {
          unsigned code = 0;
          for (int k = 0; k < 4; ++k) {
            if (position_ >= text_.size()
                || !std::isxdigit(static_cast<unsigned char>(text_[position_])))
              return fail("bad \\u escape");
            code = code * 16
                   + static_cast<unsigned>(std::stoi(
                     std::string(1, text_[position_++]), nullptr, 16));
          }
          if (decoded)
            *decoded += static_cast<char>(code);
          break;
        }
        default:
          return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  bool digits() {
    auto start = position_;
    while (position_ < text_.size()
           && std::isdigit(static_cast<unsigned char>(text_[position_])))
      ++position_;
    return position_ > start;
  }

  bool number() {
    if (text_[position_] == '-')
      ++position_;
    if (position_ < text_.size() && text_[position_] == '0')
      ++position_;
    else if (!digits())
      return fail("bad number");
    if (position_ < text_.size() && text_[position_] == '.') {
      ++position_;
      if (!digits())
        return fail("bad fraction");
    }
    if (position_ < text_.size()
        && (text_[position_] == 'e' || text_[position_] == 'E')) {
      ++position_;
      if (position_ < text_.size()
          && (text_[position_] == '+' || text_[position_] == '-'))
        ++position_;
      if (!digits())
        return fail("bad exponent");
    }
    return true;
  }

  bool value(int depth) {
    if (position_ >= text_.size())
      return fail("expected a value");
    char c = text_[position_];
    if (c == '{')
      return object(depth);
    if (c == '[')
      return array(depth);
    if (c == '"')
      return string(nullptr);
    if (c == 't')
      return literal("true");
    if (c == 'f')
      return literal("false");
    if (c == 'n')
      return literal("null");
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c)))
      return number();
    return fail("unexpected character");
  }

  bool object(int depth) {
    ++position_; // {
    skip_space();
    if (position_ < text_.size() && text_[position_] == '}') {
      ++position_;
      return true;
    }
    for (;;) {
      skip_space();
      std::string key;
      if (!string(&key))
        return false;
      skip_space();
      if (position_ >= text_.size() || text_[position_] != ':')
        return fail("expected ':'");
      ++position_;
      skip_space();
      auto start = position_;
      std::string decoded;
      bool is_string = position_ < text_.size() && text_[position_] == '"';
      if (is_string && depth == 0) {
        if (!string(&decoded))
          return false;
      } else if (!value(depth + 1)) {
        return false;
      }
      if (depth == 0) {
        if (members.count(key) != 0)
          return fail("duplicate key " + key);
        members[key] = text_.substr(start, position_ - start);
        keys.push_back(key);
        if (is_string)
          strings[key] = decoded;
      }
      skip_space();
      if (position_ < text_.size() && text_[position_] == ',') {
        ++position_;
        continue;
      }
      if (position_ < text_.size() && text_[position_] == '}') {
        ++position_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(int depth) {
    ++position_; // [
    skip_space();
    if (position_ < text_.size() && text_[position_] == ']') {
      ++position_;
      return true;
    }
    for (;;) {
      skip_space();
      if (!value(depth + 1))
        return false;
      skip_space();
      if (position_ < text_.size() && text_[position_] == ',') {
        ++position_;
        continue;
      }
      if (position_ < text_.size() && text_[position_] == ']') {
        ++position_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  std::string text_;
  std::size_t position_ = 0;
};

/// `json` without the whitespace outside strings (layout is not content).
std::string compact(const std::string& json) {
  std::string result;
  bool in_string = false;
  for (std::size_t k = 0; k < json.size(); ++k) {
    char c = json[k];
    if (in_string) {
      result += c;
      if (c == '\\' && k + 1 < json.size())
        result += json[++k];
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
      result += c;
    } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      result += c;
    }
  }
  return result;
}

run_report sample_report() {
  run_report r;
  r.algorithm = "ormo";
  r.apply = "on_arrival";
  r.workers = 4;
  r.iteration_size = 4;
  r.iterations = 1234;
  r.epochs = 2.5;
  r.gradients_received = 5000;
  r.gradients_applied = 4990;
  r.gradients_rejected = {{"duplicate_sequence", 3}, {"non_finite_value", 7}};
  r.gradients_duplicate = 2;
  r.retries = 1;
  r.gradients_lost = 4;
  r.mean_delay = 1.75;
  r.max_delay = 6;
  r.final_train_loss = 0.5;
  r.final_test_loss = NAN;
  r.final_test_accuracy = 0.875;
  r.time_seconds = 12.5;
  r.wall_seconds = 3.25;
  r.samples_per_second = 12774.4;
  r.deterministic = true;
  r.seed = 42;
  r.stop_reason = "epochs";
  r.joined = 5;
  r.crashed = 1;
  r.restarted = 1;
  r.restarts = 1;
  r.faults_injected = {{"kill_worker", 1}, {"drop", 3}};
  r.failure = "worker said \"no\" \\ twice\nthen\ttabbed \x01";
  return r;
}

} // namespace

TEST_CASE("run_report: CSV header and rows") {
  metrics_row row;
  row.time_s = 1.5;
  row.wall_s = 0.25;
  row.epoch = 0.5;
  row.iteration = 7;
  row.gradients = 42;
  row.train_loss = 2.25;
  row.test_loss = NAN;
  row.test_accuracy = 0.875;
  row.rejected = 3;
  row.samples_per_second = 1000;
  metrics_row second;
  second.time_s = 0.1;
  second.epoch = 1.0 / 3.0;
  CHECK(to_csv({})
        == "time_s,wall_s,epoch,iteration,gradients,train_loss,"
           "test_loss,test_accuracy,rejected,samples_per_second\n");
  CHECK(to_csv({row, second})
        == "time_s,wall_s,epoch,iteration,gradients,train_loss,test_loss,"
           "test_accuracy,rejected,samples_per_second\n"
           "1.5,0.25,0.5,7,42,2.25,,0.875,3,1000\n"
           "0.1,0,0.333333333,0,0,0,0,0,0,0\n");
}

TEST_CASE("run_report: summary JSON is valid and has the documented keys") {
  const auto report = sample_report();
  const auto text = to_json(report);
  json_reader reader(text);
  REQUIRE_MESSAGE(reader.parse(), reader.error << "\n" << text);
  for (const char* key : {"algorithm",
                          "workers",
                          "iterations",
                          "gradients_received",
                          "gradients_applied",
                          "gradients_partial",
                          "gradients_rejected",
                          "gradients_duplicate",
                          "retries",
                          "gradients_lost",
                          "final_train_loss",
                          "final_test_accuracy",
                          "wall_seconds",
                          "samples_per_second",
                          "apply",
                          "iteration_size",
                          "epochs",
                          "mean_delay",
                          "max_delay",
                          "delay_percentiles",
                          "final_test_loss",
                          "time_seconds",
                          "deterministic",
                          "seed",
                          "stop_reason",
                          "membership",
                          "last_failure",
                          "failure"}) {
    CAPTURE(key);
    CHECK(reader.members.count(key) == 1);
  }
  const auto& m = reader.members;
  CHECK(m.at("algorithm") == "\"ormo\"");
  CHECK(m.at("workers") == "4");
  CHECK(m.at("iterations") == "1234");
  CHECK(m.at("gradients_received") == "5000");
  CHECK(m.at("gradients_applied") == "4990");
  CHECK(m.at("gradients_partial") == "0");
  CHECK(m.at("gradients_duplicate") == "2");
  CHECK(m.at("retries") == "1");
  CHECK(m.at("gradients_lost") == "4");
  CHECK(compact(m.at("gradients_rejected"))
        == "{\"duplicate_sequence\":3,\"non_finite_value\":7}");
  CHECK(m.at("final_train_loss") == "0.5");
  CHECK(m.at("final_test_loss") == "null");
  CHECK(m.at("final_test_accuracy") == "0.875");
  CHECK(m.at("wall_seconds") == "3.25");
  CHECK(m.at("samples_per_second") == "12774.4");
  CHECK(m.at("deterministic") == "true");
  CHECK(m.at("throughput_vs_compute_bound") == "null");
  CHECK(compact(m.at("membership"))
        == "{\"joined\":5,\"crashed\":1,\"restarted\":1,\"evicted\":0,"
           "\"left\":0,\"lost\":0,\"nodes_lost\":0}");
  CHECK(m.at("restarts") == "1");
  CHECK(compact(m.at("faults_injected")) == "{\"drop\":3,\"kill_worker\":1}");
  CHECK(m.at("last_failure") == "null");
  // The failure string survives the escaping.
  CHECK(reader.strings.at("failure") == report.failure);
}

TEST_CASE("run_report: summary JSON of a successful run") {
  run_report report;
  report.compute_bound_samples_per_second = 2000;
  report.samples_per_second = 500;
  const auto text = to_json(report);
  json_reader reader(text);
  REQUIRE_MESSAGE(reader.parse(), reader.error << "\n" << text);
  CHECK(reader.members.at("failure") == "null");
  CHECK(reader.members.at("gradients_rejected") == "{}");
  CHECK(reader.members.at("throughput_vs_compute_bound") == "0.25");
  CHECK(reader.members.at("deterministic") == "false");
  CHECK(reader.strings.at("algorithm").empty());
}

TEST_CASE("run_report: summary JSON keeps its key order and number forms") {
  auto report = sample_report();
  report.mean_delay = 1.0 / 3.0;
  report.compute_bound_samples_per_second = 12774.4 * 4;
  const auto text = to_json(report);
  json_reader reader(text);
  REQUIRE_MESSAGE(reader.parse(), reader.error << "\n" << text);
  CHECK(reader.keys
        == std::vector<std::string>{"algorithm",
                                    "apply",
                                    "workers",
                                    "iteration_size",
                                    "iterations",
                                    "epochs",
                                    "gradients_received",
                                    "gradients_applied",
                                    "gradients_partial",
                                    "gradients_rejected",
                                    "gradients_duplicate",
                                    "retries",
                                    "gradients_lost",
                                    "mean_delay",
                                    "max_delay",
                                    "delay_percentiles",
                                    "final_train_loss",
                                    "final_test_loss",
                                    "final_test_accuracy",
                                    "time_seconds",
                                    "wall_seconds",
                                    "samples_per_second",
                                    "compute_bound_samples_per_second",
                                    "throughput_vs_compute_bound",
                                    "deterministic",
                                    "seed",
                                    "resumed_from",
                                    "stop_reason",
                                    "membership",
                                    "restarts",
                                    "shard_restarts",
                                    "gradients_rolled_back",
                                    "faults_injected",
                                    "last_failure",
                                    "failure"});
  // Nine significant digits, as metrics.csv; integers stay integers.
  CHECK(reader.members.at("mean_delay") == "0.333333333");
  CHECK(reader.members.at("throughput_vs_compute_bound") == "0.25");
  CHECK(reader.members.at("max_delay") == "6");
  CHECK(reader.members.at("seed") == "42");
  CHECK(reader.members.at("iteration_size") == "4");
  CHECK(text.back() == '\n');
}

TEST_CASE("run_report: summary JSON of a failure message that is not UTF-8") {
  run_report report;
  report.failure = "bad byte \xff here";
  const auto text = to_json(report);
  json_reader reader(text);
  REQUIRE_MESSAGE(reader.parse(), reader.error << "\n" << text);
  CHECK(reader.strings.at("failure") == "bad byte \xef\xbf\xbd here");
}
