#include "ormo/model/make_classifier.hpp"

#include <string>

#include <doctest/doctest.h>

#include "ormo/model/mlp.hpp"
#include "ormo/model/softmax_regression.hpp"

using namespace ormo::model;

namespace {

/// The message of a failed make_classifier, checking it failed as invalid.
std::string failure(model_kind kind, int inputs, std::vector<int> hidden,
                    int classes) {
  auto made = make_classifier(kind, inputs, hidden, classes);
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error().code() == ormo::status_code::invalid_argument);
  return made.error().message();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("model_kind names round trip") {
  for (auto kind : {model_kind::softmax, model_kind::mlp})
    CHECK(parse_model_kind(to_string(kind)) == kind);
  CHECK(std::string(to_string(model_kind::softmax)) == "softmax");
  CHECK(std::string(to_string(model_kind::mlp)) == "mlp");
  CHECK_FALSE(parse_model_kind("MLP").has_value());
  CHECK_FALSE(parse_model_kind("").has_value());
  CHECK_FALSE(parse_model_kind("softmax ").has_value());
}

TEST_CASE("make_classifier builds the named model") {
  auto softmax = make_classifier(model_kind::softmax, 784, {}, 10);
  REQUIRE(softmax.has_value());
  CHECK(dynamic_cast<softmax_regression*>(softmax->get()) != nullptr);
  CHECK((*softmax)->dimension() == 7850);

  auto perceptron = make_classifier(model_kind::mlp, 784, {128}, 10);
  REQUIRE(perceptron.has_value());
  auto* built = dynamic_cast<mlp*>(perceptron->get());
  REQUIRE(built != nullptr);
  CHECK(built->network().hidden() == std::vector<int>{128});
  CHECK(built->dimension() == 101770);

  auto linear = make_classifier(model_kind::mlp, 3, {}, 2);
  REQUIRE(linear.has_value());
  CHECK((*linear)->dimension() == 8);
}

TEST_CASE("make_classifier names the bad size") {
  CHECK(contains(failure(model_kind::mlp, 0, {4}, 3), "inputs 0"));
  CHECK(contains(failure(model_kind::softmax, -2, {}, 3), "inputs -2"));
  CHECK(contains(failure(model_kind::mlp, 5, {4}, 1), "classes 1"));
  CHECK(contains(failure(model_kind::softmax, 5, {}, 0), "classes 0"));
  auto message = failure(model_kind::mlp, 5, {4, 0, 3}, 3);
  CHECK(contains(message, "hidden layer 1"));
  CHECK(contains(message, "size 0"));
  CHECK(contains(failure(model_kind::mlp, 5, {-7}, 3), "size -7"));
  CHECK(contains(failure(model_kind::softmax, 5, {4}, 3), "softmax"));
  CHECK(contains(failure(static_cast<model_kind>(7), 5, {}, 3), "7"));
}

TEST_CASE("classifier_dimension counts out * (in + 1) per layer") {
  CHECK(classifier_dimension(784, {}, 10) == 10u * 785);
  CHECK(classifier_dimension(32, {64, 16}, 10) == 64u * 33 + 16 * 65 + 10 * 17);
  auto made = make_classifier(model_kind::mlp, 32, {64, 16}, 10);
  REQUIRE(made.has_value());
  CHECK((*made)->dimension() == classifier_dimension(32, {64, 16}, 10));
  // 2^20 inputs into 2^16 classes and more: counted without overflow.
  CHECK(classifier_dimension(1 << 20, {65536, 65536}, 65536)
        == 65536ull * ((1ull << 20) + 1) + 65536ull * 65537 * 2);
}

TEST_CASE("make_classifier refuses more parameters than it may have before "
          "allocating them") {
  auto message = failure(model_kind::mlp, 32, {65536, 65536}, 10);
  CHECK(contains(message, "a classifier of 4297850890 parameters is larger "
                          "than the 2147483647 allowed"));
  CHECK(contains(failure(model_kind::softmax, 1 << 20, {}, 65536),
                 "68719542272 parameters"));
}
