#include "output_dir.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ormo/whole_file.hpp"

namespace ormo::tools {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view checkpoints = "checkpoints";

status invalid(const fs::path& path, const std::string& what) {
  return status::error(status_code::invalid_argument,
                       "output.dir: " + path.string() + ": " + what);
}

status io_error(const fs::path& path, const std::string& what) {
  return status::error(status_code::io_error, path.string() + ": " + what);
}

std::string system_reason(int error) {
  return std::generic_category().message(error);
}

/// The first entry of `dir` that is not a run's output; empty if none (or
/// if `dir` cannot be listed: the caller's next step then fails and says
/// why).
std::string foreign_entry(const fs::path& dir) {
  std::error_code error;
  for (fs::directory_iterator it{dir, error}, end; !error && it != end;
       it.increment(error))
    if (!output_dir::is_run_output(it->path().filename().string()))
      return it->path().filename().string();
  return {};
}

/// Whether process `pid` still runs (a staging directory of a running
/// process is not stale).
bool process_alive(long pid) {
  return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

/// Removes staging directories of `target` left by processes that died.
void remove_stale_staging(const fs::path& parent, const std::string& prefix) {
  std::error_code error;
  for (fs::directory_iterator it{parent, error}, end; !error && it != end;
       it.increment(error)) {
    auto name = it->path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    char* rest = nullptr;
    auto pid = std::strtol(name.c_str() + prefix.size(), &rest, 10);
    if (rest != nullptr && *rest == '\0' && !process_alive(pid)) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
  }
}

/// Swaps two directory entries atomically; false with errno set when the
/// file system (or kernel) cannot.
bool exchange(const fs::path& a, const fs::path& b) {
#ifdef RENAME_EXCHANGE
  return renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE)
         == 0;
#else
  errno = ENOSYS;
  return false;
#endif
}

} // namespace

bool output_dir::is_run_output(std::string_view entry) {
  return entry == "config.toml" || entry == "metrics.csv"
         || entry == "summary.json" || entry == checkpoints;
}

result<output_dir> output_dir::open(const fs::path& requested) {
  if (requested.empty())
    return invalid(requested, "must not be empty");
  auto target = requested.lexically_normal();
  if (!target.has_filename() && target.has_parent_path()
      && target != target.root_path())
    target = target.parent_path(); // "out/" -> "out"
  auto name = target.filename().string();
  if (name.empty() || name == "." || name == "..")
    return invalid(requested, "names no directory of its own; ormo replaces "
                              "the output directory as a whole, so name one "
                              "such as \"ormo-out\"");
  std::error_code error;
  auto state = fs::symlink_status(target, error);
  if (fs::is_symlink(state))
    return invalid(target, "is a symbolic link; name the directory itself");
  if (fs::exists(state)) {
    if (!fs::is_directory(state))
      return invalid(target, "exists and is not a directory");
    if (auto foreign = foreign_entry(target); !foreign.empty())
      return invalid(target, "holds \"" + foreign
                               + "\", which is not a run's output; ormo "
                                 "replaces the whole directory, so name a "
                                 "new or empty one");
  }
  auto parent = target.has_parent_path() ? target.parent_path() : fs::path{"."};
  fs::create_directories(parent, error);
  if (error)
    return invalid(target, "cannot create its parent " + parent.string() + ": "
                             + error.message());
  auto prefix = "." + name + ".staging-";
  remove_stale_staging(parent, prefix);
  auto staging = parent / (prefix + std::to_string(getpid()));
  fs::remove_all(staging, error);
  if (::mkdir(staging.c_str(), 0777) != 0) {
    int reason = errno;
    return invalid(target, "cannot create " + staging.string()
                             + " beside it: " + system_reason(reason));
  }
  return output_dir{std::move(target), std::move(staging)};
}

output_dir::output_dir(output_dir&& other) noexcept
  : target_(std::move(other.target_)), staging_(std::move(other.staging_)),
    open_(other.open_) {
  other.open_ = false;
}

output_dir::~output_dir() {
  discard();
}

status output_dir::write_file(std::string_view name,
                              const std::string& text) const {
  auto path = staging_ / std::string{name};
  auto temporary = path;
  temporary += ".tmp";
  if (auto failed = write_whole_file(path, temporary, {text})) {
    // Every step after the creation counts as the write.
    std::string step = failed.step;
    if (step != "cannot create")
      step = "cannot write";
    return io_error(path, step + ": " + system_reason(failed.error));
  }
  return status::ok();
}

status output_dir::commit() {
  if (!open_)
    return io_error(staging_, "already committed or discarded");
  std::error_code error;
  auto state = fs::symlink_status(target_, error);
  if (!fs::exists(state)) {
    if (std::rename(staging_.c_str(), target_.c_str()) != 0)
      return io_error(target_, "cannot move the run's outputs in from "
                                 + staging_.string() + ": "
                                 + system_reason(errno));
    open_ = false;
    return status::ok();
  }
  if (!fs::is_directory(state))
    return io_error(target_, "is no longer a directory; the run's outputs "
                             "are in "
                               + staging_.string());
  auto old_checkpoints = target_ / std::string{checkpoints};
  auto new_checkpoints = staging_ / std::string{checkpoints};
  if (fs::exists(old_checkpoints, error) && !fs::exists(new_checkpoints, error)
      && std::rename(old_checkpoints.c_str(), new_checkpoints.c_str()) != 0)
    return io_error(old_checkpoints, "cannot carry over into the new run: "
                                       + system_reason(errno)
                                       + "; the run's outputs are in "
                                       + staging_.string());
  if (exchange(staging_, target_)) {
    // staging_ now holds the previous run.
    fs::remove_all(staging_, error);
    open_ = false;
    return status::ok();
  }
  // No atomic exchange here: move the old run aside, the new one in.
  auto aside = staging_;
  aside += ".old";
  fs::remove_all(aside, error);
  if (std::rename(target_.c_str(), aside.c_str()) != 0)
    return io_error(target_, "cannot replace: " + system_reason(errno)
                               + "; the run's outputs are in "
                               + staging_.string());
  if (std::rename(staging_.c_str(), target_.c_str()) != 0) {
    int reason = errno;
    std::rename(aside.c_str(), target_.c_str()); // put the old run back
    return io_error(target_, "cannot move the run's outputs in from "
                               + staging_.string() + ": "
                               + system_reason(reason));
  }
  fs::remove_all(aside, error);
  open_ = false;
  return status::ok();
}

result<fs::path> output_dir::keep_partial() {
  if (!open_)
    return io_error(staging_, "already committed or discarded");
  auto failed = target_;
  failed += ".failed";
  std::error_code error;
  auto state = fs::symlink_status(failed, error);
  if (fs::exists(state)) {
    if (!fs::is_directory(state) || !foreign_entry(failed).empty())
      return io_error(failed, "exists and is not an earlier failed run; the "
                              "partial outputs are in "
                                + staging_.string());
    fs::remove_all(failed, error);
  }
  if (std::rename(staging_.c_str(), failed.c_str()) != 0)
    return io_error(failed, "cannot move the partial outputs there: "
                              + system_reason(errno) + "; they are in "
                              + staging_.string());
  open_ = false;
  return failed;
}

void output_dir::discard() {
  if (!open_)
    return;
  std::error_code ignored;
  fs::remove_all(staging_, ignored);
  open_ = false;
}

} // namespace ormo::tools
