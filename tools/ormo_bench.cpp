// ormo-bench: the server's per-gradient work and the workers' gradient
// throughput, each against a baseline measured in the same run (the machine
// is shared and noisy, so only ratios travel between runs).
//
// Usage: ormo-bench [--quick]
//        ormo-bench transport [--quick] [CAF options, e.g.
//                              --middleman.workers=0]
//        ormo-bench multiprocess [--quick]   (see bench_multiprocess.hpp)
// The last line is `RATIO ormo_apply_vs_fused_loop <value>`: OrMo (default
// placement) at d = 1e7 against a hand-written fused loop with the same
// memory traffic, u = beta*u + c*g; w -= u. The rules are timed on checked
// gradients, as the servers receive them (the finiteness check runs once
// where a gradient enters the process: at its producer or while a remote
// message is decoded); the check's own cost is printed on its own line.
//
// `transport`: the bytes of one push and one pull between two processes on
// 127.0.0.1, through plain TCP and through CAF's middleman with ormo's
// message types; last line `RATIO transport_vs_raw_tcp <value>` (see
// transport_bench()).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Eigen/Core>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "ormo/actors/atoms.hpp"
#include "ormo/actors/messages.hpp"
#include "ormo/actors/training.hpp"

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
  add("shifted-momentum", algorithm::shifted_momentum, 0.002);
  add("smega2", algorithm::smega2, 0.005);
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
      const auto placed = rule->place(checked, computed_at());
      const auto& step = accepted(placed).offset_form;
      ormo::optim::update_rule::apply_step(
        step, placed.step_input(gradient), u, base, base,
        step.momentum_offset != 0 ? published : none);
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

// -- transport: plain TCP against CAF's middleman -----------------------------

/// One push's and one pull's payload: a d = 1e6 float vector.
constexpr std::size_t transport_dimension = 1000000;
constexpr std::size_t transport_bytes = transport_dimension * sizeof(float);

/// Any blocking step of the benchmark gives up after this long.
constexpr int transport_deadline_seconds = 30;

/// A forked helper process; `report` carries its port to the parent, and
/// the child exits when `keep_alive` closes (or when the parent dies).
struct child_process {
  pid_t pid = -1;
  int report = -1;
  int keep_alive = -1;
};

[[noreturn]] void transport_fail(const std::string& what) {
  std::fprintf(stderr, "ormo-bench transport: %s\n", what.c_str());
  std::exit(1);
}

/// The parent's ends of the pipes of earlier children: a later child closes
/// its copies, so that each child sees its keep-alive pipe close.
std::vector<int> parent_pipe_ends;

/// Forks a child that runs `body(report_fd, keep_alive_fd)` and exits.
/// REQUIRES: the caller has started no threads (fork copies only one).
child_process fork_child(const std::function<void(int, int)>& body) {
  int report[2];
  int keep_alive[2];
  if (pipe(report) != 0 || pipe(keep_alive) != 0)
    transport_fail(std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0)
    transport_fail(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(10 * transport_deadline_seconds);
    for (int fd : parent_pipe_ends)
      close(fd);
    close(report[0]);
    close(keep_alive[1]);
    body(report[1], keep_alive[0]);
    _exit(0);
  }
  close(report[1]);
  close(keep_alive[0]);
  parent_pipe_ends.push_back(report[0]);
  parent_pipe_ends.push_back(keep_alive[1]);
  return {pid, report[0], keep_alive[1]};
}

/// Closes the child's keep-alive pipe and reaps it; kills it if it does not
/// exit within a few seconds.
void stop_child(child_process& child) {
  if (child.pid < 0)
    return;
  close(child.keep_alive);
  close(child.report);
  for (int attempt = 0; attempt < 500; ++attempt) {
    if (waitpid(child.pid, nullptr, WNOHANG) == child.pid) {
      child.pid = -1;
      return;
    }
    poll(nullptr, 0, 10);
  }
  kill(child.pid, SIGKILL);
  waitpid(child.pid, nullptr, 0);
  child.pid = -1;
}

/// Blocks until the parent closes `keep_alive`.
void wait_for_parent(int keep_alive) {
  char byte;
  while (read(keep_alive, &byte, 1) > 0 || errno == EINTR) {
    // nop
  }
}

void report_port(int report, std::uint16_t port) {
  if (write(report, &port, sizeof(port)) != sizeof(port))
    _exit(1);
}

/// The port the child reports, or exits after the deadline.
std::uint16_t read_port(const child_process& child) {
  pollfd ready{child.report, POLLIN, 0};
  if (poll(&ready, 1, transport_deadline_seconds * 1000) != 1)
    transport_fail("the helper process reported no port");
  std::uint16_t port = 0;
  if (read(child.report, &port, sizeof(port)) != sizeof(port) || port == 0)
    transport_fail("the helper process failed to listen");
  return port;
}

bool transfer_all(int fd, char* data, std::size_t size, bool sending) {
  while (size > 0) {
    auto done
      = sending ? send(fd, data, size, MSG_NOSIGNAL) : recv(fd, data, size, 0);
    if (done < 0 && errno == EINTR)
      continue;
    if (done <= 0)
      return false;
    data += done;
    size -= static_cast<std::size_t>(done);
  }
  return true;
}

void tune_socket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval timeout{transport_deadline_seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

/// The plain TCP peer: answers every request of transport_bytes with as
/// many bytes, until the connection closes.
void tcp_echo_server(int report, int keep_alive) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address))
        != 0
      || listen(listener, 1) != 0
      || getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length)
           != 0)
    _exit(1);
  report_port(report, ntohs(address.sin_port));
  int connection = accept(listener, nullptr, nullptr);
  if (connection < 0)
    _exit(1);
  tune_socket(connection);
  std::vector<char> request(transport_bytes);
  std::vector<char> response(transport_bytes, 1);
  while (transfer_all(connection, request.data(), request.size(), false)
         && transfer_all(connection, response.data(), response.size(), true)) {
    // nop
  }
  wait_for_parent(keep_alive);
}

int tcp_connect(std::uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
    transport_fail(std::string("connect: ") + std::strerror(errno));
  tune_socket(fd);
  return fd;
}

/// What a parameter server answers to, reduced to the two exchanges whose
/// bytes cross nodes in training: a push answered with the parameters, and
/// a pull.
using transport_server_actor = caf::typed_actor<
  caf::replies_to<ormo::actors::push_atom, ormo::actors::gradient_push>::with<
    ormo::actors::push_outcome>,
  caf::replies_to<ormo::actors::pull_atom>::with<
    ormo::actors::parameter_snapshot>>;

/// Checks the size and finiteness of each gradient (as a real orderer
/// would) and answers with the same parameters every time.
transport_server_actor::behavior_type
transport_server(ormo::actors::parameter_snapshot snapshot) {
  using namespace ormo::actors;
  return {
    [snapshot](push_atom, const gradient_push& push) {
      push_outcome outcome;
      if (push.gradient.size() != snapshot.parameters.size())
        outcome.rejection = ormo::rejection_reason::dimension_mismatch;
      else if (!push.gradient.finite())
        outcome.rejection = ormo::rejection_reason::non_finite_value;
      else
        outcome.snapshot = snapshot;
      return outcome;
    },
    [snapshot](pull_atom) { return snapshot; },
  };
}

/// An actor system as ormo's nodes configure theirs, with the middleman,
/// the settings that measured fastest here (docs/performance.md,
/// "Transport"), and `caf_options` (e.g. --middleman.workers=1) on top:
/// - a sharing scheduler (actors::configure's workers_last_sharing): a
///   condition variable instead of work stealing, whose idle workers poll
///   with 50 us sleeps (26 times the context switches, 2.6 times the CPU
///   time on 2 shared cores);
/// - middleman.workers = 0: the multiplexer thread decodes each message
///   straight from its receive buffer, instead of copying the payload to a
///   BASP worker thread (one copy and one thread hop fewer per message).
void configure_transport(caf::actor_system_config& cfg,
                         const std::vector<std::string>& caf_options) {
  ormo::actors::configure(cfg, false);
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.workers", 0);
  if (auto err = cfg.parse(caf_options))
    transport_fail("CAF options: " + cfg.render(err));
}

void caf_server(int report, int keep_alive,
                const std::vector<std::string>& caf_options) {
  caf::actor_system_config cfg;
  configure_transport(cfg, caf_options);
  caf::actor_system system{cfg};
  ormo::actors::parameter_snapshot snapshot;
  snapshot.parameters
    = ormo::actors::share(Eigen::VectorXf::Constant(transport_dimension, 0.5f));
  snapshot.iteration = 1;
  auto server = system.spawn(transport_server, snapshot);
  auto port = system.middleman().publish(server, 0, "127.0.0.1");
  if (!port)
    _exit(1);
  report_port(report, *port);
  wait_for_parent(keep_alive);
  // No orderly shutdown: the parent is done with us.
  _exit(0);
}

/// Seconds per round of `round`, median over the trials of `measure`.
struct trial_series {
  std::vector<double> seconds_per_round;
  double median_seconds() const { return median(seconds_per_round); }
};

/// `ormo-bench transport`: the same bytes through plain TCP and through
/// CAF's middleman, each between this process and a forked one, trials
/// interleaved. A round is one push of a d = 1e6 gradient answered with
/// the d = 1e6 parameters (4 MB each way): for TCP a request of
/// transport_bytes answered by as many bytes. Throughput counts both
/// directions. The ratio is CAF's throughput over TCP's.
int transport_bench(bool quick, const std::vector<std::string>& caf_options) {
  const int trials = quick ? 3 : 7;
  const int rounds = quick ? 10 : 40;
  {
    // Refuse bad options here rather than in a helper process.
    caf::actor_system_config cfg;
    configure_transport(cfg, caf_options);
  }
  // Both helpers before any thread exists in this process.
  auto tcp_child = fork_child(tcp_echo_server);
  auto caf_child = fork_child([&](int report, int keep_alive) {
    caf_server(report, keep_alive, caf_options);
  });
  auto tcp_port = read_port(tcp_child);
  auto caf_port = read_port(caf_child);
  std::printf("ormo-bench transport: d = %zu floats (%zu bytes) each way, "
              "127.0.0.1, two processes; medians of %d interleaved trials "
              "of %d round trips%s\n",
              transport_dimension, transport_bytes, trials, rounds,
              quick ? " (quick)" : "");
  for (const auto& option : caf_options)
    std::printf("  CAF option %s\n", option.c_str());
  trial_series tcp;
  trial_series push;
  trial_series pull;
  {
    int fd = tcp_connect(tcp_port);
    std::vector<char> request(transport_bytes, 2);
    std::vector<char> response(transport_bytes);
    auto tcp_round = [&] {
      if (!transfer_all(fd, request.data(), request.size(), true)
          || !transfer_all(fd, response.data(), response.size(), false))
        transport_fail("plain TCP exchange failed");
    };

    caf::actor_system_config cfg;
    configure_transport(cfg, caf_options);
    caf::actor_system system{cfg};
    auto server = system.middleman().remote_actor<transport_server_actor>(
      "127.0.0.1", caf_port);
    if (!server)
      transport_fail("remote_actor: " + system.render(server.error()));
    using namespace ormo::actors;
    gradient_push gradient;
    gradient.worker = 1;
    gradient.gradient = ormo::optim::checked_gradient::check(
      std::make_shared<const Eigen::VectorXf>(
        Eigen::VectorXf::Constant(transport_dimension, 0.25f)));
    caf::scoped_actor self{system};
    const auto deadline = std::chrono::seconds(transport_deadline_seconds);
    auto push_round = [&] {
      ++gradient.sequence;
      self->request(*server, deadline, push_atom::value, gradient)
        .receive(
          [&](push_outcome& outcome) {
            if (!outcome.accepted()
                || outcome.snapshot.parameters.size() != transport_dimension)
              transport_fail("push rejected or answered without parameters");
          },
          [&](caf::error& err) {
            transport_fail("push: " + system.render(err));
          });
    };
    auto pull_round = [&] {
      self->request(*server, deadline, pull_atom::value)
        .receive(
          [&](parameter_snapshot& snapshot) {
            if (snapshot.parameters.size() != transport_dimension)
              transport_fail("pull answered with the wrong size");
          },
          [&](caf::error& err) {
            transport_fail("pull: " + system.render(err));
          });
    };
    auto timed = [&](const std::function<void()>& round) {
      auto start = clock_type::now();
      for (int k = 0; k < rounds; ++k)
        round();
      return seconds_since(start) / rounds;
    };
    // Warm-up: connections, first-touch of buffers, allocator state.
    for (int k = 0; k < 3; ++k) {
      tcp_round();
      push_round();
      pull_round();
    }
    for (int trial = 0; trial < trials; ++trial) {
      tcp.seconds_per_round.push_back(timed(tcp_round));
      push.seconds_per_round.push_back(timed(push_round));
      pull.seconds_per_round.push_back(timed(pull_round));
    }
    close(fd);
  }
  stop_child(tcp_child);
  stop_child(caf_child);
  const double both_ways = 2.0 * transport_bytes;
  auto gbps
    = [](double bytes, double seconds) { return bytes / seconds / 1e9; };
  std::printf("  %-44s %6.2f GB/s  (%.2f ms per round trip)\n",
              "plain TCP, request + response",
              gbps(both_ways, tcp.median_seconds()),
              tcp.median_seconds() * 1e3);
  std::printf("  %-44s %6.2f GB/s  (%.2f ms per round trip)\n",
              "CAF: gradient_push -> push_outcome",
              gbps(both_ways, push.median_seconds()),
              push.median_seconds() * 1e3);
  std::printf("  %-44s %6.2f GB/s  (%.2f ms per round trip, one way)\n",
              "CAF: pull -> parameter_snapshot",
              gbps(transport_bytes, pull.median_seconds()),
              pull.median_seconds() * 1e3);
  std::printf("RATIO transport_vs_raw_tcp %.3f\n",
              tcp.median_seconds() / push.median_seconds());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "multiprocess") == 0)
    return ormo::tools::bench_multiprocess(
      argc > 2 && std::strcmp(argv[2], "--quick") == 0);
  if (argc > 1 && std::strcmp(argv[1], "transport") == 0) {
    bool quick = false;
    std::vector<std::string> caf_options;
    for (int k = 2; k < argc; ++k) {
      if (std::strcmp(argv[k], "--quick") == 0)
        quick = true;
      else
        caf_options.emplace_back(argv[k]);
    }
    return transport_bench(quick, caf_options);
  }
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (argc > 1 && !quick) {
    std::fprintf(stderr, "usage: ormo-bench [--quick]\n"
                         "       ormo-bench transport [--quick] "
                         "[CAF options]\n"
                         "       ormo-bench multiprocess [--quick]\n");
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
