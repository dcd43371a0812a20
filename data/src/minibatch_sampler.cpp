#include "ormo/data/minibatch_sampler.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

namespace ormo::data {

namespace {

status invalid(const std::string& what) {
  return status::error(status_code::invalid_argument, what);
}

} // namespace

result<minibatch_sampler>
minibatch_sampler::make(const dataset& data, std::vector<std::size_t> indices,
                        std::size_t batch_size, std::uint64_t seed) {
  if (batch_size == 0)
    return invalid("batch size must be at least 1");
  if (indices.empty())
    return invalid("no samples to draw from data set '" + data.name + "'");
  if (data.features.cols() != data.labels.size())
    return invalid("data set '" + data.name + "' has "
                   + std::to_string(data.features.cols())
                   + " feature columns but "
                   + std::to_string(data.labels.size()) + " labels");
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] >= data.size())
      return invalid("index " + std::to_string(indices[i]) + " at position "
                     + std::to_string(i) + " is out of range for data set '"
                     + data.name + "' of " + std::to_string(data.size())
                     + " samples");
  return minibatch_sampler{data, std::move(indices), batch_size, seed};
}

minibatch_sampler::minibatch_sampler(const dataset& data,
                                     std::vector<std::size_t> indices,
                                     std::size_t batch_size, std::uint64_t seed)
  : data_(&data), order_(std::move(indices)), batch_size_(batch_size),
    random_(seed) {
  random_.shuffle(order_.begin(), order_.end());
}

void minibatch_sampler::next(minibatch& out) {
  const Eigen::Index inputs = data_->features.rows();
  const auto batch = static_cast<Eigen::Index>(batch_size_);
  // Eigen keeps the storage when the shape is unchanged.
  out.features.resize(inputs, batch);
  out.labels.resize(batch);
  const float* source = data_->features.data();
  float* target = out.features.data();
  const std::size_t column_bytes
    = static_cast<std::size_t>(inputs) * sizeof(float);
  for (Eigen::Index j = 0; j < batch; ++j) {
    if (position_ == order_.size()) {
      random_.shuffle(order_.begin(), order_.end());
      position_ = 0;
    }
    const std::size_t sample = order_[position_++];
    std::memcpy(target + j * inputs,
                source + static_cast<Eigen::Index>(sample) * inputs,
                column_bytes);
    out.labels[j] = data_->labels[static_cast<Eigen::Index>(sample)];
  }
  samples_drawn_ += batch_size_;
}

void minibatch_sampler::skip(std::uint64_t batches) {
  for (std::uint64_t b = 0; b < batches; ++b) {
    std::size_t left = batch_size_;
    while (left > 0) {
      if (position_ == order_.size()) {
        random_.shuffle(order_.begin(), order_.end());
        position_ = 0;
      }
      auto step = std::min(left, order_.size() - position_);
      position_ += step;
      left -= step;
    }
    samples_drawn_ += batch_size_;
  }
}

} // namespace ormo::data
