// A gradient_source for the built-in classifiers: a gradient_function over
// the minibatches of one shard of a data set it shares ownership of.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "ormo/data/minibatch_sampler.hpp"
#include "ormo/model/gradient_function.hpp"
#include "ormo/model/gradient_source.hpp"
#include "ormo/status.hpp"

namespace ormo::model {

class classifier_source final : public gradient_source {
public:
  /// Draws batches of `batch_size` from `indices` of `data` (seeded), or
  /// fails as minibatch_sampler::make does.
  static result<std::unique_ptr<classifier_source>>
  make(std::unique_ptr<gradient_function> function,
       std::shared_ptr<const data::dataset> data,
       std::vector<std::size_t> indices, std::size_t batch_size,
       std::uint64_t seed) {
    auto sampler = data::minibatch_sampler::make(*data, std::move(indices),
                                                 batch_size, seed);
    if (!sampler)
      return sampler.error();
    return std::unique_ptr<classifier_source>(new classifier_source(
      std::move(function), std::move(data), std::move(sampler).value()));
  }

  std::size_t dimension() const override { return function_->dimension(); }

  std::size_t batch_size() const override { return sampler_.batch_size(); }

  float compute(Eigen::Ref<const Eigen::VectorXf> parameters,
                Eigen::Ref<Eigen::VectorXf> gradient) override {
    sampler_.next(batch_);
    return function_->loss_and_gradient(parameters, batch_, gradient);
  }

  bool skip(std::uint64_t batches) override {
    sampler_.skip(batches);
    return true;
  }

private:
  classifier_source(std::unique_ptr<gradient_function> function,
                    std::shared_ptr<const data::dataset> data,
                    data::minibatch_sampler sampler)
    : function_(std::move(function)), data_(std::move(data)),
      sampler_(std::move(sampler)) {}

  std::unique_ptr<gradient_function> function_;
  /// Keeps the samples the sampler points into alive.
  std::shared_ptr<const data::dataset> data_;
  data::minibatch_sampler sampler_;
  data::minibatch batch_;
};

} // namespace ormo::model
