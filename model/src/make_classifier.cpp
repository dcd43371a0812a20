#include "ormo/model/make_classifier.hpp"

#include <limits>
#include <string>
#include <utility>

#include "ormo/model/mlp.hpp"
#include "ormo/model/softmax_regression.hpp"

namespace ormo::model {

namespace {

constexpr std::pair<model_kind, const char*> model_kind_names[] = {
  {model_kind::softmax, "softmax"},
  {model_kind::mlp, "mlp"},
};

status invalid(const std::string& what) {
  return status::error(status_code::invalid_argument, what);
}

} // namespace

const char* to_string(model_kind kind) {
  for (auto [known, name] : model_kind_names)
    if (known == kind)
      return name;
  return "unknown";
}

std::optional<model_kind> parse_model_kind(std::string_view name) {
  for (auto [known, known_name] : model_kind_names)
    if (name == known_name)
      return known;
  return std::nullopt;
}

std::uint64_t classifier_dimension(int inputs, const std::vector<int>& hidden,
                                   int classes) {
  constexpr auto saturated = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t total = 0;
  auto in = static_cast<std::uint64_t>(inputs);
  auto add_layer = [&](std::uint64_t out) {
    // out * (in + 1) with both below 2^32 fits in 64 bits.
    auto layer = out * (in + 1);
    total = total > saturated - layer ? saturated : total + layer;
    in = out;
  };
  for (auto size : hidden)
    add_layer(static_cast<std::uint64_t>(size));
  add_layer(static_cast<std::uint64_t>(classes));
  return total;
}

result<std::unique_ptr<gradient_function>>
make_classifier(model_kind kind, int inputs, const std::vector<int>& hidden,
                int classes) {
  if (inputs < 1)
    return invalid("inputs " + std::to_string(inputs) + " must be at least 1");
  if (classes < 2)
    return invalid("classes " + std::to_string(classes)
                   + " must be at least 2");
  for (std::size_t l = 0; l < hidden.size(); ++l)
    if (hidden[l] < 1)
      return invalid("hidden layer " + std::to_string(l) + " has size "
                     + std::to_string(hidden[l]) + "; it must be at least 1");
  if (auto dimension = classifier_dimension(inputs, hidden, classes);
      dimension > max_classifier_dimension)
    return invalid("a classifier of " + std::to_string(dimension)
                   + " parameters is larger than the "
                   + std::to_string(max_classifier_dimension) + " allowed ("
                   + std::to_string(inputs) + " inputs, "
                   + std::to_string(hidden.size()) + " hidden layers, "
                   + std::to_string(classes) + " classes)");
  std::unique_ptr<gradient_function> model;
  switch (kind) {
    case model_kind::softmax:
      if (!hidden.empty())
        return invalid("softmax has no hidden layers, but "
                       + std::to_string(hidden.size())
                       + " hidden sizes were given");
      model = std::make_unique<softmax_regression>(inputs, classes);
      break;
    case model_kind::mlp:
      model = std::make_unique<mlp>(inputs, hidden, classes);
      break;
  }
  if (!model)
    return invalid("unknown model kind "
                   + std::to_string(static_cast<int>(kind)));
  return model;
}

} // namespace ormo::model
