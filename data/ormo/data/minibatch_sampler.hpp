// Draws the minibatches of one worker from its shard of a data set.
//
// Lifetime: a sampler keeps a pointer to the data set it was made from. The
// data set must outlive the sampler and must not be resized while the
// sampler exists.
//
// Thread-safety: a sampler is not thread-safe; give each worker its own.
// Samplers over the same data set may draw concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ormo/data/dataset.hpp"
#include "ormo/data/minibatch.hpp"
#include "ormo/random.hpp"
#include "ormo/status.hpp"

namespace ormo::data {

/// Epoch-wise sampling without replacement: each epoch visits every index of
/// the shard once, in a fresh seeded permutation. A batch that crosses the
/// end of an epoch continues into the next epoch's permutation, so every
/// batch is full and the draw sequence is a concatenation of permutations.
class minibatch_sampler {
public:
  /// Builds a sampler over `indices` (the shard: column indices into
  /// `data`, duplicates allowed) drawing `batch_size` samples per batch,
  /// shuffled from `seed`. A batch larger than the shard is allowed; it
  /// spans several epochs. Fails with invalid_argument when batch_size is 0,
  /// indices is empty, an index is >= data.size(), or data's feature
  /// columns and labels disagree in number.
  static result<minibatch_sampler> make(const dataset& data,
                                        std::vector<std::size_t> indices,
                                        std::size_t batch_size,
                                        std::uint64_t seed);

  /// A temporary data set would dangle.
  static result<minibatch_sampler>
  make(const dataset&& data, std::vector<std::size_t> indices,
       std::size_t batch_size, std::uint64_t seed)
    = delete;

  /// Overwrites `out` with the next batch_size() samples: out.features
  /// becomes data.inputs() x batch_size(), out.labels has batch_size()
  /// entries. Reuses out's storage when it has that shape already, so a
  /// minibatch passed to every call is allocated once.
  void next(minibatch& out);

  /// Draws `batches` batches without copying them: afterwards the sampler
  /// is where it would be after as many next() calls (same permutations,
  /// same position). O(samples + shard size per epoch crossed).
  void skip(std::uint64_t batches);

  std::size_t batch_size() const { return batch_size_; }

  /// Number of indices in the shard, i.e. samples per epoch.
  std::size_t shard_size() const { return order_.size(); }

  /// Completed passes over the shard.
  std::uint64_t epoch() const { return samples_drawn_ / order_.size(); }

  /// Fraction of the current pass drawn so far, in [0, 1).
  double epoch_progress() const {
    return static_cast<double>(samples_drawn_ % order_.size())
           / static_cast<double>(order_.size());
  }

  /// Samples handed out since construction: batches drawn * batch_size().
  std::uint64_t samples_drawn() const { return samples_drawn_; }

private:
  minibatch_sampler(const dataset& data, std::vector<std::size_t> indices,
                    std::size_t batch_size, std::uint64_t seed);

  const dataset* data_;
  /// The current epoch's permutation of the shard.
  std::vector<std::size_t> order_;
  /// Next entry of order_ to draw; order_.size() when the epoch is used up.
  std::size_t position_ = 0;
  std::size_t batch_size_;
  std::uint64_t samples_drawn_ = 0;
  random_source random_;
};

} // namespace ormo::data
