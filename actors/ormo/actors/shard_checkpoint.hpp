// shard_checkpoint: a consistent cut of one shard, its parameter server and
// its momentum orderer taken between two of the orderer's steps, and its
// encoding with Boost.Serialization (the payload of a checkpoint file).
//
// Decoding never trusts the payload: every count and size is checked
// against the bytes that remain before anything is allocated for it, and
// the vectors against the shard's size.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <Eigen/Core>

#include "ormo/actors/push_ledger.hpp"
#include "ormo/optim/update_rule.hpp"
#include "ormo/rejection_reason.hpp"
#include "ormo/status.hpp"

namespace ormo::actors {

/// The orderer's counters (those of orderer_stats that a restart keeps).
struct shard_counters {
  std::uint64_t received = 0;
  std::uint64_t accepted = 0;
  std::uint64_t duplicates = 0;
  std::map<rejection_reason, std::uint64_t> rejected;
  double loss_sum = 0;
  std::uint64_t loss_count = 0;
  double delay_sum = 0;
  std::int64_t max_delay = 0;
  std::map<std::uint32_t, std::uint64_t> accepted_by_worker;
  std::map<std::int64_t, std::uint64_t> delays;
};

struct shard_checkpoint {
  /// Which slice of the parameters: shard index, first index, size.
  std::uint32_t shard = 0;
  std::int64_t offset = 0;
  std::int64_t size = 0;
  /// The server: w, u beside it (empty until a step moved it), the base w
  /// is derived from (empty while w is the base), w's version and the
  /// iteration index it was published with.
  Eigen::VectorXf parameters;
  Eigen::VectorXf momentum;
  Eigen::VectorXf base;
  std::uint64_t version = 0;
  optim::iteration_index server_iteration = 0;
  /// The orderer: its rule's state (with the rule's own and per-worker
  /// vectors, each of the slice's size), its ledger and its counters.
  optim::rule_state rule;
  std::map<std::uint32_t, push_ledger::worker_record> ledger;
  shard_counters counters;
};

/// The payload of `checkpoint`.
std::string encode(const shard_checkpoint& checkpoint);

/// The checkpoint in `payload`, or why it cannot be one (corrupt).
result<shard_checkpoint> decode_shard_checkpoint(const std::string& payload);

} // namespace ormo::actors
