// Checkpoint files: what is written reads back; a damaged file (cut,
// extended, a byte changed, another format) is refused with its name; a
// store keeps the newest few per shard and falls back past damaged ones;
// a shard checkpoint's payload decodes to what was encoded, and a payload
// that cannot be one is refused before anything is allocated for it.
#include "ormo/actors/checkpoint_file.hpp"
#include "ormo/actors/checkpoint_store.hpp"
#include "ormo/actors/shard_checkpoint.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "helpers.hpp"

using namespace ormo;
using namespace ormo::actors;
namespace fs = std::filesystem;
using test::scratch_directory;

namespace {

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.flush());
}

shard_checkpoint sample_checkpoint() {
  random_source random(23);
  shard_checkpoint c;
  c.shard = 1;
  c.offset = 8;
  c.size = 6;
  c.parameters = test::random_vector(random, 6);
  c.momentum = test::random_vector(random, 6);
  c.version = 41;
  c.server_iteration = 12;
  c.rule.iteration = 12;
  c.rule.arrivals = 1;
  c.rule.iteration_size = 3;
  c.rule.deferred_decay = 0.9f;
  push_ledger::worker_record record;
  record.floor = 4;
  record.decided[5] = {rejection_reason::none, "", 11, true};
  record.decided[7] = {rejection_reason::non_finite_value, "value 2", 12,
                       false};
  c.ledger[3] = record;
  c.counters.received = 30;
  c.counters.accepted = 28;
  c.counters.duplicates = 2;
  c.counters.rejected[rejection_reason::non_finite_value] = 2;
  c.counters.loss_sum = 14.5;
  c.counters.loss_count = 28;
  c.counters.delay_sum = 9;
  c.counters.max_delay = 2;
  c.counters.accepted_by_worker = {{3, 28}};
  c.counters.delays = {{0, 20}, {1, 6}, {2, 2}};
  return c;
}

} // namespace

TEST_CASE("checkpoint file: a payload written reads back, and no temporary "
          "file stays") {
  scratch_directory dir;
  auto path = dir.path() / "a.ckpt";
  std::string payload = "payload with \0 a zero byte";
  payload += std::string(1, '\0') + "and more";
  REQUIRE(write_checkpoint_file(path, payload));
  auto read = read_checkpoint_file(path);
  REQUIRE(read);
  CHECK(*read == payload);
  CHECK(fs::file_size(path) == checkpoint_header_size + payload.size());
  CHECK(std::distance(fs::directory_iterator(dir.path()), {}) == 1);
  // Written again: replaced whole.
  REQUIRE(write_checkpoint_file(path, "short"));
  CHECK(*read_checkpoint_file(path) == "short");
}

TEST_CASE("checkpoint file: damaged files are refused with their name") {
  scratch_directory dir;
  auto good = dir.path() / "good.ckpt";
  REQUIRE(write_checkpoint_file(good, std::string(100, 'x')));
  const auto bytes = read_bytes(good);
  struct damage {
    const char* what;
    std::string bytes;
    const char* says;
  };
  auto changed = [&](std::size_t at) {
    auto copy = bytes;
    copy[at] = static_cast<char>(copy[at] ^ 0x20);
    return copy;
  };
  const std::vector<damage> cases{
    {"empty", "", "truncated"},
    {"header cut", bytes.substr(0, 10), "truncated"},
    {"payload cut", bytes.substr(0, bytes.size() - 1), "truncated"},
    {"extra bytes", bytes + "zz", "bytes past the end"},
    {"another file", std::string(200, 'a'), "not an ormo checkpoint"},
    {"format version", changed(8), "format version"},
    {"payload byte", changed(checkpoint_header_size + 50), "checksum"},
    {"checksum byte", changed(20), "checksum"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto path = dir.path() / "bad.ckpt";
    write_bytes(path, c.bytes);
    auto read = read_checkpoint_file(path);
    REQUIRE_FALSE(read);
    CHECK(read.error().code() == status_code::corrupt);
    CHECK_MESSAGE(read.error().message().find(path.string())
                    != std::string::npos,
                  read.error().message());
    CHECK_MESSAGE(read.error().message().find(c.says) != std::string::npos,
                  read.error().message());
  }
  auto missing = read_checkpoint_file(dir.path() / "none.ckpt");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code() == status_code::not_found);
}

TEST_CASE("checkpoint file: a directory that cannot be written is an error "
          "and leaves nothing") {
  scratch_directory dir;
  auto path = dir.path() / "missing" / "a.ckpt";
  auto written = write_checkpoint_file(path, "x");
  CHECK_FALSE(written);
  CHECK(written.code() == status_code::io_error);
  CHECK(written.message().find("a.ckpt") != std::string::npos);
  CHECK(std::distance(fs::directory_iterator(dir.path()), {}) == 0);
}

TEST_CASE("checkpoint store: keeps the newest of each shard and falls back "
          "past damaged ones") {
  scratch_directory dir;
  checkpoint_store store(dir.path() / "ckpt", 2);
  for (int iteration : {5, 10, 15, 20})
    REQUIRE(store.save(checkpoint_store::shard_series(0), iteration,
                       "shard 0 at " + std::to_string(iteration)));
  REQUIRE(store.save(checkpoint_store::shard_series(1), 7, "shard 1 at 7"));
  auto kept = store.files(checkpoint_store::shard_series(0));
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].filename() == "shard-0-iteration-000000000015.ckpt");
  CHECK(kept[1].filename() == "shard-0-iteration-000000000020.ckpt");
  CHECK(store.files(checkpoint_store::shard_series(1)).size() == 1);
  std::vector<std::string> refused;
  auto newest = store.newest(checkpoint_store::shard_series(0), refused);
  REQUIRE(newest);
  CHECK(newest->payload == "shard 0 at 20");
  CHECK(refused.empty());
  // The newest damaged: the one before it is used, and the refusal named.
  auto bytes = read_bytes(kept[1]);
  write_bytes(kept[1], bytes.substr(0, bytes.size() - 3));
  newest = store.newest(checkpoint_store::shard_series(0), refused);
  REQUIRE(newest);
  CHECK(newest->payload == "shard 0 at 15");
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].find(kept[1].string()) != std::string::npos);
  CHECK(refused[0].find("truncated") != std::string::npos);
  // None readable: not found, each refusal listed.
  write_bytes(kept[0], "junk");
  refused.clear();
  auto none = store.newest(checkpoint_store::shard_series(0), refused);
  CHECK_FALSE(none);
  CHECK(none.error().code() == status_code::not_found);
  CHECK(refused.size() == 2);
  CHECK_FALSE(store.newest(checkpoint_store::shard_series(7), refused));
}

TEST_CASE("shard checkpoint: the payload decodes to what was encoded") {
  auto c = sample_checkpoint();
  auto decoded = decode_shard_checkpoint(encode(c));
  REQUIRE_MESSAGE(decoded, decoded.error().message());
  const auto& d = *decoded;
  CHECK(d.shard == c.shard);
  CHECK(d.offset == c.offset);
  CHECK(d.size == c.size);
  CHECK((d.parameters.array() == c.parameters.array()).all());
  CHECK((d.momentum.array() == c.momentum.array()).all());
  CHECK(d.base.size() == 0);
  CHECK(d.version == c.version);
  CHECK(d.server_iteration == c.server_iteration);
  CHECK(d.rule.iteration == c.rule.iteration);
  CHECK(d.rule.arrivals == c.rule.arrivals);
  CHECK(d.rule.iteration_size == c.rule.iteration_size);
  CHECK(d.rule.deferred_decay == c.rule.deferred_decay);
  CHECK(d.rule.momentum.size() == 0);
  REQUIRE(d.ledger.count(3) == 1);
  const auto& record = d.ledger.at(3);
  CHECK(record.floor == 4);
  REQUIRE(record.decided.size() == 2);
  CHECK(record.decided.at(5).closed_iteration);
  CHECK(record.decided.at(7).rejection == rejection_reason::non_finite_value);
  CHECK(record.decided.at(7).detail == "value 2");
  CHECK(d.counters.received == 30);
  CHECK(d.counters.duplicates == 2);
  CHECK(d.counters.rejected == c.counters.rejected);
  CHECK(d.counters.accepted_by_worker == c.counters.accepted_by_worker);
  CHECK(d.counters.delays == c.counters.delays);
  CHECK(d.counters.loss_sum == c.counters.loss_sum);
}

TEST_CASE("shard checkpoint: a payload that cannot be one is refused") {
  const auto payload = encode(sample_checkpoint());
  // Every cut is refused (no crash, no huge allocation).
  for (std::size_t size = 0; size < payload.size(); ++size) {
    CAPTURE(size);
    auto decoded = decode_shard_checkpoint(payload.substr(0, size));
    CHECK_FALSE(decoded);
  }
  CHECK_FALSE(decode_shard_checkpoint(payload + "x"));
  // Sizes that do not fit, and values that cannot be a shard's.
  auto broken = [](auto edit) {
    auto c = sample_checkpoint();
    edit(c);
    return decode_shard_checkpoint(encode(c));
  };
  CHECK_FALSE(broken([](shard_checkpoint& c) { c.size = 7; }));
  CHECK_FALSE(broken([](shard_checkpoint& c) { c.size = 0; }));
  CHECK_FALSE(
    broken([](shard_checkpoint& c) { c.momentum = Eigen::VectorXf::Ones(2); }));
  CHECK_FALSE(broken([](shard_checkpoint& c) { c.parameters[0] = NAN; }));
  CHECK_FALSE(broken([](shard_checkpoint& c) {
    c.ledger[3].decided[2] = {}; // below its floor
  }));
  CHECK_FALSE(broken([](shard_checkpoint& c) {
    c.counters.rejected[static_cast<rejection_reason>(77)] = 1;
  }));
  auto refused = broken([](shard_checkpoint& c) { c.size = 7; });
  CHECK(refused.error().code() == status_code::corrupt);
  CHECK(refused.error().message().rfind("not a shard checkpoint: ", 0) == 0);
}
