// checkpoint_store: the checkpoints of one run in one directory, by series
// (each shard's, and the run's own in deterministic mode) and iteration
// index, keeping the newest few of each series.
//
// A file is named SERIES-iteration-I.ckpt (I zero-padded, so names sort
// by iteration), e.g. shard-0-iteration-000000000040.ckpt. Reading takes
// the newest checkpoint of a series that reads whole and says which newer
// ones it refused and why.
//
// Plain C++ (no CAF). Not thread-safe: one writer per shard.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "ormo/optim/update_rule.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

class checkpoint_store {
public:
  /// Checkpoints in `directory` (created on the first save), keeping the
  /// newest `keep` (>= 1) of each shard.
  checkpoint_store(std::filesystem::path directory, int keep);

  /// The series of shard `shard`'s checkpoints ("shard-S").
  static std::string shard_series(std::uint32_t shard);

  /// The series of a deterministic run's own checkpoints.
  static constexpr const char* run_series = "run";

  /// Writes `series`' checkpoint at iteration `iteration`, then removes
  /// that series' checkpoints beyond the newest `keep`.
  status save(const std::string& series, optim::iteration_index iteration,
              const std::string& payload) const;

  struct found {
    std::filesystem::path path;
    std::string payload;
  };

  /// The newest checkpoint of `series` that reads whole; each newer one
  /// refused adds a line to `refused` (its file and why). not_found when
  /// none reads.
  result<found> newest(const std::string& series,
                       std::vector<std::string>& refused) const;

  /// `series`' checkpoint at `iteration`, or why it cannot be read.
  result<found> at(const std::string& series,
                   optim::iteration_index iteration) const;

  /// `series`' checkpoint files, oldest first.
  std::vector<std::filesystem::path> files(const std::string& series) const;

  const std::filesystem::path& directory() const { return directory_; }

private:
  std::filesystem::path directory_;
  int keep_;
};

} // namespace ormo::actors
