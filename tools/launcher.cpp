#include "launcher.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "command_line.hpp"
#include "ormo/whole_file.hpp"

namespace ormo::tools {

namespace {

volatile std::sig_atomic_t signalled = 0;

void on_signal(int signal) { signalled = signal; }

bool is_local(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

struct child {
  std::string name;
  bool supervisor = false;
  bool hosts_shards = false;
  pid_t pid = -1;
  int output = -1; // read end of its stdout and stderr
  std::string pending;
  bool running = false;
  /// Stopped by a declared fault (SIGSTOP) and not continued yet.
  bool stopped = false;
  int exit_status = 0;
};

/// A signal a declared node fault sends to a node's process.
struct node_signal {
  std::chrono::steady_clock::time_point at;
  std::string node;
  int signal = 0;
  /// The fault's kind, counted when it fires; null for the SIGCONT that
  /// ends a stop_node.
  const char* kind = nullptr;
};

/// The signals of `run`'s node faults (config::is_node_fault), in the
/// order they are due, `at_seconds` after `start`.
std::vector<node_signal>
node_signals(const config::run_config& run,
             std::chrono::steady_clock::time_point start) {
  using seconds = std::chrono::duration<double>;
  auto after = [&](double s) {
    return start
           + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
             seconds(s));
  };
  std::vector<node_signal> signals;
  for (const auto& fault : run.faults) {
    if (fault.kind == config::fault_kind::kill_node) {
      signals.push_back(
        {after(fault.at_seconds), fault.node, SIGKILL, "kill_node"});
    } else if (fault.kind == config::fault_kind::stop_node) {
      signals.push_back(
        {after(fault.at_seconds), fault.node, SIGSTOP, "stop_node"});
      signals.push_back({after(fault.at_seconds + fault.duration_s),
                         fault.node, SIGCONT, nullptr});
    }
  }
  std::stable_sort(signals.begin(), signals.end(),
                   [](const node_signal& a, const node_signal& b) {
                     return a.at < b.at;
                   });
  return signals;
}

/// Sends the signals due by now, from `next` on; counts the faults fired.
void send_due(std::vector<child>& nodes,
              const std::vector<node_signal>& signals, std::size_t& next,
              std::map<std::string, std::uint64_t>& fired) {
  auto now = std::chrono::steady_clock::now();
  for (; next < signals.size() && signals[next].at <= now; ++next) {
    const auto& due = signals[next];
    auto node = std::find_if(nodes.begin(), nodes.end(), [&](const child& c) {
      return c.name == due.node;
    });
    if (node == nodes.end() || !node->running)
      continue;
    kill(node->pid, due.signal);
    node->stopped = due.signal == SIGSTOP;
    const char* name = due.signal == SIGKILL   ? "SIGKILL"
                       : due.signal == SIGSTOP ? "SIGSTOP"
                                               : "SIGCONT";
    std::printf("ormo: fault: node %s: %s%s%s%s\n", node->name.c_str(), name,
                due.kind ? " (" : "", due.kind ? due.kind : "",
                due.kind ? ")" : "");
    std::fflush(stdout);
    if (due.kind != nullptr)
      ++fired[due.kind];
  }
}

/// Continues every node a stop_node left stopped (so that it can end).
void continue_stopped(std::vector<child>& nodes) {
  for (auto& node : nodes)
    if (node.running && node.stopped) {
      kill(node.pid, SIGCONT);
      node.stopped = false;
    }
}

/// Adds the node faults the launcher injected to faults_injected in the
/// summary.json the supervisor node wrote to `output_dir`; says why not
/// when it cannot.
void record_faults(const std::string& output_dir,
                   const std::map<std::string, std::uint64_t>& fired) {
  namespace fs = std::filesystem;
  auto path = fs::path(output_dir) / "summary.json";
  std::ifstream in(path, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>{in},
                   std::istreambuf_iterator<char>{}};
  auto summary = nlohmann::ordered_json::parse(text, nullptr, false);
  if (summary.is_discarded() || !summary.is_object()) {
    std::fprintf(stderr,
                 "ormo: cannot add the node faults to %s: not readable "
                 "JSON\n",
                 path.c_str());
    return;
  }
  auto& injected = summary["faults_injected"];
  if (!injected.is_object())
    injected = nlohmann::ordered_json::object();
  for (const auto& [kind, count] : fired)
    injected[kind] = injected.value(kind, std::uint64_t{0}) + count;
  auto updated = summary.dump(2, ' ', false,
                              nlohmann::json::error_handler_t::replace)
                 + '\n';
  auto temporary = path;
  temporary += ".tmp";
  if (auto failed = write_whole_file(path, temporary, {updated}))
    std::fprintf(stderr, "ormo: cannot add the node faults to %s: %s: %s\n",
                 path.c_str(), failed.step, std::strerror(failed.error));
}

/// Starts `ormo node FILE --name NAME --set ...` with stdout and stderr on
/// one pipe.
bool start(child& node, const std::vector<std::string>& arguments) {
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0)
    return false;
  auto parent = getpid();
  auto pid = fork();
  if (pid < 0) {
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    return false;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1); // the launcher died before the line above
    setpgid(0, 0); // a terminal's Ctrl-C reaches the launcher, which tells us
    dup2(pipe_ends[1], STDOUT_FILENO);
    dup2(pipe_ends[1], STDERR_FILENO);
    close(pipe_ends[0]);
    close(pipe_ends[1]);
    std::vector<char*> argv;
    for (const auto& argument : arguments)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    std::fprintf(stderr, "cannot start ormo: %s\n", std::strerror(errno));
    _exit(127);
  }
  close(pipe_ends[1]);
  fcntl(pipe_ends[0], F_SETFL, O_NONBLOCK);
  node.pid = pid;
  node.output = pipe_ends[0];
  node.running = true;
  return true;
}

/// Prints the complete lines of `node`'s output (all of it at the end).
void forward(child& node, bool everything) {
  std::size_t begin = 0;
  for (;;) {
    auto end = node.pending.find('\n', begin);
    if (end == std::string::npos)
      break;
    std::printf("[%s] %s\n", node.name.c_str(),
                node.pending.substr(begin, end - begin).c_str());
    begin = end + 1;
  }
  node.pending.erase(0, begin);
  if (everything && !node.pending.empty()) {
    std::printf("[%s] %s\n", node.name.c_str(), node.pending.c_str());
    node.pending.clear();
  }
  std::fflush(stdout);
}

/// Reads what is there; closes the pipe at its end.
void drain(child& node) {
  char buffer[4096];
  for (;;) {
    auto n = read(node.output, buffer, sizeof buffer);
    if (n > 0) {
      // A progress bar redrawn in place arrives with '\r'.
      std::string text(buffer, static_cast<std::size_t>(n));
      std::replace(text.begin(), text.end(), '\r', '\n');
      node.pending += text;
      continue;
    }
    if (n == 0) {
      close(node.output);
      node.output = -1;
    }
    break;
  }
  forward(node, node.output < 0);
}

void reap(std::vector<child>& nodes) {
  for (auto& node : nodes) {
    if (!node.running)
      continue;
    int status = 0;
    if (waitpid(node.pid, &status, WNOHANG) != node.pid)
      continue;
    node.running = false;
    node.exit_status = WIFEXITED(status) ? WEXITSTATUS(status)
                                          : 128 + WTERMSIG(status);
    if (node.output >= 0)
      drain(node);
    if (node.exit_status != 0)
      std::printf("ormo: node %s exited with status %d\n", node.name.c_str(),
                  node.exit_status);
  }
}

/// Reads output and reaps children for up to `timeout_ms`.
void pump(std::vector<child>& nodes, int timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<child*> owners;
  for (auto& node : nodes)
    if (node.output >= 0) {
      fds.push_back({node.output, POLLIN, 0});
      owners.push_back(&node);
    }
  if (!fds.empty() && poll(fds.data(), fds.size(), timeout_ms) > 0) {
    for (std::size_t k = 0; k < fds.size(); ++k)
      if (fds[k].revents != 0)
        drain(*owners[k]);
  } else if (fds.empty()) {
    usleep(static_cast<useconds_t>(timeout_ms) * 1000);
  }
  reap(nodes);
}

bool any_running(const std::vector<child>& nodes) {
  return std::any_of(nodes.begin(), nodes.end(),
                     [](const child& node) { return node.running; });
}

/// Sends `signal` to every running child, waits up to `grace`, then kills
/// what is left; returns when none runs.
void end_all(std::vector<child>& nodes, int signal,
             std::chrono::milliseconds grace) {
  for (auto& node : nodes)
    if (node.running)
      kill(node.pid, signal);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (any_running(nodes) && std::chrono::steady_clock::now() < deadline)
    pump(nodes, 50);
  for (auto& node : nodes)
    if (node.running)
      kill(node.pid, SIGKILL);
  while (any_running(nodes))
    pump(nodes, 50);
}

} // namespace

int launch_nodes(const config::run_config& run, const std::string& file,
                 const std::vector<config::setting_override>& overrides) {
  for (std::size_t k = 0; k < run.nodes.size(); ++k)
    if (!is_local(run.nodes[k].host)) {
      std::fprintf(stderr,
                   "ormo: %s: nodes[%zu].host: %s is not this machine; start "
                   "that node there with `ormo node %s --name %s`\n",
                   run.source.c_str(), k, run.nodes[k].host.c_str(),
                   file.c_str(), run.nodes[k].name.c_str());
      return exit_usage;
    }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::vector<child> nodes;
  for (const auto& node : run.nodes) {
    child c;
    c.name = node.name;
    c.supervisor = node.supervisor;
    c.hosts_shards = !node.shards.empty();
    nodes.push_back(std::move(c));
  }
  // Shard nodes first: the others reach them.
  std::stable_sort(nodes.begin(), nodes.end(),
                   [](const child& a, const child& b) {
                     return a.hosts_shards && !b.hosts_shards;
                   });
  std::printf("ormo: %zu nodes on this machine:", nodes.size());
  for (const auto& node : nodes)
    std::printf(" %s", node.name.c_str());
  std::printf("\n");
  std::fflush(stdout);
  for (auto& node : nodes) {
    std::vector<std::string> arguments{"ormo", "node", file, "--name",
                                       node.name};
    for (const auto& o : overrides) {
      arguments.push_back("--set");
      arguments.push_back(o.key_path + "=" + o.value);
    }
    if (!start(node, arguments)) {
      std::fprintf(stderr, "ormo: cannot start node %s: %s\n",
                   node.name.c_str(), std::strerror(errno));
      end_all(nodes, SIGTERM, std::chrono::seconds(5));
      return 1;
    }
  }
  auto supervisor
    = std::find_if(nodes.begin(), nodes.end(),
                   [](const child& node) { return node.supervisor; });
  const auto signals = node_signals(run, std::chrono::steady_clock::now());
  std::size_t next_signal = 0;
  std::map<std::string, std::uint64_t> fired;
  while (supervisor->running && signalled == 0) {
    int wait_ms = 100;
    if (next_signal < signals.size()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        signals[next_signal].at - std::chrono::steady_clock::now());
      wait_ms = static_cast<int>(
        std::clamp<std::int64_t>(left.count(), 0, wait_ms));
    }
    pump(nodes, wait_ms);
    if (supervisor->running)
      send_due(nodes, signals, next_signal, fired);
  }
  continue_stopped(nodes);
  if (!fired.empty())
    record_faults(run.output.dir, fired);
  if (signalled != 0) {
    // Each node ends its part; the supervisor node writes the outputs.
    end_all(nodes, SIGINT, std::chrono::seconds(20));
    return supervisor->exit_status == 0 ? 130 : supervisor->exit_status;
  }
  // The run is over: the nodes were told; what still runs is ended.
  end_all(nodes, SIGTERM, std::chrono::seconds(10));
  return supervisor->exit_status;
}

} // namespace ormo::tools
