#include "ormo/actors/run_checkpoint.hpp"

#include "archive_io.hpp"

namespace boost::serialization {

template <class Archive>
void serialize(Archive& ar, ormo::actors::policy_memory& m, unsigned) {
  ar& m.last_accuracy& m.last_train_loss& m.next_evaluation& m.row_loss_sum& m
    .row_loss_count& m.row_gradients& m.row_time;
}

template <class Archive>
void serialize(Archive& ar, ormo::actors::metrics_row& r, unsigned) {
  ar& r.time_s& r.wall_s& r.epoch& r.iteration& r.gradients& r.train_loss& r
    .test_loss& r.test_accuracy& r.rejected& r.samples_per_second;
}

template <class Archive>
void serialize(Archive& ar, ormo::actors::worker_progress& w, unsigned) {
  ar& w.id& w.slot& w.sequence& w.batches;
}

template <class Archive>
void serialize(Archive& ar, ormo::actors::membership_counts& m, unsigned) {
  ar& m.next_id& m.joined& m.left& m.crashed& m.restarted& m.evicted& m
    .retries& m.gradients_lost;
}

} // namespace boost::serialization

namespace ormo::actors {

namespace {

/// Bytes each element of a vector takes at least, for the checks before
/// allocating.
constexpr std::uint64_t row_bytes = 10 * 8;
constexpr std::uint64_t worker_bytes = 4 + 3 * 8;

template <class Archive, class Checkpoint, class Vector>
void fields(Archive& ar, Checkpoint& c, Vector vector) {
  vector(c.shard_iterations, 8, "the shards' iterations");
  ar& c.clock_ns& c.start_ns& c.training_start_ns& c.next_tick_ns& c.policy;
  vector(c.rows, row_bytes, "the rows");
  vector(c.workers, worker_bytes, "the workers");
  ar& c.membership;
}

/// Why a decoded checkpoint cannot be a run's, or empty.
std::string inconsistency(const run_checkpoint& c) {
  if (c.shard_iterations.empty())
    return "no shard";
  for (auto iteration : c.shard_iterations)
    if (iteration < 0)
      return "a negative iteration index";
  if (c.start_ns > c.training_start_ns || c.training_start_ns > c.clock_ns)
    return "times out of order";
  if (c.policy.next_evaluation < 1)
    return "no next evaluation point";
  for (std::size_t k = 1; k < c.workers.size(); ++k)
    if (c.workers[k - 1].id >= c.workers[k].id)
      return "workers out of order";
  return {};
}

} // namespace

std::string encode(const run_checkpoint& checkpoint) {
  using namespace archive_io;
  auto& c = const_cast<run_checkpoint&>(checkpoint); // saved, not changed
  return encode_with([&](boost::archive::binary_oarchive& ar) {
    fields(ar, c, [&](auto& v, std::uint64_t, const char*) {
      std::uint64_t size = v.size();
      ar << size;
      for (auto& element : v)
        ar << element;
    });
  });
}

result<run_checkpoint> decode_run_checkpoint(const std::string& payload) {
  using namespace archive_io;
  run_checkpoint c;
  auto read = [&](boost::archive::binary_iarchive& ar) {
    fields(ar, c, [&](auto& v, std::uint64_t bytes, const char* what) {
      std::uint64_t size = 0;
      ar >> size;
      must_fit(size, bytes, what);
      v.resize(size);
      for (auto& element : v)
        ar >> element;
    });
  };
  if (auto decoded = decode_with(payload, "run checkpoint", read); !decoded)
    return decoded;
  if (auto why = inconsistency(c); !why.empty())
    return status::error(status_code::corrupt, "not a run checkpoint: " + why);
  return c;
}

} // namespace ormo::actors
