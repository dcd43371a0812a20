// The synthetic problem: shape, determinism, validation, and that it is
// learnable but not linearly separable.

#include "ormo/data/synthetic.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ormo/data/minibatch_sampler.hpp"
#include "ormo/random.hpp"

using namespace ormo;
using namespace ormo::data;

namespace {

bool identical(const dataset& a, const dataset& b) {
  return a.features.rows() == b.features.rows()
         && a.features.cols() == b.features.cols() && a.labels == b.labels
         && std::memcmp(a.features.data(), b.features.data(),
                        sizeof(float)
                          * static_cast<std::size_t>(a.features.size()))
              == 0;
}

void softmax_columns(Eigen::MatrixXf& logits) {
  for (Eigen::Index j = 0; j < logits.cols(); ++j) {
    auto column = logits.col(j);
    float largest = column(0);
    for (Eigen::Index i = 1; i < column.size(); ++i)
      largest = std::max(largest, column(i));
    column = (column.array() - largest).exp();
    column /= column.sum();
  }
}

double accuracy(const Eigen::MatrixXf& logits, const Eigen::VectorXi& labels) {
  int correct = 0;
  for (Eigen::Index j = 0; j < labels.size(); ++j) {
    Eigen::Index best = 0;
    for (Eigen::Index i = 1; i < logits.rows(); ++i)
      if (logits(i, j) > logits(best, j))
        best = i;
    correct += best == labels[j] ? 1 : 0;
  }
  return static_cast<double>(correct) / static_cast<double>(labels.size());
}

/// Subtracts the one-hot labels from softmax outputs: the gradient of the
/// cross-entropy with respect to the logits.
void subtract_targets(Eigen::MatrixXf& probabilities,
                      const Eigen::VectorXi& labels) {
  for (Eigen::Index j = 0; j < labels.size(); ++j)
    probabilities(labels[j], j) -= 1.0f;
}

std::vector<std::size_t> all_indices(const dataset& data) {
  std::vector<std::size_t> result(data.size());
  for (std::size_t i = 0; i < result.size(); ++i)
    result[i] = i;
  return result;
}

/// Test accuracy of softmax regression trained by plain minibatch SGD.
double softmax_regression_accuracy(const train_test_split& split, int epochs) {
  const auto& train = split.train;
  auto sampler = minibatch_sampler::make(train, all_indices(train), 50, 11);
  REQUIRE(sampler.has_value());
  Eigen::MatrixXf weights
    = Eigen::MatrixXf::Zero(train.classes, train.inputs());
  Eigen::VectorXf bias = Eigen::VectorXf::Zero(train.classes);
  const float rate = 0.1f / 50;
  minibatch batch;
  while (sampler->epoch() < static_cast<std::uint64_t>(epochs)) {
    sampler->next(batch);
    Eigen::MatrixXf logits = weights * batch.features;
    logits.colwise() += bias;
    softmax_columns(logits);
    subtract_targets(logits, batch.labels);
    weights -= rate * logits * batch.features.transpose();
    bias -= rate * logits.rowwise().sum();
  }
  Eigen::MatrixXf logits = weights * split.test.features;
  logits.colwise() += bias;
  return accuracy(logits, split.test.labels);
}

/// Test accuracy of a ReLU MLP with one hidden layer, plain minibatch SGD.
double mlp_accuracy(const train_test_split& split, int hidden, int epochs) {
  const auto& train = split.train;
  auto sampler = minibatch_sampler::make(train, all_indices(train), 50, 12);
  REQUIRE(sampler.has_value());
  random_source random{13};
  auto gaussian = [&](Eigen::Index rows, Eigen::Index columns, double scale) {
    Eigen::MatrixXf result(rows, columns);
    for (Eigen::Index i = 0; i < result.size(); ++i)
      result.data()[i] = static_cast<float>(scale * random.normal());
    return result;
  };
  Eigen::MatrixXf w1
    = gaussian(hidden, train.inputs(), std::sqrt(2.0 / train.inputs()));
  Eigen::MatrixXf w2 = gaussian(train.classes, hidden, std::sqrt(1.0 / hidden));
  Eigen::VectorXf b1 = Eigen::VectorXf::Zero(hidden);
  Eigen::VectorXf b2 = Eigen::VectorXf::Zero(train.classes);
  const float rate = 0.1f / 50;
  minibatch batch;
  while (sampler->epoch() < static_cast<std::uint64_t>(epochs)) {
    sampler->next(batch);
    Eigen::MatrixXf activations = w1 * batch.features;
    activations.colwise() += b1;
    activations = activations.cwiseMax(0.0f);
    Eigen::MatrixXf logits = w2 * activations;
    logits.colwise() += b2;
    softmax_columns(logits);
    subtract_targets(logits, batch.labels);
    Eigen::MatrixXf back = w2.transpose() * logits;
    back
      = back.cwiseProduct((activations.array() > 0.0f).cast<float>().matrix());
    w2 -= rate * logits * activations.transpose();
    b2 -= rate * logits.rowwise().sum();
    w1 -= rate * back * batch.features.transpose();
    b1 -= rate * back.rowwise().sum();
  }
  Eigen::MatrixXf activations = w1 * split.test.features;
  activations.colwise() += b1;
  activations = activations.cwiseMax(0.0f);
  Eigen::MatrixXf logits = w2 * activations;
  logits.colwise() += b2;
  return accuracy(logits, split.test.labels);
}

} // namespace

TEST_CASE("synthetic defaults have the promised shape") {
  synthetic_settings settings;
  auto start = std::chrono::steady_clock::now();
  auto split = make_synthetic(settings);
  std::chrono::duration<double> elapsed
    = std::chrono::steady_clock::now() - start;
  MESSAGE("defaults generated in " << elapsed.count() << " s");
  REQUIRE_MESSAGE(split.has_value(), split.error().message());
  for (const dataset* data : {&split->train, &split->test}) {
    CHECK(data->inputs() == 32);
    CHECK(data->classes == 10);
    CHECK(data->features.cols() == data->labels.size());
    // Every class occurs, none more than twice as often as another.
    Eigen::VectorXi counts = Eigen::VectorXi::Zero(10);
    for (Eigen::Index j = 0; j < data->labels.size(); ++j) {
      REQUIRE(data->labels[j] >= 0);
      REQUIRE(data->labels[j] < 10);
      ++counts[data->labels[j]];
    }
    CHECK(counts.minCoeff() * 2 > counts.maxCoeff());
    // Scaled to about unit variance, all finite.
    CHECK(data->features.allFinite());
    const double mean_square = data->features.squaredNorm()
                               / static_cast<double>(data->features.size());
    CHECK(mean_square == doctest::Approx(1.0).epsilon(0.3));
  }
  CHECK(split->train.size() == 20000);
  CHECK(split->test.size() == 4000);
  CHECK(split->train.name == "synthetic-train");
  CHECK(split->test.name == "synthetic-test");
}

TEST_CASE("synthetic data is deterministic in the seed") {
  synthetic_settings settings;
  settings.train_samples = 3000;
  settings.test_samples = 500;
  settings.seed = 42;
  auto first = make_synthetic(settings);
  auto second = make_synthetic(settings);
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(identical(first->train, second->train));
  CHECK(identical(first->test, second->test));
  settings.seed = 43;
  auto other = make_synthetic(settings);
  REQUIRE(other.has_value());
  CHECK_FALSE(identical(first->train, other->train));
  CHECK_FALSE(identical(first->test, other->test));
  // Features differ everywhere, not in a few places.
  Eigen::ArrayXXf difference
    = (first->train.features - other->train.features).array().abs();
  CHECK((difference > 1e-3f).count() > difference.size() * 9 / 10);
}

TEST_CASE("synthetic train and test sets are drawn independently") {
  synthetic_settings settings;
  settings.train_samples = 1000;
  settings.test_samples = 200;
  auto base = make_synthetic(settings);
  settings.test_samples = 50;
  auto fewer_test = make_synthetic(settings);
  settings.train_samples = 100;
  settings.test_samples = 200;
  auto fewer_train = make_synthetic(settings);
  REQUIRE(base.has_value());
  REQUIRE(fewer_test.has_value());
  REQUIRE(fewer_train.has_value());
  CHECK(identical(base->train, fewer_test->train));
  CHECK(identical(base->test, fewer_train->test));
  // A smaller set is a prefix of the larger one.
  CHECK(fewer_test->test.features
        == base->test.features.leftCols(fewer_test->test.size()));
  CHECK_FALSE(identical(base->train, base->test));
}

TEST_CASE("synthetic settings are validated") {
  struct bad_case {
    const char* field;
    void (*spoil)(synthetic_settings&);
  };
  const bad_case cases[] = {
    {"inputs", [](synthetic_settings& s) { s.inputs = 0; }},
    {"classes", [](synthetic_settings& s) { s.classes = 1; }},
    {"train_samples", [](synthetic_settings& s) { s.train_samples = 0; }},
    {"test_samples",
     [](synthetic_settings& s) { s.test_samples = std::size_t{1} << 40; }},
    {"noise", [](synthetic_settings& s) { s.noise = -0.1; }},
    {"noise", [](synthetic_settings& s) { s.noise = std::nan(""); }},
    {"noise", [](synthetic_settings& s) { s.noise = HUGE_VAL; }},
    {"informative", [](synthetic_settings& s) { s.informative = 0; }},
    {"informative", [](synthetic_settings& s) { s.informative = 33; }},
    {"clusters_per_class",
     [](synthetic_settings& s) { s.clusters_per_class = 0; }},
  };
  for (const auto& bad : cases) {
    synthetic_settings settings;
    bad.spoil(settings);
    auto split = make_synthetic(settings);
    INFO("field: " << bad.field);
    REQUIRE_FALSE(split.has_value());
    CHECK(split.error().code() == status_code::invalid_argument);
    CHECK(split.error().message().find(std::string{"synthetic_settings."}
                                       + bad.field + ":")
          != std::string::npos);
  }
  // The edges of the valid ranges are accepted.
  synthetic_settings edge;
  edge.inputs = 1;
  edge.informative = 1;
  edge.classes = 2;
  edge.clusters_per_class = 1;
  edge.train_samples = 1;
  edge.test_samples = 0;
  edge.noise = 0;
  auto split = make_synthetic(edge);
  REQUIRE_MESSAGE(split.has_value(), split.error().message());
  CHECK(split->train.size() == 1);
  CHECK(split->test.size() == 0);
}

TEST_CASE("synthetic data is learnable but not linearly separable") {
  synthetic_settings settings;
  settings.train_samples = 6000;
  settings.test_samples = 2000;
  for (std::uint64_t seed : {1, 2}) {
    settings.seed = seed;
    auto split = make_synthetic(settings);
    REQUIRE(split.has_value());
    const double linear = softmax_regression_accuracy(*split, 10);
    const double mlp = mlp_accuracy(*split, 64, 20);
    MESSAGE("seed " << seed << ": softmax regression " << linear << ", MLP "
                    << mlp);
    CHECK(linear > 0.35); // chance is 0.1
    CHECK(linear < 0.8);
    CHECK(mlp > linear + 0.15);
    CHECK(mlp < 0.99);
  }
}

TEST_CASE("synthetic noise controls the difficulty") {
  synthetic_settings settings;
  settings.train_samples = 4000;
  settings.test_samples = 2000;
  settings.clusters_per_class = 1;
  settings.noise = 0.05;
  auto easy = make_synthetic(settings);
  settings.noise = 2.0;
  auto hard = make_synthetic(settings);
  REQUIRE(easy.has_value());
  REQUIRE(hard.has_value());
  // One cluster per class with little noise is linearly separable.
  const double easy_accuracy = softmax_regression_accuracy(*easy, 5);
  const double hard_accuracy = softmax_regression_accuracy(*hard, 5);
  MESSAGE("noise 0.05: " << easy_accuracy << ", noise 2: " << hard_accuracy);
  CHECK(easy_accuracy > 0.97);
  CHECK(hard_accuracy < easy_accuracy - 0.3);
}
