// run_policy without an actor system: stop rules, evaluation points,
// progress, rows and the final report from counters fed by hand.
#include "ormo/actors/run_policy.hpp"

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace ormo;
using namespace ormo::actors;

namespace {

/// 100 samples per epoch, 10 per gradient: 10 gradients per epoch.
run_policy_settings settings_with(config::stop_rules stop,
                                  double evaluations_per_epoch = 4) {
  run_policy_settings settings;
  settings.stop = stop;
  settings.batch_size = 10;
  settings.samples_per_epoch = 100;
  settings.evaluations_per_epoch = evaluations_per_epoch;
  return settings;
}

run_counts received(std::uint64_t count, std::int64_t iteration = 0) {
  run_counts counts;
  counts.received = count;
  counts.applied = count;
  counts.loss_count = count;
  counts.iteration = iteration;
  return counts;
}

run_membership live(std::uint32_t workers) {
  run_membership m;
  m.live = workers;
  m.joined = workers;
  return m;
}

} // namespace

TEST_CASE("run_policy: delay percentiles are nearest ranks") {
  CHECK(delay_percentile({}, 0.5) == 0);
  // 100 gradients: 90 at delay 0, 9 at 3, 1 at 40.
  const std::map<std::int64_t, std::uint64_t> delays{{0, 90}, {3, 9}, {40, 1}};
  CHECK(delay_percentile(delays, 0.5) == 0);
  CHECK(delay_percentile(delays, 0.9) == 0);    // the 90th of 100
  CHECK(delay_percentile(delays, 0.91) == 3);   // the 91st
  CHECK(delay_percentile(delays, 0.99) == 3);   // the 99th
  CHECK(delay_percentile(delays, 0.999) == 40); // the 100th
  CHECK(delay_percentile(delays, 1.0) == 40);
  CHECK(delay_percentile({{7, 1}}, 0.001) == 7);
}

TEST_CASE("run_policy: stop reasons have the summary's names") {
  CHECK(std::string(to_string(stop_reason::epochs)) == "epochs");
  CHECK(std::string(to_string(stop_reason::iterations)) == "iterations");
  CHECK(std::string(to_string(stop_reason::seconds)) == "seconds");
  CHECK(std::string(to_string(stop_reason::accuracy)) == "accuracy");
  CHECK(std::string(to_string(stop_reason::interrupted)) == "interrupted");
  CHECK(std::string(to_string(stop_reason::failure)) == "failure");
  CHECK(std::string(to_string(run_failure::no_live_worker))
        == "no_live_worker");
}

TEST_CASE("run_policy: each stop rule ends the run when reached") {
  SUBCASE("epochs") {
    config::stop_rules stop;
    stop.epochs = 2;
    run_policy policy(settings_with(stop));
    policy.set_membership(live(1));
    policy.set_counts(received(19));
    CHECK_FALSE(policy.check_stop(100).ended());
    policy.set_counts(received(20));
    CHECK(policy.check_stop(0).reason == stop_reason::epochs);
    CHECK(policy.stop_watch_received() == 20);
    CHECK(policy.stop_watch_iteration() == 0);
  }
  SUBCASE("iterations") {
    config::stop_rules stop;
    stop.iterations = 7;
    run_policy policy(settings_with(stop));
    policy.set_membership(live(1));
    policy.set_counts(received(1000, 6));
    CHECK_FALSE(policy.check_stop(0).ended());
    policy.set_counts(received(1000, 7));
    CHECK(policy.check_stop(0).reason == stop_reason::iterations);
    CHECK(policy.stop_watch_received() == 0);
    CHECK(policy.stop_watch_iteration() == 7);
  }
  SUBCASE("seconds") {
    config::stop_rules stop;
    stop.seconds = 1.5;
    run_policy policy(settings_with(stop));
    policy.set_membership(live(1));
    CHECK_FALSE(policy.check_stop(1.49).ended());
    CHECK(policy.check_stop(1.5).reason == stop_reason::seconds);
    CHECK(policy.stop_watch_received() == 0);
    CHECK(policy.stop_watch_iteration() == 0);
  }
  SUBCASE("accuracy, as of the last evaluation") {
    config::stop_rules stop;
    stop.accuracy = 0.9;
    run_policy policy(settings_with(stop));
    policy.set_membership(live(1));
    policy.make_row(0, 0, model::evaluation{1.0, 0.89});
    CHECK_FALSE(policy.check_stop(0).ended());
    policy.make_row(1, 0, std::nullopt); // no evaluation: no new accuracy
    CHECK_FALSE(policy.check_stop(0).ended());
    policy.make_row(2, 0, model::evaluation{0.5, 0.9});
    CHECK(policy.check_stop(0).reason == stop_reason::accuracy);
  }
  SUBCASE("interrupted") {
    run_policy policy(settings_with({}));
    policy.set_membership(live(1));
    CHECK_FALSE(policy.check_stop(1e9).ended());
    policy.interrupt();
    CHECK(policy.check_stop(0).reason == stop_reason::interrupted);
  }
}

TEST_CASE("run_policy: the first rule reached wins") {
  config::stop_rules stop;
  stop.epochs = 1;
  stop.iterations = 5;
  stop.seconds = 10;
  run_policy policy(settings_with(stop));
  policy.set_membership(live(2));
  // Iterations first.
  policy.set_counts(received(9, 5));
  CHECK(policy.check_stop(3).reason == stop_reason::iterations);
  // Epochs before iterations and seconds when all hold.
  policy.set_counts(received(10, 5));
  CHECK(policy.check_stop(11).reason == stop_reason::epochs);
  // Interrupted before everything.
  policy.interrupt();
  CHECK(policy.check_stop(11).reason == stop_reason::interrupted);
}

TEST_CASE("run_policy: no live worker is a failure that says why") {
  run_policy policy(settings_with({}));
  // Before any worker joined the run waits.
  CHECK_FALSE(policy.check_stop(0).ended());
  run_membership m;
  m.joined = 3;
  m.crashed = 3;
  m.evicted = 3;
  m.last_failure = "worker 7 (slot 2): boom";
  policy.set_membership(m);
  auto end = policy.check_stop(0);
  CHECK(end.reason == stop_reason::failure);
  CHECK(end.failure == run_failure::no_live_worker);
  CHECK(end.detail.find("3 evicted") != std::string::npos);
  CHECK(end.detail.find("boom") != std::string::npos);
  // Slots whose sources could not be made never joined: still a failure.
  run_membership none_joined;
  none_joined.crashed = 2;
  none_joined.evicted = 2;
  policy.set_membership(none_joined);
  CHECK(policy.check_stop(0).failure == run_failure::no_live_worker);
  // A live worker keeps the run going.
  none_joined.live = 1;
  none_joined.joined = 1;
  policy.set_membership(none_joined);
  CHECK_FALSE(policy.check_stop(0).ended());
}

TEST_CASE("run_policy: evaluation points are exactly at k/E epochs") {
  // E = 4 with 10 gradients per epoch: at 2.5 -> 3, 5, 7.5 -> 8, 10, ...
  run_policy policy(settings_with({}, 4));
  CHECK(policy.next_evaluation_epoch() == 0.25);
  CHECK(policy.next_evaluation_received() == 3);
  std::vector<std::uint64_t> evaluated_at;
  for (std::uint64_t count = 0; count <= 20; ++count) {
    policy.set_counts(received(count));
    if (policy.pass_evaluation_points())
      evaluated_at.push_back(count);
  }
  CHECK(evaluated_at
        == std::vector<std::uint64_t>{3, 5, 8, 10, 13, 15, 18, 20});
  CHECK(policy.next_evaluation_epoch() == 2.25);
  // Asked again at the same counts: nothing doubled.
  CHECK_FALSE(policy.pass_evaluation_points());
}

TEST_CASE("run_policy: counts that jump pass several points with one "
          "evaluation, none doubled") {
  run_policy policy(settings_with({}, 4));
  policy.set_counts(received(2));
  CHECK_FALSE(policy.pass_evaluation_points());
  // From 0.2 to 0.8 epochs: points 0.25, 0.5 and 0.75 passed at once.
  policy.set_counts(received(8));
  CHECK(policy.pass_evaluation_points());
  CHECK_FALSE(policy.pass_evaluation_points());
  CHECK(policy.next_evaluation_epoch() == 1.0);
  CHECK(policy.next_evaluation_received() == 10);
  // Landing exactly on the next point.
  policy.set_counts(received(10));
  CHECK(policy.pass_evaluation_points());
  CHECK(policy.next_evaluation_epoch() == 1.25);
}

TEST_CASE("run_policy: a point of 1/3 epoch is k/3, not an accumulated sum") {
  run_policy policy(settings_with({}, 3));
  for (std::uint64_t k = 1; k <= 30; ++k) {
    CAPTURE(k);
    // 10 gradients per epoch: the k-th point is at ceil(10 k / 3).
    auto expected = static_cast<std::uint64_t>(std::ceil(10.0 * k / 3));
    CHECK(policy.next_evaluation_received() == expected);
    policy.set_counts(received(expected - 1));
    CHECK_FALSE(policy.pass_evaluation_points());
    policy.set_counts(received(expected));
    CHECK(policy.pass_evaluation_points());
  }
}

TEST_CASE("run_policy: progress and ETA follow the nearest stop rule") {
  config::stop_rules stop;
  stop.epochs = 4;
  stop.seconds = 100;
  run_policy policy(settings_with(stop));
  policy.set_membership(live(3));
  auto counts = received(10, 5);
  counts.loss_sum = 20;
  counts.rejected[rejection_reason::non_finite_value] = 2;
  policy.set_counts(counts);
  // 1 of 4 epochs, 50 of 100 s: half done.
  auto p = policy.make_progress(50, 8);
  CHECK(p.done == 0.5);
  CHECK(p.eta_seconds == 8);
  CHECK(p.epoch == 1);
  CHECK(p.iteration == 5);
  CHECK(p.gradients_per_second == doctest::Approx(10.0 / 50));
  CHECK(p.train_loss == 2);
  CHECK(p.live_workers == 3);
  CHECK(p.rejected == 2);
  CHECK(p.test_accuracy < 0);
  // Nothing that can be measured: unknown ETA.
  run_policy open_ended(settings_with({}));
  CHECK(open_ended.make_progress(5, 5).done == 0);
  CHECK(open_ended.make_progress(5, 5).eta_seconds < 0);
  // Done never exceeds 1.
  CHECK(policy.fraction_done(1000) == 1);
}

TEST_CASE("run_policy: rows measure loss and samples/s since the last row") {
  run_policy policy(settings_with({}));
  auto first = policy.make_row(0, 0, model::evaluation{2.0, 0.1});
  CHECK(std::isnan(first.train_loss));
  CHECK(first.test_loss == 2.0);
  CHECK(first.gradients == 0);
  CHECK(first.samples_per_second == 0);

  auto counts = received(10);
  counts.loss_sum = 30; // mean 3
  counts.rejected[rejection_reason::duplicate_sequence] = 1;
  policy.set_counts(counts);
  auto second = policy.make_row(2, 1, std::nullopt);
  CHECK(second.train_loss == 3);
  CHECK(second.epoch == 1);
  CHECK(second.gradients == 10);
  CHECK(second.samples_per_second == 10 * 10 / 2.0);
  CHECK(second.rejected == 1);
  CHECK(std::isnan(second.test_loss));

  counts.received = counts.applied = counts.loss_count = 14;
  counts.loss_sum = 30 + 4; // 4 new gradients of loss 1
  policy.set_counts(counts);
  auto third = policy.make_row(4, 2, std::nullopt);
  CHECK(third.train_loss == 1);
  CHECK(third.samples_per_second == 4 * 10 / 2.0);
  // No new gradient: the loss stays the last one measured.
  auto fourth = policy.make_row(5, 3, std::nullopt);
  CHECK(fourth.train_loss == 1);
  CHECK(fourth.samples_per_second == 0);
}

TEST_CASE("run_policy: the report takes the counts, the end and the rows") {
  config::stop_rules stop;
  stop.epochs = 1;
  run_policy policy(settings_with(stop));
  auto counts = received(10, 4);
  counts.applied = 7;
  counts.partial = 1;
  counts.loss_count = 8;
  counts.delay_sum = 4;
  counts.max_delay = 2;
  counts.delays = {{0, 5}, {1, 2}, {2, 1}};
  counts.iteration_size = 3;
  counts.rejected[rejection_reason::non_finite_value] = 2;
  policy.set_counts(counts);
  run_membership m = live(3);
  m.crashed = 1;
  m.restarted = 1;
  policy.set_membership(m);
  run_report report;
  report.rows.push_back(policy.make_row(1, 1, model::evaluation{0.5, 0.75}));
  policy.fill_report(report, policy.check_stop(2), 2, 3, 0.5);
  CHECK(report.stop_reason == "epochs");
  CHECK(report.failure.empty());
  CHECK(report.epochs == 1);
  CHECK(report.iterations == 4);
  CHECK(report.iteration_size == 3);
  CHECK(report.gradients_received == 10);
  CHECK(report.gradients_applied == 7);
  CHECK(report.gradients_partial == 1);
  CHECK(report.gradients_rejected
        == std::map<std::string, std::uint64_t>{{"non_finite_value", 2}});
  CHECK(report.mean_delay == 0.5);
  CHECK(report.max_delay == 2);
  CHECK(report.delay_p50 == 0);
  CHECK(report.delay_p90 == 2);
  CHECK(report.delay_p99 == 2);
  CHECK(report.samples_per_second == 7 * 10 / 0.5);
  CHECK(report.final_test_accuracy == 0.75);
  CHECK(report.time_seconds == 2);
  CHECK(report.wall_seconds == 3);
  CHECK(report.crashed == 1);
  CHECK(report.restarted == 1);

  run_report failed;
  policy.fill_report(failed,
                     run_end::failed(run_failure::request_failed, "timeout"),
                     2, 3, 0.5);
  CHECK(failed.stop_reason == "failure");
  CHECK(failed.failure == "timeout");
}

TEST_CASE("run_policy: a restored memory continues rows and points exactly") {
  // One policy goes on; another, made afresh, restores its memory and
  // counts halfway: every later answer is the same.
  run_policy going_on(settings_with({}));
  going_on.make_row(0, 0, model::evaluation{2.0, 0.1});
  auto counts = received(6);
  counts.loss_sum = 12;
  going_on.set_counts(counts);
  CHECK(going_on.pass_evaluation_points());
  going_on.make_row(1.5, 1, model::evaluation{1.0, 0.5});

  run_policy resumed(settings_with({}));
  resumed.restore(going_on.memory());
  resumed.set_counts(going_on.counts());
  CHECK(resumed.next_evaluation_received()
        == going_on.next_evaluation_received());
  CHECK_FALSE(resumed.pass_evaluation_points());

  counts = received(9);
  counts.loss_sum = 12 + 6; // 3 new gradients of loss 2
  for (auto* policy : {&going_on, &resumed}) {
    policy->set_counts(counts);
    CHECK(policy->pass_evaluation_points());
  }
  auto a = going_on.make_row(3, 2, std::nullopt);
  auto b = resumed.make_row(3, 2, std::nullopt);
  CHECK(a.train_loss == 2);
  CHECK(b.train_loss == a.train_loss);
  CHECK(b.samples_per_second == a.samples_per_second);
  CHECK(resumed.make_progress(3, 2).test_accuracy
        == going_on.make_progress(3, 2).test_accuracy);
  CHECK(resumed.next_evaluation_epoch() == going_on.next_evaluation_epoch());
}
