// A host CAF application that embeds ormo: its own actor system, its own
// model (least squares) and data, trained by ormo's actors with OrMo-DA.
//
// Exits 0 when the fit recovers the true coefficients, 1 otherwise (the test
// suite runs it).
#include <cmath>
#include <cstdio>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "ormo/actors/training.hpp"
#include "ormo/config/parse_run_config.hpp"
#include "ormo/random.hpp"

namespace {

constexpr int features = 20;
constexpr int samples = 8000;
constexpr int batch_size = 16;

/// The host's data: y = X * truth + noise, one sample per column of X.
struct regression_data {
  Eigen::MatrixXf inputs{features, samples};
  Eigen::VectorXf targets{samples};
  Eigen::VectorXf truth{features};
};

std::shared_ptr<const regression_data> make_data(std::uint64_t seed) {
  ormo::random_source random(seed);
  auto data = std::make_shared<regression_data>();
  for (int k = 0; k < features; ++k)
    data->truth[k] = static_cast<float>(random.normal());
  for (int j = 0; j < samples; ++j)
    for (int k = 0; k < features; ++k)
      data->inputs(k, j) = static_cast<float>(random.normal());
  data->targets = data->inputs.transpose() * data->truth;
  for (int j = 0; j < samples; ++j)
    data->targets[j] += 0.01f * static_cast<float>(random.normal());
  return data;
}

/// The host's gradient function: mean squared error on a minibatch of its
/// own shard, loss = |X_b^T w - y_b|^2 / (2 B).
class least_squares final : public ormo::model::gradient_source {
public:
  least_squares(std::shared_ptr<const regression_data> data, int first,
                int count, std::uint64_t seed)
    : data_(std::move(data)), first_(first), count_(count), random_(seed) {}

  std::size_t dimension() const override { return features; }
  std::size_t batch_size() const override { return ::batch_size; }

  float compute(Eigen::Ref<const Eigen::VectorXf> w,
                Eigen::Ref<Eigen::VectorXf> gradient) override {
    Eigen::MatrixXf x(features, ::batch_size);
    Eigen::VectorXf y(::batch_size);
    for (int b = 0; b < ::batch_size; ++b) {
      auto j = first_ + static_cast<int>(random_.below(count_));
      x.col(b) = data_->inputs.col(j);
      y[b] = data_->targets[j];
    }
    Eigen::VectorXf residual = x.transpose() * w - y;
    gradient = x * residual / ::batch_size;
    return residual.squaredNorm() / (2 * ::batch_size);
  }

private:
  std::shared_ptr<const regression_data> data_;
  int first_;
  int count_;
  ormo::random_source random_;
};

} // namespace

int main() {
  auto data = make_data(7);

  // What to train: ormo only sees these functions.
  ormo::actors::training_problem problem;
  problem.initial_parameters = Eigen::VectorXf::Zero(features);
  problem.samples_per_epoch = samples;
  problem.batch_size = batch_size;
  problem.make_source = [data](std::size_t slot, std::size_t slots)
    -> ormo::result<std::shared_ptr<ormo::model::gradient_source>> {
    int share = samples / static_cast<int>(slots);
    int first = share * static_cast<int>(slot % slots);
    return std::shared_ptr<ormo::model::gradient_source>(
      std::make_shared<least_squares>(data, first, share, 100 + slot));
  };
  problem.evaluate = [data](const Eigen::VectorXf& w) {
    ormo::model::evaluation result;
    Eigen::VectorXf residual = data->inputs.transpose() * w - data->targets;
    result.loss = residual.squaredNorm() / (2.0 * samples);
    // R^2 stands in for accuracy: 1 is a perfect fit.
    double variance
      = (data->targets.array() - data->targets.mean()).square().sum();
    result.accuracy = 1.0 - residual.squaredNorm() / variance;
    return result;
  };

  // How to train it: any ormo configuration, here from TOML text.
  auto config = ormo::config::parse_run_config(R"(
    [run]
    stop_epochs = 10
    [algorithm]
    name = "ormo-da"       # OrMo, with a smaller step for gradients older
    delay_threshold = 8    # than 8 iterations: a host's machine may be busy
    learning_rate = 0.1
    momentum = 0.9
    [workers]
    count = 4
    [output]
    progress_seconds = 60
  )",
                                               "host");
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message().c_str());
    return 1;
  }

  // The host's own actor system, with ormo's types registered in it.
  caf::actor_system_config cfg;
  ormo::actors::configure(cfg, config->run.deterministic);
  caf::actor_system system{cfg};
  auto report = ormo::actors::run_training(system, *config, problem, {});
  if (!report.failure.empty()) {
    std::fprintf(stderr, "training failed: %s\n", report.failure.c_str());
    return 1;
  }
  double error
    = (report.final_parameters - data->truth).norm() / data->truth.norm();
  std::printf("least squares: %llu gradients (delay mean %.2f, max %lld "
              "iterations), final loss %.6f, R^2 %.6f, relative coefficient "
              "error %.2e\n",
              static_cast<unsigned long long>(report.gradients_applied),
              report.mean_delay, static_cast<long long>(report.max_delay),
              report.final_test_loss, report.final_test_accuracy, error);
  return error < 2e-2 ? 0 : 1; // from 1 at w = 0
}
