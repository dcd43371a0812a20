#include "bench_multiprocess.hpp"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

extern char** environ;

namespace ormo::tools {

namespace {

namespace fs = std::filesystem;

/// A port nobody listens on right now (bound to 0 and released).
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  int port = 0;
  if (fd >= 0
      && bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0
      && getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

const char* common_keys = R"([run]
seed = 1

[algorithm]
name = "ormo"
learning_rate = 0.05
momentum = 0.9

[model]
kind = "mlp"
hidden = [128]

[data]
source = "fashion-mnist"

[output]
progress_seconds = 1000
evaluations_per_epoch = 0.01
)";

// Both topologies: each worker computes its next gradient while this many
// pushes await their answers (the loopback's transfer time overlaps the
// computation).
const char* workers_keys = "\n[workers]\npushes_in_flight = 2\n";

std::string in_process_topology() {
  return std::string(common_keys) + workers_keys + "count = 2\n";
}

std::string three_node_topology(int port) {
  std::ostringstream out;
  out << common_keys << workers_keys << R"(
[[nodes]]
name = "server"
port = )" << port << R"(
shards = [0]
supervisor = true

[[nodes]]
name = "worker-a"
workers = 1

[[nodes]]
name = "worker-b"
workers = 1
)";
  return out.str();
}

/// Runs `arguments` with its output in `log`, killed after `limit`;
/// returns its exit status (-1: killed or not started).
int run_process(const std::vector<std::string>& arguments, const fs::path& log,
                std::chrono::seconds limit) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  for (const auto& argument : arguments)
    argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int error
    = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0)
    return -1;
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGINT); // the launcher ends its children
      usleep(2000000);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    usleep(20000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

struct pair_of_rates {
  double in_process = 0;
  double multiprocess = 0;
};

} // namespace

int bench_multiprocess(bool quick) {
  auto ormo = fs::read_symlink("/proc/self/exe").parent_path() / "ormo";
  if (!fs::exists(ormo)) {
    std::fprintf(stderr, "ormo-bench: %s not found (build the ormo target)\n",
                 ormo.c_str());
    return 1;
  }
  char pattern[] = "/tmp/ormo-bench-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    std::perror("ormo-bench: mkdtemp");
    return 1;
  }
  fs::path dir = pattern;
  const int rounds = quick ? 1 : 3;
  const int seconds = quick ? 3 : 6;
  std::printf("ormo-bench multiprocess: Fashion-MNIST MLP 784-128-10, OrMo, "
              "2 workers, %d s per run; one process against three (server "
              "node + 2 worker nodes on loopback); medians of %d interleaved "
              "rounds\n",
              seconds, rounds);
  std::fflush(stdout);
  double ratio_256 = 0;
  for (int batch : {256, 32}) {
    std::vector<double> in_rates, multi_rates;
    for (int round = 0; round < rounds; ++round) {
      for (bool multi : {false, true}) {
        auto file = dir / (multi ? "three-nodes.toml" : "one-process.toml");
        {
          std::ofstream out(file);
          out << (multi ? three_node_topology(free_port())
                        : in_process_topology());
        }
        auto out_dir = dir / (multi ? "out-multi" : "out-one");
        fs::remove_all(out_dir);
        std::vector<std::string> arguments{
          ormo.string(),
          "run",
          file.string(),
          "--out",
          out_dir.string(),
          "--set",
          "model.batch_size=" + std::to_string(batch),
          "--set",
          "run.stop_seconds=" + std::to_string(seconds)};
        auto log = dir / (multi ? "multi.log" : "one.log");
        int status = run_process(arguments, log, std::chrono::seconds(120));
        std::ifstream summary(out_dir / "summary.json");
        auto json = nlohmann::json::parse(summary, nullptr, false);
        if (status != 0 || json.is_discarded()) {
          std::fprintf(stderr,
                       "ormo-bench: the %s run failed (exit %d); its log: "
                       "%s\n",
                       multi ? "three-process" : "one-process", status,
                       log.c_str());
          return 1;
        }
        double rate = json.value("samples_per_second", 0.0);
        (multi ? multi_rates : in_rates).push_back(rate);
      }
    }
    double in = median(in_rates);
    double multi = median(multi_rates);
    std::printf("batch %3d: one process %.0f samples/s, three processes "
                "%.0f samples/s, ratio %.3f\n",
                batch, in, multi, multi / in);
    std::fflush(stdout);
    if (batch == 256)
      ratio_256 = multi / in;
  }
  fs::remove_all(dir);
  std::printf("RATIO multiprocess_vs_inprocess %.3f\n", ratio_256);
  return 0;
}

} // namespace ormo::tools
