// shifted-momentum by its definition: one momentum per worker,
// m_k <- beta * m_k + g, w <- w - eta * m_k; what it reduces to; the
// buffers' lifetime (join, leave, first push) and copy-on-write.
#include "ormo/optim/shifted_momentum.hpp"

#include <limits>
#include <string>

#include "helpers.hpp"
#include "ormo/optim/asgd.hpp"
#include "ormo/optim/naive_momentum.hpp"
#include "ormo/optim/synchronous_momentum.hpp"

using namespace ormo;
using namespace ormo::optim;

namespace {

Eigen::VectorXf one(float value) {
  return Eigen::VectorXf::Constant(1, value);
}

} // namespace

TEST_CASE("shifted momentum hand-computed: two workers, four arrivals") {
  // eta = 0.5, beta = 0.5; every value below is exact in float.
  shifted_momentum rule(1, 2, {0.5, 0.5});
  CHECK(std::string(rule.name()) == "shifted-momentum");
  CHECK(rule.arrivals_per_iteration() == 1);
  Eigen::VectorXf w = one(1);
  // Worker 1, g = 2: m_1 = 2, w = 1 - 0.5 * 2 = 0.
  auto first = rule.place_and_apply(one(2), 0, w, 1);
  REQUIRE(first.accepted());
  CHECK(first.closed_iteration);
  CHECK(first.iteration == 1);
  CHECK(w[0] == 0.0f);
  CHECK(rule.worker_momentum(1)[0] == 2.0f);
  REQUIRE(first.step_vector);
  CHECK((*first.step_vector)[0] == 2.0f); // the step applies to m_1
  CHECK(first.coefficients.parameter_gradient_weight == 0.5f);
  CHECK_FALSE(first.look_ahead); // the worker receives w
  // Worker 2, g = 4, one update stale: its own m_2 = 4, w = -2.
  auto second = rule.place_and_apply(one(4), 0, w, 2);
  CHECK(second.delay == 1);
  CHECK(w[0] == -2.0f);
  CHECK(rule.worker_momentum(2)[0] == 4.0f);
  CHECK(rule.worker_momentum(1)[0] == 2.0f); // untouched
  // Worker 1, g = -2: m_1 = 0.5 * 2 - 2 = -1, w = -2 + 0.5 = -1.5.
  rule.place_and_apply(one(-2), 1, w, 1);
  CHECK(rule.worker_momentum(1)[0] == -1.0f);
  CHECK(w[0] == -1.5f);
  // Worker 2, g = 1: m_2 = 0.5 * 4 + 1 = 3, w = -1.5 - 1.5 = -3.
  auto fourth = rule.place_and_apply(one(1), 2, w, 2);
  CHECK(fourth.iteration == 4);
  CHECK(rule.worker_momentum(2)[0] == 3.0f);
  CHECK(w[0] == -3.0f);
  CHECK(rule.momentum_storage().size() == 0); // no shared u
}

TEST_CASE("shifted momentum with one worker is naive momentum SGD") {
  random_source random(21);
  const Eigen::Index d = 9;
  for (double beta : {0.0, 0.5, 0.9}) {
    CAPTURE(beta);
    shifted_momentum shifted(d, 3, {0.05, beta});
    naive_momentum naive(d, 3, {0.05, beta});
    Eigen::VectorXf a = test::random_vector(random, d);
    Eigen::VectorXf b = a;
    for (int k = 0; k < 30; ++k) {
      Eigen::VectorXf g = test::random_vector(random, d);
      auto i = shifted.iteration() - (k % 3 == 0 && k > 0 ? 1 : 0);
      REQUIRE(shifted.place_and_apply(g, i, a, 7).accepted());
      REQUIRE(naive.place_and_apply(g, i, b).accepted());
      CHECK(test::max_relative_error(a, b) <= 1e-6);
      CHECK(
        test::max_relative_error(shifted.worker_momentum(7), naive.momentum())
        <= 1e-6);
    }
    CHECK(shifted.iteration() == naive.iteration());
  }
}

TEST_CASE("shifted momentum with beta 0 is asgd, whatever the workers") {
  random_source random(22);
  const Eigen::Index d = 5;
  shifted_momentum shifted(d, 2, {0.1, 0.0});
  asgd plain(d, 2, {0.1, {}});
  Eigen::VectorXf a = test::random_vector(random, d);
  Eigen::VectorXf b = a;
  for (int k = 0; k < 20; ++k) {
    Eigen::VectorXf g = test::random_vector(random, d);
    auto i = shifted.iteration();
    shifted.place_and_apply(g, i, a, static_cast<worker_id>(1 + k % 3));
    plain.place_and_apply(g, i, b);
    CHECK(test::max_relative_error(a, b) <= 1e-6);
  }
}

TEST_CASE("shifted momentum with one worker and K = 1 is ssgdm with K = 1") {
  // ssgdm carries eta in its u: u_t = eta * m_t, the same steps.
  random_source random(23);
  const Eigen::Index d = 6;
  shifted_momentum shifted(d, 1, {0.2, 0.9});
  synchronous_momentum reference(d, 1, {0.2, 0.9});
  Eigen::VectorXf a = test::random_vector(random, d);
  Eigen::VectorXf b = a;
  for (int k = 0; k < 25; ++k) {
    Eigen::VectorXf g = test::random_vector(random, d);
    REQUIRE(shifted.place_and_apply(g, shifted.iteration(), a, 1).accepted());
    REQUIRE(reference.place_and_apply(g, reference.iteration(), b).accepted());
    CHECK(test::max_relative_error(a, b) <= 1e-5);
  }
}

TEST_CASE("shifted momentum: a worker's buffer lives from its join (or first "
          "push) to its leave") {
  shifted_momentum rule(3, 2, {0.5, 0.5});
  CHECK(rule.worker_vector_count() == 0);
  rule.join(1);
  rule.join(2);
  CHECK(rule.worker_vector_count() == 2);
  auto state = rule.state();
  REQUIRE(state.worker_vectors.size() == 2);
  CHECK(state.worker_vectors.at(1) == Eigen::VectorXf::Zero(3));
  CHECK(state.own_vectors.empty());
  Eigen::VectorXf w = Eigen::VectorXf::Zero(3);
  Eigen::VectorXf g = Eigen::VectorXf::Constant(3, 2.0f);
  rule.place_and_apply(g, 0, w, 1);
  // A second join keeps the buffer it has.
  rule.join(1);
  CHECK(rule.worker_momentum(1)[0] == 2.0f);
  // A worker that never joined gets one at its first push.
  rule.place_and_apply(g, 1, w, 3);
  CHECK(rule.worker_vector_count() == 3);
  CHECK(rule.worker_momentum(3)[0] == 2.0f);
  // Leaving drops it: d floats fewer; the same id starts from zero.
  rule.leave(1);
  CHECK(rule.worker_vector_count() == 2);
  CHECK(rule.state().worker_vectors.count(1) == 0);
  rule.leave(1); // twice: nothing
  rule.place_and_apply(g, 2, w, 1);
  CHECK(rule.worker_momentum(1)[0] == 2.0f);
}

TEST_CASE("shifted momentum: a step vector handed out never changes") {
  shifted_momentum rule(2, 1, {0.1, 0.5});
  Eigen::VectorXf g = Eigen::VectorXf::Constant(2, 4.0f);
  auto first = rule.place(g, 0, 1);
  REQUIRE(first.step_vector);
  const Eigen::VectorXf held = *first.step_vector;
  // Held by the caller (a step in flight): the next values go elsewhere.
  auto second = rule.place(g, 1, 1);
  CHECK(*first.step_vector == held);
  CHECK((*second.step_vector)[0] == 6.0f); // 0.5 * 4 + 4
  CHECK(second.step_vector != first.step_vector);
  // Nobody holds it any more: the next pass writes in place.
  const auto* buffer = second.step_vector.get();
  first = {};
  second = {};
  auto third = rule.place(g, 2, 1);
  CHECK(third.step_vector.get() == buffer);
  CHECK((*third.step_vector)[0] == 7.0f);
}

TEST_CASE("shifted momentum: warm-up weighs g in the worker's momentum") {
  // W = 4: arrival t counts with weight (t + 1) / 4, as in naive-asgdm.
  shifted_momentum shifted(1, 1, {0.5, 0.5});
  naive_momentum naive(1, 1, {0.5, 0.5});
  shifted.set_warmup(4);
  naive.set_warmup(4);
  Eigen::VectorXf a = one(0);
  Eigen::VectorXf b = one(0);
  auto first = shifted.place_and_apply(one(4), 0, a, 1); // m = 1, w = -0.5
  CHECK(first.coefficients.parameter_gradient_weight == 0.5f); // unscaled
  CHECK(shifted.worker_momentum(1)[0] == 1.0f);
  CHECK(a[0] == -0.5f);
  for (int k = 0; k < 6; ++k) {
    if (k > 0)
      shifted.place_and_apply(one(4), shifted.iteration(), a, 1);
    naive.place_and_apply(one(4), naive.iteration(), b);
    CHECK(a[0] == b[0]);
  }
}

TEST_CASE("shifted momentum: the state carries every worker's buffer") {
  random_source random(24);
  const Eigen::Index d = 4;
  shifted_momentum original(d, 2, {0.1, 0.9});
  shifted_momentum restored(d, 2, {0.1, 0.9});
  Eigen::VectorXf w = test::random_vector(random, d);
  for (int k = 0; k < 9; ++k)
    original.place_and_apply(test::random_vector(random, d),
                             original.iteration(), w,
                             static_cast<worker_id>(k % 3));
  original.leave(2);
  REQUIRE(restored.restore(original.state()));
  CHECK(restored.worker_vector_count() == 2);
  Eigen::VectorXf w_restored = w;
  for (int k = 0; k < 9; ++k) {
    Eigen::VectorXf g = test::random_vector(random, d);
    auto worker = static_cast<worker_id>(k % 3);
    original.place_and_apply(g, original.iteration(), w, worker);
    restored.place_and_apply(g, restored.iteration(), w_restored, worker);
    CHECK((w.array() == w_restored.array()).all());
  }
  // A state with a vector of the wrong size, or one that is not finite, is
  // refused and changes nothing.
  auto state = original.state();
  state.worker_vectors[5] = Eigen::VectorXf::Zero(d + 1);
  auto refused = restored.restore(state);
  CHECK_FALSE(refused);
  CHECK(refused.message().find("worker 5") != std::string::npos);
  state.worker_vectors[5] = Eigen::VectorXf::Zero(d);
  state.worker_vectors[5][1] = std::numeric_limits<float>::infinity();
  CHECK_FALSE(restored.restore(state));
  CHECK(restored.worker_vector_count() == 3);
  state.worker_vectors.erase(5);
  state.own_vectors.push_back(Eigen::VectorXf::Zero(d));
  CHECK(restored.restore(state).message().find("own vectors")
        != std::string::npos);
}
