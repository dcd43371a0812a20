// The sizes a run configuration implies before any data is loaded or any
// memory allocated: what validation and the memory check reason about.
//
// Thread-safety: free functions without shared state.
#pragma once

#include <cstdint>

#include "ormo/config/run_config.hpp"

namespace ormo::config {

struct run_sizes {
  /// Features per sample and classes (Fashion-MNIST: as distributed).
  std::uint64_t inputs = 0;
  std::uint64_t classes = 0;
  std::uint64_t train_samples = 0;
  std::uint64_t test_samples = 0;
  /// The model's parameters (saturating at UINT64_MAX).
  std::uint64_t parameters = 0;
  /// The sum of the model's layer widths (hidden and output), the
  /// activations one sample needs.
  std::uint64_t activations_per_sample = 0;
};

/// The sizes `config` describes; for Fashion-MNIST those of the
/// distributed files (784 inputs, 10 classes, 60000 + 10000 samples).
run_sizes sizes_of(const run_config& config);

/// A lower bound of the bytes one process of the run allocates when it
/// runs `workers` of its workers, hosts all of its parameter shards and
/// holds the data: the data set's features, the parameters once per
/// worker plus the server's copy, and each worker's minibatch and
/// activations. Saturates at UINT64_MAX.
std::uint64_t minimum_memory_bytes(const run_config& config,
                                   std::uint64_t workers);

} // namespace ormo::config
