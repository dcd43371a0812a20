// resume_point: where a run resumes from, read from its checkpoint
// directory and checked against the plan of the resumed run.
//
// Deterministic mode: the newest run checkpoint (run_checkpoint.hpp) whose
// every shard checkpoint of the same cut reads whole and fits the plan;
// a resumed run then goes on bit-exact. Real time: each shard's newest
// checkpoint that reads whole and fits; the workers start afresh (new
// sequence numbers, so the shards' ledgers start empty).
//
// Plain C++ (no CAF).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ormo/actors/run_checkpoint.hpp"
#include "ormo/actors/shard_checkpoint.hpp"
#include "ormo/actors/training_plan.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

struct resume_point {
  /// By shard index.
  std::vector<shard_checkpoint> shards;
  /// Deterministic mode only.
  std::shared_ptr<const run_checkpoint> run;
  /// The checkpoint files it was read from.
  std::vector<std::string> files;
  /// Newer checkpoints passed over, each with its file and why.
  std::vector<std::string> refused;
};

/// The resume point of `plan` in its checkpoint directory; not_found (the
/// message names the directory and what was refused) when there is none.
result<resume_point> find_resume_point(const training_plan& plan);

/// The newest checkpoint of shard `shard` of `plan` that reads whole and
/// fits, to restart that shard from while the run goes on (its ledger
/// kept); not_found as above. Each newer one passed over adds a line to
/// `refused`. REQUIRES: shard < plan.shards.size().
result<shard_checkpoint>
newest_shard_checkpoint(const training_plan& plan, std::size_t shard,
                        std::vector<std::string>& refused);

} // namespace ormo::actors
