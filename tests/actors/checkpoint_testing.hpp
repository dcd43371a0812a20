// Test helpers for checkpoint directories: cuts a run short as if it had
// stopped at one of its checkpoints.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include <doctest/doctest.h>

#include "ormo/actors/checkpoint_file.hpp"
#include "ormo/actors/checkpoint_store.hpp"
#include "ormo/actors/run_checkpoint.hpp"
#include "ormo/actors/shard_checkpoint.hpp"

namespace ormo::actors::testing {

/// Keeps in `from` only the files of its run checkpoint at position
/// `index` (oldest first), as if the run had stopped right after it.
inline void keep_only_cut(const std::filesystem::path& from,
                          std::size_t index) {
  checkpoint_store store(from, 100);
  auto runs = store.files(checkpoint_store::run_series);
  REQUIRE(runs.size() > index);
  auto kept = decode_run_checkpoint(*read_checkpoint_file(runs[index]));
  REQUIRE(kept);
  for (std::size_t k = index + 1; k < runs.size(); ++k)
    std::filesystem::remove(runs[k]);
  for (std::uint32_t s = 0; s < kept->shard_iterations.size(); ++s)
    for (const auto& file : store.files(checkpoint_store::shard_series(s))) {
      auto cut = decode_shard_checkpoint(*read_checkpoint_file(file));
      REQUIRE(cut);
      if (cut->rule.iteration > kept->shard_iterations[s])
        std::filesystem::remove(file);
    }
}

} // namespace ormo::actors::testing
