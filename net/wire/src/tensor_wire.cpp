#include "ormo/net/tensor_wire.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace ormo::net {

namespace {

constexpr unsigned char magic[4] = {'O', 'R', 'M', 'T'};

static_assert(sizeof(float) == 4, "the wire carries IEEE 754 binary32");

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr bool host_little_endian = false;
#else
constexpr bool host_little_endian = true;
#endif

status corrupt(std::string what) {
  return status::error(status_code::corrupt,
                       "tensor on the wire: " + std::move(what));
}

std::string hex_byte(unsigned value) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02x", value & 0xffu);
  return text;
}

/// Reverses each 4-byte group of `count` values from `in` to `out`. Used on
/// big-endian hosts only (clang warns about an unused internal function).
[[maybe_unused]] void swap_words(const unsigned char* in, std::size_t count,
                unsigned char* out) {
  for (std::size_t j = 0; j < count; ++j) {
    const unsigned char* from = in + 4 * j;
    unsigned char word[4] = {from[3], from[2], from[1], from[0]};
    std::memcpy(out + 4 * j, word, 4);
  }
}

} // namespace

std::array<unsigned char, tensor_header_size>
encode_tensor_header(std::uint64_t count) {
  std::array<unsigned char, tensor_header_size> header{};
  std::memcpy(header.data(), magic, sizeof(magic));
  header[4] = tensor_format_version;
  header[5] = tensor_little_endian;
  header[6] = tensor_float32;
  header[7] = 0;
  for (int byte = 0; byte < 8; ++byte)
    header[8 + byte] = static_cast<unsigned char>(count >> (8 * byte));
  return header;
}

result<std::uint64_t> decode_tensor_header(const unsigned char* header,
                                           std::uint64_t payload_bytes,
                                           std::uint64_t max_elements) {
  if (std::memcmp(header, magic, sizeof(magic)) != 0)
    return corrupt("bad magic " + hex_byte(header[0]) + " "
                   + hex_byte(header[1]) + " " + hex_byte(header[2]) + " "
                   + hex_byte(header[3]) + " (expected \"ORMT\")");
  if (header[4] != tensor_format_version)
    return corrupt("format version " + std::to_string(header[4])
                   + ", this build reads only version "
                   + std::to_string(tensor_format_version));
  if (header[5] != tensor_little_endian)
    return corrupt("byte order marker " + hex_byte(header[5])
                   + ", only 'L' (little-endian) is defined");
  if (header[6] != tensor_float32)
    return corrupt("element type " + std::to_string(header[6])
                   + ", only 1 (float32) is defined");
  if (header[7] != 0)
    return corrupt("reserved byte is " + hex_byte(header[7]) + ", not 0");
  std::uint64_t count = 0;
  for (int byte = 0; byte < 8; ++byte)
    count |= std::uint64_t{header[8 + byte]} << (8 * byte);
  auto limit = std::min(max_elements, max_tensor_elements);
  if (count > limit)
    return corrupt("declares " + std::to_string(count)
                   + " elements, more than the limit of "
                   + std::to_string(limit));
  // No overflow: count <= max_tensor_elements < 2^31.
  if (count * sizeof(float) != payload_bytes)
    return corrupt("declares " + std::to_string(count) + " elements ("
                   + std::to_string(count * sizeof(float)) + " bytes) but "
                   + std::to_string(payload_bytes)
                   + " bytes follow the header");
  return count;
}

bool host_matches_wire_order() {
  return host_little_endian;
}

void store_tensor_values(const float* values, std::size_t count,
                         unsigned char* out) {
  if (count == 0)
    return;
  if constexpr (host_little_endian)
    std::memcpy(out, values, count * sizeof(float));
  else
    swap_words(reinterpret_cast<const unsigned char*>(values), count, out);
}

void load_tensor_values(const unsigned char* in, std::size_t count,
                        float* out) {
  if (count == 0)
    return;
  if constexpr (host_little_endian)
    std::memcpy(out, in, count * sizeof(float));
  else
    swap_words(in, count, reinterpret_cast<unsigned char*>(out));
}

std::vector<unsigned char> encode_tensor(const float* values,
                                         std::size_t count) {
  std::vector<unsigned char> bytes(tensor_header_size + count * sizeof(float));
  auto header = encode_tensor_header(count);
  std::memcpy(bytes.data(), header.data(), header.size());
  store_tensor_values(values, count, bytes.data() + tensor_header_size);
  return bytes;
}

result<Eigen::VectorXf> decode_tensor(const unsigned char* bytes,
                                      std::size_t size,
                                      std::uint64_t max_elements) {
  if (size < tensor_header_size)
    return corrupt(std::to_string(size) + " bytes, fewer than the "
                   + std::to_string(tensor_header_size) + " of the header");
  auto count
    = decode_tensor_header(bytes, size - tensor_header_size, max_elements);
  if (!count)
    return count.error();
  Eigen::VectorXf values(static_cast<Eigen::Index>(*count));
  load_tensor_values(bytes + tensor_header_size,
                     static_cast<std::size_t>(*count), values.data());
  return values;
}

} // namespace ormo::net
