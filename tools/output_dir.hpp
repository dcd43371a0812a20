// A run's output directory, all or nothing: the run writes into a staging
// directory beside the target, and only a finished run replaces the target
// with it. A failed run leaves the target as it was (its previous run, or
// nothing), so a directory never holds half of two runs.
//
// Layout: for the target `DIR/NAME`, the staging directory is
// `DIR/.NAME.staging-PID`. commit() exchanges the two (renameat2 with
// RENAME_EXCHANGE; rename aside and back where the file system lacks it)
// and removes the old run. keep_partial() moves an unfinished run's
// outputs to `DIR/NAME.failed` instead. A staging directory left by a
// killed process is removed by the next open() of the same target.
//
// Files that must survive a crash (checkpoints) are written straight into
// `target() / "checkpoints"`, never into the staging directory: commit()
// moves the target's `checkpoints/` into the new run before the exchange
// unless the new run has its own, so a later run can resume from it.
//
// Errors are returned, never thrown; every message names the path at fault.
// Thread-safety: an instance is used by one thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ormo/status.hpp"

namespace ormo::tools {

class output_dir {
public:
  /// The entries a run's output directory may hold: what ormo writes. A
  /// target holding anything else is refused rather than replaced.
  static bool is_run_output(std::string_view entry);

  /// Checks `target` and creates a fresh staging directory beside it
  /// (creating the parent directories as needed). invalid_argument when the
  /// path cannot hold a run: empty, ".", "..", "/", an existing file, a
  /// directory holding files that are not a run's outputs, or a parent that
  /// cannot be created (the message says which); io_error when the staging
  /// directory cannot be created.
  static result<output_dir> open(const std::filesystem::path& target);

  output_dir(output_dir&& other) noexcept;
  output_dir& operator=(output_dir&&) = delete;
  output_dir(const output_dir&) = delete;
  output_dir& operator=(const output_dir&) = delete;

  /// Removes the staging directory unless commit() or keep_partial() ran.
  ~output_dir();

  /// The directory the user named (lexically normal, no trailing '/').
  const std::filesystem::path& target() const { return target_; }

  /// Where the run writes its outputs until commit().
  const std::filesystem::path& staging() const { return staging_; }

  /// Writes `text` to `staging() / name` whole (through a temporary file
  /// renamed into place, flushed to disk). io_error naming the file and
  /// the system's reason when any step fails.
  status write_file(std::string_view name, const std::string& text) const;

  /// Replaces the target by the staging directory. After success the
  /// target holds exactly the new run (plus the old checkpoints/, see
  /// above); after an error the target still holds its previous contents
  /// and the staging directory is kept (the message names both).
  status commit();

  /// Moves the staging directory to `target().failed` (replacing an older
  /// one that holds only run outputs) and returns that path; the target is
  /// untouched. On error the outputs stay in staging() and the error names
  /// it.
  result<std::filesystem::path> keep_partial();

  /// Removes the staging directory; the target is untouched.
  void discard();

private:
  output_dir(std::filesystem::path target, std::filesystem::path staging)
    : target_(std::move(target)), staging_(std::move(staging)) {}

  std::filesystem::path target_;
  std::filesystem::path staging_;
  /// False once the staging directory was committed, kept or removed.
  bool open_ = true;
};

} // namespace ormo::tools
