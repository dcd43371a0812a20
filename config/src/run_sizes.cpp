#include "ormo/config/run_sizes.hpp"

#include <limits>

#include "ormo/data/idx_reader.hpp"
#include "ormo/model/make_classifier.hpp"

namespace ormo::config {

namespace {

constexpr auto saturated = std::numeric_limits<std::uint64_t>::max();

std::uint64_t times(std::uint64_t a, std::uint64_t b) {
  return a != 0 && b > saturated / a ? saturated : a * b;
}

std::uint64_t plus(std::uint64_t a, std::uint64_t b) {
  return a > saturated - b ? saturated : a + b;
}

} // namespace

run_sizes sizes_of(const run_config& config) {
  run_sizes sizes;
  if (config.data.source == data_source::fashion_mnist) {
    sizes.inputs = data::fashion_mnist::inputs;
    sizes.classes = data::fashion_mnist::classes;
    sizes.train_samples = data::fashion_mnist::train_samples;
    sizes.test_samples = data::fashion_mnist::test_samples;
  } else {
    sizes.inputs = static_cast<std::uint64_t>(config.data.inputs);
    sizes.classes = static_cast<std::uint64_t>(config.data.classes);
    sizes.train_samples = static_cast<std::uint64_t>(config.data.train_samples);
    sizes.test_samples = static_cast<std::uint64_t>(config.data.test_samples);
  }
  sizes.parameters = model::classifier_dimension(
    static_cast<int>(sizes.inputs), config.model.hidden,
    static_cast<int>(sizes.classes));
  sizes.activations_per_sample = sizes.classes;
  for (auto width : config.model.hidden)
    sizes.activations_per_sample += static_cast<std::uint64_t>(width);
  return sizes;
}

std::uint64_t minimum_memory_bytes(const run_config& config,
                                   std::uint64_t workers) {
  auto sizes = sizes_of(config);
  constexpr std::uint64_t float_bytes = sizeof(float);
  auto data
    = times(plus(sizes.train_samples, sizes.test_samples), sizes.inputs);
  auto parameters = times(sizes.parameters, plus(workers, 1));
  auto batch = static_cast<std::uint64_t>(config.model.batch_size);
  auto per_worker
    = times(batch, plus(sizes.inputs, sizes.activations_per_sample));
  return times(float_bytes,
               plus(plus(data, parameters), times(per_worker, workers)));
}

} // namespace ormo::config
