// Fuzz target: a checkpoint file as found on disk. The bytes go to a file
// that read_checkpoint_file reads (envelope: size, magic, version,
// checksum), and straight to decode_shard_checkpoint and
// decode_run_checkpoint (the payloads: every size checked before
// allocating, the cut checked for consistency), as a damaged file whose
// checksum happens to match would. Either is refused
// with a message or gives a value; a decoded checkpoint encodes and decodes
// again to the same encoding. Nothing may crash, leak or allocate what the
// input only claims.
//
// With ORMO_FUZZ_WRITE_SEEDS=DIR the target writes its seed corpus (a whole
// file and a bare payload of a small shard checkpoint, and a run
// checkpoint's payload) to DIR and exits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "ormo/actors/checkpoint_file.hpp"
#include "ormo/actors/run_checkpoint.hpp"
#include "ormo/actors/shard_checkpoint.hpp"

namespace {

using namespace ormo::actors;

shard_checkpoint small_checkpoint() {
  shard_checkpoint c;
  c.shard = 1;
  c.offset = 4;
  c.size = 3;
  c.parameters = Eigen::VectorXf::LinSpaced(3, -1, 1);
  c.momentum = Eigen::VectorXf::Constant(3, 0.5f);
  c.version = 9;
  c.server_iteration = 4;
  c.rule.iteration = 4;
  c.rule.iteration_size = 2;
  c.ledger[2].floor = 1;
  c.ledger[2].decided[3] = {ormo::rejection_reason::future_iteration,
                            "i = 7", 4, false};
  c.counters.received = 5;
  c.counters.accepted = 4;
  c.counters.rejected[ormo::rejection_reason::future_iteration] = 1;
  return c;
}

run_checkpoint small_run_checkpoint() {
  run_checkpoint c;
  c.shard_iterations = {12, 12};
  c.clock_ns = 900;
  c.start_ns = 0;
  c.training_start_ns = 100;
  c.next_tick_ns = 1000;
  c.policy.next_evaluation = 3;
  c.rows.resize(2);
  c.rows[1].iteration = 6;
  c.workers = {{1, 0, 7, 7}, {2, 1, 5, 5}};
  c.membership.next_id = 3;
  c.membership.joined = 2;
  return c;
}

/// Refused with a message, or decoded to a value that encodes and decodes
/// again to the same encoding.
template <class Decode>
void check_decoding(const std::string& input, Decode decode) {
  auto decoded = decode(input);
  if (!decoded) {
    if (decoded.error().message().empty())
      std::abort();
    return;
  }
  auto again = encode(*decoded);
  auto redecoded = decode(again);
  if (!redecoded || encode(*redecoded) != again)
    std::abort();
}

void write_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  auto payload = encode(small_checkpoint());
  if (!write_checkpoint_file(dir / "whole-file", payload))
    std::abort();
  std::ofstream(dir / "bare-payload", std::ios::binary) << payload;
  std::ofstream(dir / "run-payload", std::ios::binary)
    << encode(small_run_checkpoint());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  static const bool seeded = [] {
    if (const char* dir = std::getenv("ORMO_FUZZ_WRITE_SEEDS")) {
      write_seeds(dir);
      std::exit(0);
    }
    return true;
  }();
  (void) seeded;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  static const auto path = std::filesystem::temp_directory_path()
                           / ("ormo-checkpoint-fuzz-"
                              + std::to_string(::getpid()) + ".ckpt");
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file << bytes;
  }
  auto payload = read_checkpoint_file(path);
  const std::string* inputs[] = {&bytes, payload ? &*payload : nullptr};
  for (const auto* input : inputs) {
    if (input == nullptr)
      continue;
    check_decoding(*input, decode_shard_checkpoint);
    check_decoding(*input, decode_run_checkpoint);
  }
  return 0;
}
