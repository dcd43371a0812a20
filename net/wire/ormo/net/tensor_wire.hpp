// The byte layout of a float tensor crossing a node boundary, and a decoder
// that trusts nothing it reads. No CAF here: the CAF glue
// (tensor_serialization.hpp) and any other transport build on it.
//
// Format version 1; every integer and every value is little-endian:
//
//   offset  size  field
//   ------  ----  ---------------------------------------------------------
//        0     4  magic: the bytes 'O' 'R' 'M' 'T' (0x4f 0x52 0x4d 0x54)
//        4     1  format version: 1
//        5     1  byte order of the values: 'L' (0x4c, little-endian)
//        6     1  element type: 1 = IEEE 754 binary32 (float)
//        7     1  reserved: 0
//        8     8  element count n (unsigned 64-bit)
//       16    4n  the n values, contiguous
//
// The encoder always writes 'L' (a big-endian host swaps while encoding);
// the decoder refuses any other marker rather than guess, so a future
// big-endian variant needs a new marker value, not a silent swap.
//
// Thread-safety: free functions over the caller's buffers; no shared state.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "ormo/status.hpp"

namespace ormo::net {

/// Bytes before the first value.
inline constexpr std::size_t tensor_header_size = 16;

/// The format version this build writes and the only one it reads.
inline constexpr std::uint8_t tensor_format_version = 1;

/// Byte order marker of little-endian values, the only one in version 1.
inline constexpr std::uint8_t tensor_little_endian = 'L';

/// Element type code of IEEE 754 binary32.
inline constexpr std::uint8_t tensor_float32 = 1;

/// The largest element count any decoder accepts, whatever its caller asks:
/// a CAF 0.17 message cannot exceed 2^31 - 1 bytes (32-bit length on the
/// wire), so a larger tensor can only be a lie.
inline constexpr std::uint64_t max_tensor_elements
  = (std::uint64_t{0x7fffffff} - tensor_header_size) / sizeof(float);

/// The 16 header bytes of a tensor of `count` floats.
std::array<unsigned char, tensor_header_size>
encode_tensor_header(std::uint64_t count);

/// Validates the 16 bytes at `header` (magic, version, byte order, element
/// type, reserved byte) and the element count they declare against
/// `payload_bytes`, the number of bytes that follow the header and belong to
/// the tensor (exactly 4 per element), and against `max_elements` (capped by
/// max_tensor_elements). Returns the element count. The count is checked
/// before any caller allocates: a hostile size is refused here.
/// REQUIRES: `header` points to at least tensor_header_size bytes.
result<std::uint64_t>
decode_tensor_header(const unsigned char* header, std::uint64_t payload_bytes,
                     std::uint64_t max_elements = max_tensor_elements);

/// Copies `count` floats to `out` in wire byte order (a memcpy on a
/// little-endian host). REQUIRES: `out` holds 4 * count bytes.
void store_tensor_values(const float* values, std::size_t count,
                         unsigned char* out);

/// Copies `count` floats from wire byte order at `in` to `out`.
/// REQUIRES: `in` holds 4 * count bytes.
void load_tensor_values(const unsigned char* in, std::size_t count, float* out);

/// True when the host's float layout is the wire's, so values can be
/// written and read in place without a conversion.
bool host_matches_wire_order();

/// Header and values of `count` floats in one buffer.
std::vector<unsigned char> encode_tensor(const float* values,
                                         std::size_t count);

/// Decodes a whole encoded tensor of exactly `size` bytes (no trailing
/// bytes allowed). Non-finite values are kept as they are: whether they
/// are acceptable is the receiver's decision.
result<Eigen::VectorXf>
decode_tensor(const unsigned char* bytes, std::size_t size,
              std::uint64_t max_elements = max_tensor_elements);

} // namespace ormo::net
