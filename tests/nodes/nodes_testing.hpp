// Shared by the multi-process tests of ormo's nodes: free loopback ports, a
// topology file per test, node processes that are always killed and reaped
// (on every path, a failed REQUIRE included), progress lines read back, and
// a scan of /proc for processes left behind. Linux only.
#pragma once

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tools/process.hpp"
#include "tools/tools_testing.hpp"

namespace ormo::test {

using clock = child_process::clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

/// A TCP socket bound to 127.0.0.1; closed with the object. Port 0 asks the
/// kernel for a free port.
class loopback_socket {
public:
  explicit loopback_socket(std::uint16_t port = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address)
            == 0);
    socklen_t size = sizeof address;
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size)
            == 0);
    port_ = ntohs(address.sin_port);
  }

  loopback_socket(const loopback_socket&) = delete;
  loopback_socket& operator=(const loopback_socket&) = delete;

  ~loopback_socket() { close(fd_); }

  void listen_now() { REQUIRE(listen(fd_, 4) == 0); }

  std::uint16_t port() const { return port_; }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

/// A port nobody listens on right now (another process may take it before
/// the test does: callers retry once on "cannot listen").
inline std::uint16_t free_port() {
  loopback_socket probe;
  return probe.port();
}

/// Parts of a topology file; the defaults train the synthetic set with
/// short network timeouts.
struct topology {
  /// Extra lines of [run] (a stop rule is required).
  std::string run = "stop_seconds = 5";
  std::string learning_rate = "0.1";
  std::string heartbeat_interval = "100ms";
  std::string connection_timeout = "1s";
  std::string connect_timeout = "5s";
  /// More lines of [network] (e.g. TLS keys).
  std::string network_extra;
  /// Workers of the nodes "wa" and "wb" (0 leaves a node out).
  int workers_a = 1;
  int workers_b = 1;
  /// Lines of [workers] (none: its defaults).
  std::string workers;
  /// Non-zero: a second shard on a node "sa" of its own, listening on
  /// this port (the server keeps shard 0).
  std::uint16_t shard_node_port = 0;
  /// More tables, appended as they are (e.g. [model], [checkpoints]).
  std::string extra;
  /// `[[faults]]` blocks, appended as they are.
  std::string faults;

  /// The file's text for a server node at 127.0.0.1:`port` writing to
  /// `out_dir`.
  std::string text(std::uint16_t port,
                   const std::filesystem::path& out_dir) const {
    std::string t = "[run]\nseed = 1\n" + run + "\n\n";
    t += "[algorithm]\nname = \"ormo\"\nlearning_rate = " + learning_rate
         + "\nmomentum = 0.9\niteration_size = \"workers\"\n"
           "apply = \"on_arrival\"\n\n";
    t += "[data]\nsource = \"synthetic\"\n\n";
    if (!workers.empty())
      t += "[workers]\n" + workers + "\n\n";
    t += "[output]\ndir = \"" + out_dir.string()
         + "\"\nprogress_seconds = 0.2\nevaluations_per_epoch = 4\n\n";
    t += "[network]\nheartbeat_interval = \"" + heartbeat_interval
         + "\"\nconnection_timeout = \"" + connection_timeout
         + "\"\nconnect_timeout = \"" + connect_timeout + "\"\n"
         + network_extra + "\n";
    t += "[[nodes]]\nname = \"server\"\nhost = \"127.0.0.1\"\nport = "
         + std::to_string(port) + "\nshards = [0]\nsupervisor = true\n\n";
    if (shard_node_port != 0)
      t += "[[nodes]]\nname = \"sa\"\nhost = \"127.0.0.1\"\nport = "
           + std::to_string(shard_node_port) + "\nshards = [1]\n\n";
    if (workers_a > 0)
      t += "[[nodes]]\nname = \"wa\"\nworkers = " + std::to_string(workers_a)
           + "\n\n";
    if (workers_b > 0)
      t += "[[nodes]]\nname = \"wb\"\nworkers = " + std::to_string(workers_b)
           + "\n";
    if (!faults.empty())
      t += "\n" + faults;
    if (!extra.empty())
      t += "\n" + extra;
    return t;
  }
};

/// One progress line of the supervisor ("epoch E | iteration I | ... |
/// workers W | ...").
struct progress_line {
  long long iteration = -1;
  int workers = -1;
  /// Byte offset just past the line in the output.
  std::size_t end = 0;
};

/// The number after `key` in `line`, or -1.
inline long long number_after(const std::string& line, const std::string& key) {
  auto at = line.find(key);
  if (at == std::string::npos)
    return -1;
  at += key.size();
  long long value = 0;
  bool any = false;
  for (; at < line.size() && std::isdigit(static_cast<unsigned char>(line[at]));
       ++at) {
    value = 10 * value + (line[at] - '0');
    any = true;
  }
  return any ? value : -1;
}

/// The complete progress lines of `out` that end after byte `from`.
inline std::vector<progress_line> progress_lines(const std::string& out,
                                                 std::size_t from = 0) {
  std::vector<progress_line> lines;
  std::size_t begin = 0;
  for (;;) {
    auto end = out.find('\n', begin);
    if (end == std::string::npos)
      break;
    auto line = out.substr(begin, end - begin);
    if (end + 1 > from && line.rfind("epoch ", 0) == 0) {
      progress_line p;
      p.iteration = number_after(line, "| iteration ");
      p.workers = static_cast<int>(number_after(line, "| workers "));
      p.end = end + 1;
      lines.push_back(p);
    }
    begin = end + 1;
  }
  return lines;
}

/// A predicate for child_process::wait_until: a progress line after byte
/// `from` with `workers` live workers and at least `iteration` iterations.
inline auto progress_with(int workers, long long iteration,
                          std::size_t from = 0) {
  return [=](const std::string& out, const std::string&) {
    for (const auto& p : progress_lines(out, from))
      if (p.workers == workers && p.iteration >= iteration)
        return true;
    return false;
  };
}

/// The first progress line after `from` matching progress_with(...).
inline progress_line first_progress_with(const std::string& out, int workers,
                                         long long iteration,
                                         std::size_t from = 0) {
  for (const auto& p : progress_lines(out, from))
    if (p.workers == workers && p.iteration >= iteration)
      return p;
  return {};
}

/// Pids of the processes whose command line contains `text`.
inline std::vector<int> processes_mentioning(const std::string& text) {
  std::vector<int> pids;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc", error)) {
    auto name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return std::isdigit(c) != 0;
        }))
      continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
    for (auto& c : cmdline)
      if (c == '\0')
        c = ' ';
    if (cmdline.find(text) != std::string::npos)
      pids.push_back(std::stoi(name));
  }
  return pids;
}

/// One test's nodes: its directory (topology.toml and out/ in it), its port,
/// and every node process it started (killed and reaped with it).
class node_fixture {
public:
  explicit node_fixture(const std::string& name, topology shape = {})
    : dir_(fresh_output_dir(name)), shape_(std::move(shape)) {
    choose_port(free_port());
  }

  /// Writes the topology again with port `port`.
  void choose_port(std::uint16_t port) {
    port_ = port;
    std::ofstream file(topology_path(), std::ios::trunc);
    file << shape_.text(port_, out_dir());
    REQUIRE(file.flush());
  }

  std::filesystem::path topology_path() const { return dir_ / "topology.toml"; }
  std::filesystem::path out_dir() const { return dir_ / "out"; }
  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  /// Starts `ormo node TOPOLOGY --name NAME` with `extra` arguments.
  child_process& start(const std::string& name,
                       std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments{
      ormo_binary, "node", topology_path().string(), "--name", name};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    processes_.push_back(std::make_unique<child_process>(arguments));
    return *processes_.back();
  }

  /// Starts the server node and waits until it listens; on "cannot listen"
  /// (the free port was taken meanwhile) tries once more on another port.
  child_process& start_server(clock::time_point deadline) {
    for (int attempt = 0;; ++attempt) {
      auto& server = start("server");
      auto listening = "listening on " + endpoint();
      bool ready = server.wait_until(
        [&](const std::string& out, const std::string& err) {
          return out.find(listening) != std::string::npos
                 || err.find("cannot listen") != std::string::npos;
        },
        deadline);
      if (server.out().find(listening) != std::string::npos)
        return server;
      REQUIRE_MESSAGE(ready, "the server node did not listen in time:\n"
                               << server.out() << server.err());
      REQUIRE_MESSAGE(attempt == 0, "cannot listen twice:\n" << server.err());
      server.finish(deadline);
      choose_port(free_port());
    }
  }

  /// Starts the server and the worker nodes "wa" and "wb" (those the
  /// topology has) and waits until each has enlisted.
  void start_all(child_process*& server, child_process*& wa, child_process*& wb,
                 clock::time_point deadline) {
    server = &start_server(deadline);
    wa = shape_.workers_a > 0 ? &start("wa") : nullptr;
    wb = shape_.workers_b > 0 ? &start("wb") : nullptr;
    for (auto* worker : {wa, wb})
      if (worker != nullptr)
        REQUIRE_MESSAGE(worker->wait_for_output("enlisted", deadline),
                        "a worker node did not enlist:\n"
                          << worker->out() << worker->err());
  }

  /// start_all, then waits for every node to end with status 0 (required)
  /// and returns the run's summary.json.
  nlohmann::json run_to_end(clock::time_point deadline) {
    child_process *server, *wa, *wb;
    start_all(server, wa, wb, deadline);
    auto result = server->finish(deadline);
    REQUIRE_MESSAGE(result.exit_status == 0, result.out << result.err);
    for (auto* worker : {wa, wb})
      if (worker != nullptr) {
        auto ended = worker->finish(deadline);
        CHECK_MESSAGE(ended.exit_status == 0, ended.out << ended.err);
      }
    return nlohmann::json::parse(read_text(out_dir() / "summary.json"));
  }

private:
  std::filesystem::path dir_;
  topology shape_;
  std::uint16_t port_ = 0;
  std::vector<std::unique_ptr<child_process>> processes_;
};

} // namespace ormo::test
