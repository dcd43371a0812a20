#include "ormo/data/synthetic.hpp"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "ormo/random.hpp"

namespace ormo::data {

namespace {

/// Caps features per set (16 GiB of floats) against typos like 1e12 samples.
constexpr std::uint64_t max_values = std::uint64_t{1} << 32;

status invalid(const char* field, const std::string& what) {
  return status::error(status_code::invalid_argument,
                       std::string{"synthetic_settings."} + field + ": "
                         + what);
}

status validate(const synthetic_settings& settings) {
  if (settings.inputs < 1)
    return invalid("inputs",
                   std::to_string(settings.inputs) + " must be at least 1");
  if (settings.classes < 2)
    return invalid("classes",
                   std::to_string(settings.classes) + " must be at least 2");
  if (settings.train_samples < 1)
    return invalid("train_samples", "0 must be at least 1");
  const auto inputs = static_cast<std::uint64_t>(settings.inputs);
  for (auto [field, samples] :
       {std::pair{"train_samples", settings.train_samples},
        std::pair{"test_samples", settings.test_samples}})
    if (samples > max_values / inputs)
      return invalid(field, std::to_string(samples) + " samples of "
                              + std::to_string(inputs)
                              + " inputs exceed 2^32 values");
  if (!std::isfinite(settings.noise) || settings.noise < 0)
    return invalid("noise",
                   std::to_string(settings.noise) + " must be finite and >= 0");
  if (settings.informative < 1 || settings.informative > settings.inputs)
    return invalid("informative",
                   std::to_string(settings.informative) + " must be in [1, "
                     + std::to_string(settings.inputs) + "] (inputs)");
  if (settings.clusters_per_class < 1)
    return invalid("clusters_per_class",
                   std::to_string(settings.clusters_per_class)
                     + " must be at least 1");
  return status::ok();
}

/// The fixed part of the problem: cluster centres, already mapped into the
/// input space (inputs x clusters, cluster c * clusters_per_class + m).
struct centres {
  std::vector<double> values;
  int inputs;
  int clusters_per_class;
};

centres draw_centres(const synthetic_settings& settings,
                     random_source& random) {
  const auto inputs = static_cast<std::size_t>(settings.inputs);
  const auto informative = static_cast<std::size_t>(settings.informative);
  // Orthonormal basis of a random subspace: Gram-Schmidt on Gaussian
  // vectors, which are independent with probability 1. The Gaussian
  // direction keeps the subspace uniformly distributed.
  std::vector<double> basis(inputs * informative);
  for (std::size_t k = 0; k < informative; ++k) {
    double* column = basis.data() + k * inputs;
    double norm = 0;
    do {
      for (std::size_t i = 0; i < inputs; ++i)
        column[i] = random.normal();
      for (std::size_t l = 0; l < k; ++l) {
        const double* previous = basis.data() + l * inputs;
        double dot = 0;
        for (std::size_t i = 0; i < inputs; ++i)
          dot += previous[i] * column[i];
        for (std::size_t i = 0; i < inputs; ++i)
          column[i] -= dot * previous[i];
      }
      norm = 0;
      for (std::size_t i = 0; i < inputs; ++i)
        norm += column[i] * column[i];
      norm = std::sqrt(norm);
    } while (norm < 1e-6);
    for (std::size_t i = 0; i < inputs; ++i)
      column[i] /= norm;
  }
  const auto clusters = static_cast<std::size_t>(settings.classes)
                        * static_cast<std::size_t>(settings.clusters_per_class);
  centres result{std::vector<double>(inputs * clusters, 0.0), settings.inputs,
                 settings.clusters_per_class};
  std::vector<double> coordinates(informative);
  for (std::size_t c = 0; c < clusters; ++c) {
    for (auto& x : coordinates)
      x = random.normal();
    double* centre = result.values.data() + c * inputs;
    for (std::size_t k = 0; k < informative; ++k)
      for (std::size_t i = 0; i < inputs; ++i)
        centre[i] += coordinates[k] * basis[k * inputs + i];
  }
  return result;
}

dataset draw_samples(const synthetic_settings& settings, const centres& centres,
                     std::size_t samples, std::uint64_t seed,
                     const char* name) {
  // Each feature has variance informative / inputs from the centres plus
  // noise^2; dividing by its root makes it about 1.
  const double scale
    = 1.0
      / std::sqrt(static_cast<double>(settings.informative) / settings.inputs
                  + settings.noise * settings.noise);
  const double noise = settings.noise;
  const auto inputs = static_cast<Eigen::Index>(settings.inputs);
  const auto count = static_cast<Eigen::Index>(samples);
  dataset result;
  result.name = name;
  result.classes = settings.classes;
  result.features.resize(inputs, count);
  result.labels.resize(count);
  random_source random{seed};
  for (Eigen::Index j = 0; j < count; ++j) {
    const auto label = static_cast<int>(
      random.below(static_cast<std::uint64_t>(settings.classes)));
    const auto cluster = static_cast<std::size_t>(
      label * centres.clusters_per_class
      + static_cast<int>(
        random.below(static_cast<std::uint64_t>(centres.clusters_per_class))));
    const double* centre
      = centres.values.data() + cluster * static_cast<std::size_t>(inputs);
    float* column = result.features.data() + j * inputs;
    for (Eigen::Index i = 0; i < inputs; ++i)
      column[i]
        = static_cast<float>((centre[i] + noise * random.normal()) * scale);
    result.labels[j] = label;
  }
  return result;
}

} // namespace

result<train_test_split> make_synthetic(const synthetic_settings& settings) {
  if (auto valid = validate(settings); !valid)
    return valid;
  // Independent streams, so each set depends only on its own size.
  random_source centre_random{random_source::derive_seed(settings.seed, 0)};
  const auto fixed = draw_centres(settings, centre_random);
  return train_test_split{
    draw_samples(settings, fixed, settings.train_samples,
                 random_source::derive_seed(settings.seed, 1),
                 "synthetic-train"),
    draw_samples(settings, fixed, settings.test_samples,
                 random_source::derive_seed(settings.seed, 2),
                 "synthetic-test")};
}

} // namespace ormo::data
