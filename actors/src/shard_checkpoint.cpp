#include "ormo/actors/shard_checkpoint.hpp"

#include "archive_io.hpp"

#include <vector>

#include <boost/serialization/map.hpp>
#include <boost/serialization/split_free.hpp>

namespace boost::serialization {

template <class Archive>
void save(Archive& ar, const ormo::actors::push_ledger::decision& d,
          unsigned) {
  auto reason = static_cast<std::uint8_t>(d.rejection);
  ar << reason;
  ormo::actors::archive_io::save_text(ar, d.detail);
  std::uint8_t closed = d.closed_iteration ? 1 : 0;
  ar << d.iteration << closed;
}

template <class Archive>
void load(Archive& ar, ormo::actors::push_ledger::decision& d, unsigned) {
  std::uint8_t reason = 0;
  ar >> reason;
  d.rejection = static_cast<ormo::rejection_reason>(reason);
  ormo::actors::archive_io::load_text(ar, d.detail);
  std::uint8_t closed = 0; // a bool read from bytes could be neither
  ar >> d.iteration >> closed;
  d.closed_iteration = closed != 0;
}

template <class Archive>
void serialize(Archive& ar, ormo::actors::push_ledger::decision& d,
               unsigned version) {
  split_free(ar, d, version);
}

template <class Archive>
void serialize(Archive& ar, ormo::actors::push_ledger::worker_record& r,
               unsigned) {
  ar& r.floor& r.decided;
}

template <class Archive>
void serialize(Archive& ar, ormo::actors::shard_counters& c, unsigned) {
  ar& c.received& c.accepted& c.duplicates& c.rejected& c.loss_sum& c
    .loss_count& c.delay_sum& c.max_delay& c.accepted_by_worker& c.delays;
}

} // namespace boost::serialization

namespace ormo::actors {

namespace {

/// The fields in the order both directions use.
template <class Archive, class Checkpoint, class Vector, class Rule>
void fields(Archive& ar, Checkpoint& c, Vector vector, Rule rule) {
  ar& c.shard& c.offset& c.size;
  vector(c.parameters, "the parameters");
  vector(c.momentum, "the momentum");
  vector(c.base, "the base");
  ar& c.version& c.server_iteration;
  rule(c.rule);
  ar& c.ledger& c.counters;
}

/// Why a decoded checkpoint cannot be a shard's, or empty.
std::string inconsistency(const shard_checkpoint& c) {
  auto size = c.size;
  if (size <= 0 || c.offset < 0)
    return "a slice of " + std::to_string(size) + " values at "
           + std::to_string(c.offset);
  if (c.parameters.size() != size)
    return std::to_string(c.parameters.size()) + " parameters for a slice of "
           + std::to_string(size);
  std::vector<const Eigen::VectorXf*> rule_vectors;
  for (const auto& v : c.rule.own_vectors)
    rule_vectors.push_back(&v);
  for (const auto& [worker, v] : c.rule.worker_vectors)
    rule_vectors.push_back(&v);
  for (const auto* v : rule_vectors)
    if (v->size() != size)
      return "a rule's vector of " + std::to_string(v->size())
             + " values for a slice of " + std::to_string(size);
  for (const auto* v : {&c.momentum, &c.base})
    if (v->size() != 0 && v->size() != size)
      return "a vector of " + std::to_string(v->size())
             + " values for a slice of " + std::to_string(size);
  rule_vectors.insert(rule_vectors.end(),
                      {&c.parameters, &c.momentum, &c.base});
  for (const auto* v : rule_vectors)
    if (!v->allFinite())
      return "values that are not finite";
  auto known = [](rejection_reason r) {
    return static_cast<int>(r)
           <= static_cast<int>(rejection_reason::invalid_step);
  };
  for (const auto& [reason, count] : c.counters.rejected)
    if (reason == rejection_reason::none || !known(reason))
      return "an unknown rejection reason";
  for (const auto& [worker, record] : c.ledger)
    for (const auto& [sequence, decision] : record.decided)
      if (!known(decision.rejection) || sequence <= record.floor)
        return "a ledger that does not add up (worker "
               + std::to_string(worker) + ")";
  return {};
}

} // namespace

std::string encode(const shard_checkpoint& checkpoint) {
  using namespace archive_io;
  auto& c = const_cast<shard_checkpoint&>(checkpoint); // saved, not changed
  return encode_with([&](boost::archive::binary_oarchive& ar) {
    fields(
      ar, c, [&](Eigen::VectorXf& v, const char*) { save_vector(ar, v); },
      [&](optim::rule_state& r) {
        ar << r.iteration << r.arrivals << r.iteration_size
           << r.deferred_decay;
        save_vector(ar, r.momentum);
        std::uint64_t own = r.own_vectors.size();
        ar << own;
        for (const auto& v : r.own_vectors)
          save_vector(ar, v);
        std::uint64_t workers = r.worker_vectors.size();
        ar << workers;
        for (const auto& [worker, v] : r.worker_vectors) {
          ar << worker;
          save_vector(ar, v);
        }
      });
  });
}

result<shard_checkpoint> decode_shard_checkpoint(const std::string& payload) {
  using namespace archive_io;
  shard_checkpoint c;
  auto read = [&](boost::archive::binary_iarchive& ar) {
    fields(
      ar, c,
      [&](Eigen::VectorXf& v, const char* what) { load_vector(ar, v, what); },
      [&](optim::rule_state& r) {
        ar >> r.iteration >> r.arrivals >> r.iteration_size
          >> r.deferred_decay;
        load_vector(ar, r.momentum, "the rule's momentum");
        // Each count is checked against the bytes left (a vector takes at
        // least its 8-byte size) before anything is allocated for it.
        std::uint64_t own = 0;
        ar >> own;
        must_fit(own, sizeof(std::uint64_t), "the rule's own vectors");
        r.own_vectors.resize(own);
        for (auto& v : r.own_vectors)
          load_vector(ar, v, "a rule's own vector");
        std::uint64_t workers = 0;
        ar >> workers;
        must_fit(workers, sizeof(optim::worker_id) + sizeof(std::uint64_t),
                 "the rule's worker vectors");
        for (std::uint64_t k = 0; k < workers; ++k) {
          optim::worker_id worker = 0;
          ar >> worker;
          Eigen::VectorXf v;
          load_vector(ar, v, "a worker's vector");
          if (!r.worker_vectors.emplace(worker, std::move(v)).second)
            throw malformed("the vector of worker " + std::to_string(worker)
                            + " twice");
        }
      });
  };
  if (auto decoded = decode_with(payload, "shard checkpoint", read); !decoded)
    return decoded;
  if (auto why = inconsistency(c); !why.empty())
    return status::error(status_code::corrupt,
                         "not a shard checkpoint: " + why);
  return c;
}

} // namespace ormo::actors
