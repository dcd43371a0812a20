// Runs a program as a child process with its stdout and stderr captured,
// waiting for output and exit against a deadline (poll on the pipes and a
// pidfd; never sleeps). Linux only (pidfd_open, Linux 5.3).
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

extern char** environ;

namespace ormo::test {

/// How a child process ended.
struct process_result {
  /// Exit status, or -1 if it was killed by a signal or timed out.
  int exit_status = -1;
  /// True if the deadline passed first (the process was then killed).
  bool timed_out = false;
  std::string out;
  std::string err;
};

/// One child process. REQUIRES: one thread uses it.
class child_process {
public:
  using clock = std::chrono::steady_clock;

  /// Starts `arguments[0]` (a path) with the other arguments.
  explicit child_process(const std::vector<std::string>& arguments) {
    int out_pipe[2];
    int err_pipe[2];
    REQUIRE(pipe2(out_pipe, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err_pipe, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    std::vector<char*> argv;
    for (const auto& argument : arguments)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    int error
      = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out_pipe[1]);
    close(err_pipe[1]);
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    REQUIRE_MESSAGE(error == 0, "cannot start " << arguments[0]);
    pid_fd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    REQUIRE_MESSAGE(pid_fd_ >= 0, "pidfd_open failed, errno " << errno);
  }

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Kills a child still running (a failed test must not leave it behind).
  ~child_process() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : {out_fd_, err_fd_, pid_fd_})
      if (fd >= 0)
        close(fd);
  }

  /// Reads until `done(out, err)` holds for the output so far, or
  /// `deadline` passes, or both pipes are closed; true if it holds.
  template <class Predicate>
  bool wait_until(Predicate done, clock::time_point deadline) {
    while (!done(result_.out, result_.err)) {
      if (!poll_once(deadline, false))
        return done(result_.out, result_.err);
    }
    return true;
  }

  /// Reads until stdout holds `text` or `deadline` passes; true if found.
  bool wait_for_output(const std::string& text, clock::time_point deadline) {
    return wait_until(
      [&](const std::string& out, const std::string&) {
        return out.find(text) != std::string::npos;
      },
      deadline);
  }

  /// Reads until stdout holds `text` at or after byte `from`, or `deadline`
  /// passes; true if found.
  bool wait_for_output_after(std::size_t from, const std::string& text,
                             clock::time_point deadline) {
    return wait_until(
      [&](const std::string& out, const std::string&) {
        return out.find(text, std::min(from, out.size())) != std::string::npos;
      },
      deadline);
  }

  /// Reads until stderr holds `text` or `deadline` passes; true if found.
  bool wait_for_error(const std::string& text, clock::time_point deadline) {
    return wait_until(
      [&](const std::string&, const std::string& err) {
        return err.find(text) != std::string::npos;
      },
      deadline);
  }

  /// Reads what the pipes hold now, without waiting.
  void read_available() {
    while (has_input())
      poll_once(clock::now() + std::chrono::milliseconds{1}, false);
  }

  /// Stdout and stderr read so far (by the waits).
  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }

  /// The process id; REQUIRES: for signals only while not yet finished.
  pid_t pid() const { return pid_; }

  void send_signal(int signal) { REQUIRE(kill(pid_, signal) == 0); }

  /// Reads all output and waits for the exit; past `deadline` kills the
  /// process and reports timed_out.
  process_result finish(clock::time_point deadline) {
    while (!reaped_ && poll_once(deadline, true)) {
    }
    if (!reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      reaped_ = true;
      result_.timed_out = true;
    }
    // The pipes' write ends closed with the process: drain what is left.
    while (drain(out_fd_, result_.out) || drain(err_fd_, result_.err)) {
    }
    return result_;
  }

private:
  /// True if a pipe has data (or its end) to read right now.
  bool has_input() {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    return poll(fds, 2, 0) > 0;
  }

  /// Reads one chunk from `fd` into `to`; false at EOF (fd closed) or when
  /// nothing is there.
  bool drain(int& fd, std::string& to) {
    if (fd < 0)
      return false;
    char buffer[4096];
    auto n = read(fd, buffer, sizeof buffer);
    if (n <= 0) {
      close(fd);
      fd = -1;
      return false;
    }
    to.append(buffer, static_cast<std::size_t>(n));
    return true;
  }

  /// Waits for output or (if `until_exit`) the exit, at most until
  /// `deadline`; false when the deadline passed or the process exited.
  bool poll_once(clock::time_point deadline, bool until_exit) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - clock::now());
    if (left.count() <= 0)
      return false;
    pollfd fds[3] = {{out_fd_, POLLIN, 0},
                     {err_fd_, POLLIN, 0},
                     {until_exit ? pid_fd_ : -1, POLLIN, 0}};
    if (poll(fds, 3, static_cast<int>(left.count())) < 0)
      return errno == EINTR;
    if (fds[0].revents != 0)
      drain(out_fd_, result_.out);
    if (fds[1].revents != 0)
      drain(err_fd_, result_.err);
    if (fds[2].revents != 0) {
      int status = 0;
      waitpid(pid_, &status, 0);
      reaped_ = true;
      while (drain(out_fd_, result_.out) || drain(err_fd_, result_.err)) {
      }
      if (WIFEXITED(status))
        result_.exit_status = WEXITSTATUS(status);
      return false;
    }
    // Both pipes closed and not waiting for the exit: nothing more to read.
    return out_fd_ >= 0 || err_fd_ >= 0 || until_exit;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int pid_fd_ = -1;
  bool reaped_ = false;
  process_result result_;
};

/// Runs a program to its end (killed after `timeout`).
inline process_result run_process(const std::vector<std::string>& arguments,
                                  std::chrono::seconds timeout
                                  = std::chrono::seconds{60}) {
  child_process child(arguments);
  return child.finish(child_process::clock::now() + timeout);
}

} // namespace ormo::test
