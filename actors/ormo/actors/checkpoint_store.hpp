// checkpoint_store: the checkpoints of one run in one directory, by shard
// and iteration index, keeping the newest few of each shard.
//
// A file is named shard-S-iteration-I.ckpt (I zero-padded, so names sort
// by iteration). Reading takes the newest checkpoint of a shard that reads
// whole and says which newer ones it refused and why.
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

  /// Writes shard `shard`'s checkpoint at iteration `iteration`, then
  /// removes that shard's checkpoints beyond the newest `keep`.
  status save(std::uint32_t shard, optim::iteration_index iteration,
              const std::string& payload) const;

  struct found {
    std::filesystem::path path;
    std::string payload;
  };

  /// The newest checkpoint of `shard` that reads whole; each newer one
  /// refused adds a line to `refused` (its file and why). not_found when
  /// none reads.
  result<found> newest(std::uint32_t shard,
                       std::vector<std::string>& refused) const;

  /// `shard`'s checkpoint files, oldest first.
  std::vector<std::filesystem::path> files(std::uint32_t shard) const;

  const std::filesystem::path& directory() const { return directory_; }

private:
  std::filesystem::path directory_;
  int keep_;
};

} // namespace ormo::actors
