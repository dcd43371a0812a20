#include "ormo/optim/make_update_rule.hpp"

#include <cmath>
#include <sstream>
#include <string>

#include "ormo/optim/asgd.hpp"
#include "ormo/optim/naive_momentum.hpp"
#include "ormo/optim/shifted_momentum.hpp"
#include "ormo/optim/smega2.hpp"
#include "ormo/optim/synchronous_momentum.hpp"

namespace ormo::optim {

namespace {

constexpr std::pair<algorithm, const char*> algorithm_names[] = {
  {algorithm::ssgdm, "ssgdm"},
  {algorithm::asgd, "asgd"},
  {algorithm::asgd_da, "asgd-da"},
  {algorithm::naive_asgdm, "naive-asgdm"},
  {algorithm::ormo, "ormo"},
  {algorithm::ormo_da, "ormo-da"},
  {algorithm::shifted_momentum, "shifted-momentum"},
  {algorithm::smega2, "smega2"},
};

status invalid(const std::string& what) {
  return status::error(status_code::invalid_argument, what);
}

/// "must be positive", "must be in [0, 1)": the range in words.
std::string must_be(const real_range& range) {
  std::ostringstream out;
  out << "must be ";
  if (std::isinf(range.hi)) {
    if (range.lo == 0 && range.lo_open)
      out << "positive";
    else
      out << (range.lo_open ? "> " : ">= ") << range.lo;
  } else {
    out << "in " << (range.lo_open ? '(' : '[') << range.lo << ", " << range.hi
        << (range.hi_open ? ')' : ']');
  }
  return out.str();
}

} // namespace

const char* to_string(algorithm value) {
  for (auto [known, name] : algorithm_names)
    if (known == value)
      return name;
  return "unknown";
}

std::optional<algorithm> parse_algorithm(std::string_view name) {
  for (auto [known, known_name] : algorithm_names)
    if (name == known_name)
      return known;
  return std::nullopt;
}

std::optional<apply_mode> parse_apply_mode(std::string_view name) {
  for (auto mode : {apply_mode::on_close, apply_mode::on_arrival})
    if (name == to_string(mode))
      return mode;
  return std::nullopt;
}

result<std::unique_ptr<update_rule>>
make_update_rule(const algorithm_settings& settings, std::size_t dimension,
                 int iteration_size) {
  if (dimension == 0)
    return invalid("the model has no parameters");
  if (iteration_size < 1)
    return invalid("iteration size " + std::to_string(iteration_size)
                   + " must be at least 1");
  if (!learning_rate_range.contains(settings.learning_rate))
    return invalid("learning rate " + std::to_string(settings.learning_rate)
                   + " " + must_be(learning_rate_range));
  if (!momentum_range.contains(settings.momentum))
    return invalid("momentum " + std::to_string(settings.momentum) + " "
                   + must_be(momentum_range));
  if (!delay_threshold_range.contains(settings.delay_threshold))
    return invalid("delay threshold " + std::to_string(settings.delay_threshold)
                   + " " + must_be(delay_threshold_range));
  const double rate = settings.learning_rate;
  const double beta = settings.momentum;
  std::unique_ptr<update_rule> rule;
  switch (settings.name) {
    case algorithm::ssgdm:
      rule = std::make_unique<synchronous_momentum>(
        dimension, iteration_size, synchronous_momentum_settings{rate, beta});
      break;
    case algorithm::asgd:
      rule = std::make_unique<asgd>(dimension, iteration_size,
                                    asgd_settings{rate, std::nullopt});
      break;
    case algorithm::asgd_da:
      rule
        = std::make_unique<asgd>(dimension, iteration_size,
                                 asgd_settings{rate, settings.delay_threshold});
      break;
    case algorithm::naive_asgdm:
      rule = std::make_unique<naive_momentum>(
        dimension, iteration_size, naive_momentum_settings{rate, beta});
      break;
    case algorithm::ormo:
    case algorithm::ormo_da: {
      ordered_momentum_settings ordered{rate, beta, settings.apply,
                                        std::nullopt};
      if (settings.name == algorithm::ormo_da)
        ordered.delay_threshold = settings.delay_threshold;
      rule = std::make_unique<ordered_momentum>(dimension, iteration_size,
                                                ordered);
      break;
    }
    case algorithm::shifted_momentum:
      rule = std::make_unique<shifted_momentum>(
        dimension, iteration_size, shifted_momentum_settings{rate, beta});
      break;
    case algorithm::smega2:
      rule = std::make_unique<smega2>(dimension, iteration_size,
                                      smega2_settings{rate, beta});
      break;
  }
  return rule;
}

} // namespace ormo::optim
