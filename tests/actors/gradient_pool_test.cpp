// gradient_pool: buffers come back when their last pointer goes, the most
// recently returned is taken first, and they may outlive the pool.
#include "ormo/actors/gradient_pool.hpp"

#include <thread>
#include <vector>

#include <doctest/doctest.h>

using ormo::actors::gradient_pool;

TEST_CASE("gradient_pool: the buffer returned last is taken first") {
  gradient_pool pool(5);
  auto a = pool.take();
  auto b = pool.take();
  REQUIRE(a->size() == 5);
  REQUIRE(b->size() == 5);
  CHECK(a.get() != b.get());
  CHECK(pool.made() == 2);
  CHECK(pool.idle() == 0);
  const auto* first = a.get();
  const auto* second = b.get();
  a.reset();
  b.reset();
  CHECK(pool.idle() == 2);
  CHECK(pool.take().get() == second);
  auto again = pool.take();
  CHECK(again.get() == second); // the temporary above went back first
  CHECK(pool.take().get() == first);
  CHECK(pool.made() == 2);
}

TEST_CASE("gradient_pool: a buffer held by a copy comes back with the last "
          "copy only") {
  gradient_pool pool(3);
  auto held = pool.take();
  std::shared_ptr<const Eigen::VectorXf> reader = held;
  held.reset();
  CHECK(pool.idle() == 0);
  reader.reset();
  CHECK(pool.idle() == 1);
}

TEST_CASE("gradient_pool: buffers may outlive the pool") {
  std::shared_ptr<Eigen::VectorXf> survivor;
  {
    gradient_pool pool(4);
    survivor = pool.take();
    survivor->setConstant(1.5f);
  }
  CHECK(survivor->sum() == doctest::Approx(6.0));
  survivor.reset(); // returns to the pool's free list, then frees it
}

TEST_CASE("gradient_pool: threads take and return buffers concurrently") {
  gradient_pool pool(64);
  auto churn = [&pool] {
    for (int i = 0; i < 2000; ++i) {
      auto buffer = pool.take();
      (*buffer)[i % 64] = static_cast<float>(i);
    }
  };
  std::thread other(churn);
  churn();
  other.join();
  CHECK(pool.made() <= 2);
  CHECK(pool.idle() == pool.made());
}
