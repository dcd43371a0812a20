// What checkpoint payloads share when Boost.Serialization encodes and
// decodes them: a payload never trusted while it is read. Private to the
// actors library.
#pragma once

#include <cstdint>
#include <exception>
#include <istream>
#include <sstream>
#include <string>
#include <utility>

#include <Eigen/Core>
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>

#include "ormo/status.hpp"

namespace ormo::actors::archive_io {

/// Thrown while decoding: the payload cannot be what it claims.
struct malformed : std::exception {
  explicit malformed(std::string why) : why(std::move(why)) {}
  const char* what() const noexcept override { return why.c_str(); }
  std::string why;
};

/// The stream being decoded on this thread (none while encoding): counts
/// and sizes are checked against what it still holds.
inline thread_local std::istream* decoding = nullptr;

/// Throws unless `count` elements of `element_bytes` bytes fit in what
/// remains of the payload being decoded.
inline void must_fit(std::uint64_t count, std::uint64_t element_bytes,
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

/// The bytes Boost writes first in every binary archive of this build. Its
/// reader trusts the length of a string in them, so a payload must start
/// with them before it is handed to Boost.
inline const std::string& archive_header() {
  static const std::string header = [] {
    std::ostringstream out;
    { boost::archive::binary_oarchive ar(out); }
    return std::move(out).str();
  }();
  return header;
}

/// Encodes with `write(archive)`.
template <class Write>
std::string encode_with(Write write) {
  std::ostringstream out;
  {
    boost::archive::binary_oarchive ar(out);
    write(ar);
  }
  return std::move(out).str();
}

/// Decodes `payload` with `read(archive)`: corrupt, saying "not a `what`:
/// ..." when the header is not this build's, reading fails or throws
/// malformed, or bytes remain past the end.
template <class Read>
status decode_with(const std::string& payload, const char* what, Read read) {
  auto corrupt = [what](const std::string& why) {
    return status::error(status_code::corrupt,
                         std::string("not a ") + what + ": " + why);
  };
  if (payload.compare(0, archive_header().size(), archive_header()) != 0)
    return corrupt("its archive header is not this build's (damaged, or "
                   "another Boost version)");
  std::istringstream in(payload);
  decoding = &in;
  try {
    boost::archive::binary_iarchive ar(in);
    read(ar);
  } catch (const std::exception& e) {
    decoding = nullptr;
    return corrupt(e.what());
  }
  decoding = nullptr;
  if (in.peek() != std::char_traits<char>::eof())
    return corrupt("bytes past its end");
  return status::ok();
}

} // namespace ormo::actors::archive_io
