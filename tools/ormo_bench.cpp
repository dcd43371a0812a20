// ormo-bench: the server's per-gradient work and the workers' gradient
// throughput, each against a baseline measured in the same run (the machine
// is shared and noisy, so only ratios travel between runs).
//
// Usage: ormo-bench [--quick]
// The last line is `RATIO ormo_apply_vs_fused_loop <value>`: OrMo (default
// placement) at d = 1e7 against a hand-written fused loop with the same
// memory traffic, u = beta*u + c*g; w -= u. The rules are timed on checked
// gradients, as the servers receive them (the finiteness check runs once
// where a gradient enters the process: at its producer or while a remote
// message is decoded); the check's own cost is printed on its own line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ormo/data/idx_reader.hpp"
#include "ormo/data/minibatch.hpp"
#include "ormo/data/synthetic.hpp"
#include "ormo/model/classifier_source.hpp"
#include "ormo/model/make_classifier.hpp"
#include "ormo/optim/make_update_rule.hpp"
#include "ormo/random.hpp"
#include "bench_multiprocess.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

/// Seconds per call of `work`, median over `trials` batches of `calls`.
/// `baseline` runs between the trials of `work` so that both see the same
/// machine; its median lands in `baseline_seconds`.
double interleaved(const std::function<void()>& work,
                   const std::function<void()>& baseline, int trials, int calls,
                   double& baseline_seconds) {
  std::vector<double> measured;
  std::vector<double> reference;
  for (int trial = 0; trial < trials; ++trial) {
    auto start = clock_type::now();
    for (int k = 0; k < calls; ++k)
      baseline();
    reference.push_back(seconds_since(start) / calls);
    start = clock_type::now();
    for (int k = 0; k < calls; ++k)
      work();
    measured.push_back(seconds_since(start) / calls);
  }
  baseline_seconds = median(reference);
  return median(measured);
}

/// The hand-written baseline: the memory traffic of one momentum step.
void fused_loop(float beta, float c, const float* __restrict g,
                float* __restrict u, float* __restrict w, std::ptrdiff_t n) {
  for (std::ptrdiff_t j = 0; j < n; ++j) {
    u[j] = beta * u[j] + c * g[j];
    w[j] -= u[j];
  }
}

struct rule_case {
  std::string label;
  ormo::optim::algorithm_settings settings;
};

std::vector<rule_case> rule_cases() {
  using ormo::optim::algorithm;
  using ormo::optim::apply_mode;
  std::vector<rule_case> result;
  auto add = [&](std::string label, algorithm name, double rate,
                 apply_mode apply = apply_mode::on_arrival) {
    ormo::optim::algorithm_settings settings;
    settings.name = name;
    settings.learning_rate = rate;
    settings.momentum = 0.9;
    settings.apply = apply;
    result.push_back({std::move(label), settings});
  };
  add("ssgdm", algorithm::ssgdm, 0.1);
  add("asgd", algorithm::asgd, 0.01);
  add("asgd-da", algorithm::asgd_da, 0.01);
  add("naive-asgdm", algorithm::naive_asgdm, 0.001);
  add("ormo on_close", algorithm::ormo, 0.1, apply_mode::on_close);
  add("ormo on_arrival", algorithm::ormo, 0.1, apply_mode::on_arrival);
  add("ormo-da on_arrival", algorithm::ormo_da, 0.1, apply_mode::on_arrival);
  return result;
}

/// Per-gradient server work of every rule at dimension d; returns OrMo's
/// (default placement) ratio to the fused loop.
double bench_rules(Eigen::Index dimension, int trials, int calls) {
  const int iteration_size = 16;
  ormo::random_source random(42);
  auto values = std::make_shared<Eigen::VectorXf>(dimension);
  for (Eigen::Index j = 0; j < dimension; ++j)
    (*values)[j] = static_cast<float>(random.normal());
  const Eigen::VectorXf& gradient = *values;
  const auto checked = ormo::optim::checked_gradient::check(values);
  Eigen::VectorXf parameters = Eigen::VectorXf::Zero(dimension);
  Eigen::VectorXf momentum = Eigen::VectorXf::Zero(dimension);
  Eigen::VectorXf base_parameters = Eigen::VectorXf::Zero(dimension);
  auto baseline = [&] {
    fused_loop(0.9f, 0.01f, gradient.data(), momentum.data(),
               base_parameters.data(), dimension);
  };
  std::printf("d = %ld (K = %d; gradients 0, 1 or 2 iterations old in turn;"
              " ssgdm: all current)\n",
              static_cast<long>(dimension), iteration_size);
  double ormo_ratio = 0;
  ormo::optim::algorithm_settings defaults;
  {
    std::size_t first_non_finite = 0;
    auto check = [&] {
      first_non_finite
        += ormo::optim::checked_gradient::check(values).first_non_finite();
    };
    double baseline_seconds = 0;
    double seconds
      = interleaved(check, baseline, trials, calls, baseline_seconds);
    std::printf("  %-20s %10.1f us/gradient   fused loop %10.1f us   "
                "ratio %.3f   (once per gradient, where it enters)\n",
                "finiteness check", seconds * 1e6, baseline_seconds * 1e6,
                seconds / baseline_seconds);
    if (first_non_finite == 0)
      std::exit(1); // unreachable: all values are finite
  }
  for (const auto& c : rule_cases()) {
    auto made = ormo::optim::make_update_rule(
      c.settings, static_cast<std::size_t>(dimension), iteration_size);
    if (!made) {
      std::fprintf(stderr, "ormo-bench: %s\n", made.error().message().c_str());
      std::exit(1);
    }
    auto rule = std::move(made).value();
    std::uint64_t arrival = 0;
    // Gradients 0, 1 or 2 iterations old in turn; ssgdm: all current.
    auto computed_at = [&] {
      auto t = rule->iteration();
      auto delay = c.settings.name == ormo::optim::algorithm::ssgdm
                     ? 0
                     : std::min<ormo::optim::iteration_index>(
                       t, static_cast<long>(arrival % 3));
      ++arrival;
      return t - delay;
    };
    // The result, unless rejected (the inputs make that impossible).
    auto accepted =
      [](
        const ormo::optim::placement& result) -> const ormo::optim::placement& {
      if (!result.accepted()) {
        std::fprintf(stderr, "ormo-bench: rejected: %s\n",
                     result.detail.c_str());
        std::exit(1);
      }
      return result;
    };
    auto work = [&] {
      accepted(rule->place_and_apply(checked, computed_at(), parameters));
    };
    work(); // first touch of the momentum pages
    double baseline_seconds = 0;
    double seconds
      = interleaved(work, baseline, trials, calls, baseline_seconds);
    double ratio = seconds / baseline_seconds;
    std::printf("  %-20s %10.1f us/gradient   fused loop %10.1f us   "
                "ratio %.3f\n",
                c.label.c_str(), seconds * 1e6, baseline_seconds * 1e6, ratio);
    if (c.settings.name == ormo::optim::algorithm::ormo
        && c.settings.apply == defaults.apply)
      ormo_ratio = ratio;

    // The same through the parameter server's path: the rule only plans,
    // apply_step() moves u and the base, and derives w when it is offset.
    rule = ormo::optim::make_update_rule(
             c.settings, static_cast<std::size_t>(dimension), iteration_size)
             .value();
    rule->keep_momentum_elsewhere();
    Eigen::VectorXf u = Eigen::VectorXf::Zero(dimension);
    Eigen::VectorXf base = Eigen::VectorXf::Zero(dimension);
    Eigen::VectorXf published = Eigen::VectorXf::Zero(dimension);
    Eigen::VectorXf none;
    arrival = 0;
    auto server_work = [&] {
      const auto step
        = accepted(rule->place(checked, computed_at())).offset_form;
      ormo::optim::update_rule::apply_step(step, gradient, u, base, base,
                                           step.momentum_offset != 0 ? published
                                                                     : none);
    };
    server_work();
    seconds
      = interleaved(server_work, baseline, trials, calls, baseline_seconds);
    std::printf("  %-20s %10.1f us/gradient   fused loop %10.1f us   "
                "ratio %.3f   (parameter server: place + apply_step)\n",
                c.label.c_str(), seconds * 1e6, baseline_seconds * 1e6,
                seconds / baseline_seconds);
  }
  return ormo_ratio;
}

/// Fashion-MNIST's training set when installed, else a synthetic set of the
/// same shape (60000 samples of 784 inputs, 10 classes).
std::shared_ptr<const ormo::data::dataset> fashion_mnist_or_lookalike() {
  auto loaded
    = ormo::data::load_fashion_mnist("/usr/share/datasets/fashion-mnist");
  if (loaded)
    return std::make_shared<ormo::data::dataset>(
      std::move(loaded.value().train));
  ormo::data::synthetic_settings settings;
  settings.inputs = 784;
  settings.train_samples = 60000;
  settings.test_samples = 0;
  auto made = ormo::data::make_synthetic(settings);
  if (!made) {
    std::fprintf(stderr, "ormo-bench: %s\n", made.error().message().c_str());
    std::exit(1);
  }
  return std::make_shared<ormo::data::dataset>(std::move(made.value().train));
}

/// Samples per second of the MLP 784-128-10 gradient at batch 32, against
/// the two matrix products of its forward pass as a baseline.
void bench_mlp(int trials, int calls) {
  const int inputs = 784;
  const int batch_size = 32;
  auto made = ormo::model::make_classifier(ormo::model::model_kind::mlp, inputs,
                                           {128}, 10);
  if (!made) {
    std::fprintf(stderr, "ormo-bench: %s\n", made.error().message().c_str());
    std::exit(1);
  }
  auto model = std::move(made).value();
  ormo::random_source random(7);
  ormo::data::minibatch batch;
  batch.features.resize(inputs, batch_size);
  batch.labels.resize(batch_size);
  for (Eigen::Index j = 0; j < batch.features.size(); ++j)
    batch.features.data()[j] = static_cast<float>(random.uniform());
  for (int j = 0; j < batch_size; ++j)
    batch.labels[j] = static_cast<int>(random.below(10));
  Eigen::VectorXf parameters = model->initial_parameters(1);
  Eigen::VectorXf gradient(parameters.size());
  // Baseline: the forward products alone (W1 * X, W2 * H), what any
  // implementation must at least do.
  Eigen::MatrixXf first_layer = Eigen::MatrixXf::Random(128, inputs);
  Eigen::MatrixXf second_layer = Eigen::MatrixXf::Random(10, 128);
  Eigen::MatrixXf hidden(128, batch_size);
  Eigen::MatrixXf output(10, batch_size);
  auto baseline = [&] {
    hidden.noalias() = first_layer * batch.features;
    output.noalias() = second_layer * hidden;
  };
  auto work = [&] { model->loss_and_gradient(parameters, batch, gradient); };
  work();
  double baseline_seconds = 0;
  double seconds = interleaved(work, baseline, trials, calls, baseline_seconds);
  std::printf("mlp 784-128-10, batch %d, one core: %.0f samples/s "
              "(gradient %.1f us; forward products alone %.1f us, "
              "ratio %.2f)\n",
              batch_size, batch_size / seconds, seconds * 1e6,
              baseline_seconds * 1e6, seconds / baseline_seconds);
  std::printf("SAMPLES_PER_SECOND mlp_784_128_10_batch32 %.0f\n",
              batch_size / seconds);

  // What a worker does per gradient: draw a minibatch from a 60000-sample
  // training set (Fashion-MNIST when installed), then the same gradient.
  // `ormo run` measures its compute bound this way; the fixed batch above
  // is the baseline.
  auto data = fashion_mnist_or_lookalike();
  std::vector<std::size_t> indices(data->size());
  for (std::size_t j = 0; j < indices.size(); ++j)
    indices[j] = j;
  auto source = ormo::model::classifier_source::make(
    model->clone(), data, std::move(indices), batch_size, 7);
  if (!source) {
    std::fprintf(stderr, "ormo-bench: %s\n", source.error().message().c_str());
    std::exit(1);
  }
  auto& drawn = *source.value();
  auto sampled = [&] { drawn.compute(parameters, gradient); };
  double fixed_seconds = 0;
  double sampled_seconds
    = interleaved(sampled, work, trials, calls, fixed_seconds);
  std::printf("mlp 784-128-10, batch %d, one core, minibatches drawn from %s "
              "(%zu samples): %.0f samples/s (%.2f of the fixed batch's "
              "time)\n",
              batch_size, data->name.c_str(), data->size(),
              batch_size / sampled_seconds, sampled_seconds / fixed_seconds);
  std::printf("SAMPLES_PER_SECOND mlp_784_128_10_batch32_sampled %.0f\n",
              batch_size / sampled_seconds);
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "multiprocess") == 0)
    return ormo::tools::bench_multiprocess(
      argc > 2 && std::strcmp(argv[2], "--quick") == 0);
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (argc > 1 && !quick) {
    std::fprintf(stderr, "usage: ormo-bench [--quick]\n");
    return 2;
  }
  const int trials = quick ? 3 : 7;
  std::printf("ormo-bench: per-gradient server work (place_and_apply of a "
              "checked gradient: momentum and parameter step) against a "
              "fused loop u = b*u + c*g; w -= u; medians of %d interleaved "
              "trials\n",
              trials);
  bench_rules(100000, trials, quick ? 50 : 400);
  bench_rules(1000000, trials, quick ? 5 : 40);
  double ratio = bench_rules(10000000, trials, quick ? 2 : 6);
  bench_mlp(trials, quick ? 200 : 2000);
  std::printf("RATIO ormo_apply_vs_fused_loop %.3f\n", ratio);
  return 0;
}
