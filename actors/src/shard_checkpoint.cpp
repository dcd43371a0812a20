#include "ormo/actors/shard_checkpoint.hpp"

#include <cmath>
#include <exception>
#include <sstream>
#include <utility>

#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/split_free.hpp>

namespace ormo::actors {

namespace {

/// Thrown while decoding: the payload cannot be what it claims.
struct malformed : std::exception {
  explicit malformed(std::string why) : why(std::move(why)) {}
  const char* what() const noexcept override { return why.c_str(); }
  std::string why;
};

/// The stream being decoded on this thread (none while encoding): counts
/// and sizes are checked against what it still holds.
thread_local std::istream* decoding = nullptr;

/// Throws unless `bytes` more bytes remain in the payload being decoded.
void must_fit(std::uint64_t count, std::uint64_t element_bytes,
              const char* what) {
  if (decoding == nullptr)
    return;
  auto here = decoding->tellg();
  decoding->seekg(0, std::ios::end);
  auto end = decoding->tellg();
  decoding->seekg(here);
  auto left = static_cast<std::uint64_t>(end - here);
  if (element_bytes > 0 && count > left / element_bytes)
    throw malformed(std::string(what) + " of " + std::to_string(count)
                    + " elements, only " + std::to_string(left)
                    + " bytes remain");
}

template <class Archive>
void save_vector(Archive& ar, const Eigen::VectorXf& v) {
  std::uint64_t size = static_cast<std::uint64_t>(v.size());
  ar << size;
  if (size > 0)
    ar.save_binary(v.data(), size * sizeof(float));
}

template <class Archive>
void load_vector(Archive& ar, Eigen::VectorXf& v, const char* what) {
  std::uint64_t size = 0;
  ar >> size;
  must_fit(size, sizeof(float), what);
  v.resize(static_cast<Eigen::Index>(size));
  if (size > 0)
    ar.load_binary(v.data(), size * sizeof(float));
}

template <class Archive>
void save_text(Archive& ar, const std::string& s) {
  std::uint64_t size = s.size();
  ar << size;
  if (size > 0)
    ar.save_binary(s.data(), size);
}

template <class Archive>
void load_text(Archive& ar, std::string& s) {
  std::uint64_t size = 0;
  ar >> size;
  must_fit(size, 1, "a text");
  s.resize(size);
  if (size > 0)
    ar.load_binary(s.data(), size);
}

} // namespace

} // namespace ormo::actors

namespace boost::serialization {

template <class Archive>
void save(Archive& ar, const ormo::actors::push_ledger::decision& d,
          unsigned) {
  auto reason = static_cast<std::uint8_t>(d.rejection);
  ar << reason;
  ormo::actors::save_text(ar, d.detail);
  std::uint8_t closed = d.closed_iteration ? 1 : 0;
  ar << d.iteration << closed;
}

template <class Archive>
void load(Archive& ar, ormo::actors::push_ledger::decision& d, unsigned) {
  std::uint8_t reason = 0;
  ar >> reason;
  d.rejection = static_cast<ormo::rejection_reason>(reason);
  ormo::actors::load_text(ar, d.detail);
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
  ar& c.received& c.accepted& c.duplicates& c.rejected& c.loss_sum&
    c.loss_count& c.delay_sum& c.max_delay& c.accepted_by_worker;
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
  for (const auto* v : {&c.momentum, &c.base})
    if (v->size() != 0 && v->size() != size)
      return "a vector of " + std::to_string(v->size())
             + " values for a slice of " + std::to_string(size);
  for (const auto* v : {&c.parameters, &c.momentum, &c.base})
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
  std::ostringstream out;
  {
    boost::archive::binary_oarchive ar(out);
    auto& c = const_cast<shard_checkpoint&>(checkpoint); // saved, not changed
    fields(
      ar, c, [&](Eigen::VectorXf& v, const char*) { save_vector(ar, v); },
      [&](optim::rule_state& r) {
        ar << r.iteration << r.arrivals << r.iteration_size
           << r.deferred_decay;
        save_vector(ar, r.momentum);
      });
  }
  return std::move(out).str();
}

/// The bytes Boost writes first in every binary archive of this build. Its
/// reader trusts the length of a string in them, so a payload must start
/// with them before it is handed to Boost.
const std::string& archive_header() {
  static const std::string header = [] {
    std::ostringstream out;
    { boost::archive::binary_oarchive ar(out); }
    return std::move(out).str();
  }();
  return header;
}

result<shard_checkpoint> decode_shard_checkpoint(const std::string& payload) {
  if (payload.compare(0, archive_header().size(), archive_header()) != 0)
    return status::error(status_code::corrupt,
                         "not a shard checkpoint: its archive header is not "
                         "this build's (damaged, or another Boost version)");
  std::istringstream in(payload);
  shard_checkpoint c;
  decoding = &in;
  try {
    boost::archive::binary_iarchive ar(in);
    fields(
      ar, c,
      [&](Eigen::VectorXf& v, const char* what) { load_vector(ar, v, what); },
      [&](optim::rule_state& r) {
        ar >> r.iteration >> r.arrivals >> r.iteration_size
          >> r.deferred_decay;
        load_vector(ar, r.momentum, "the rule's momentum");
      });
  } catch (const std::exception& e) {
    decoding = nullptr;
    return status::error(status_code::corrupt,
                         std::string("not a shard checkpoint: ") + e.what());
  }
  decoding = nullptr;
  if (in.peek() != std::char_traits<char>::eof())
    return status::error(status_code::corrupt,
                         "not a shard checkpoint: bytes past its end");
  if (auto why = inconsistency(c); !why.empty())
    return status::error(status_code::corrupt,
                         "not a shard checkpoint: " + why);
  return c;
}

} // namespace ormo::actors
