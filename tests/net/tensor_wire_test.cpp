#include "ormo/net/tensor_wire.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "helpers.hpp"
#include "ormo/random.hpp"

namespace {

using ormo::net::decode_tensor;
using ormo::net::decode_tensor_header;
using ormo::net::encode_tensor;
using ormo::net::encode_tensor_header;
using ormo::net::tensor_header_size;

std::vector<unsigned char> encoded(const Eigen::VectorXf& values) {
  return encode_tensor(values.data(), static_cast<std::size_t>(values.size()));
}

/// Writes `count` little-endian into bytes 8..15 of an encoded tensor.
void set_count(std::vector<unsigned char>& bytes, std::uint64_t count) {
  for (int byte = 0; byte < 8; ++byte)
    bytes[8 + byte] = static_cast<unsigned char>(count >> (8 * byte));
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("tensor_wire: the header is the documented 16 bytes") {
  auto header = encode_tensor_header(0x0102030405060708ull);
  const unsigned char expected[16]
    = {'O',  'R',  'M',  'T',  1,    'L',  1,    0,
       0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
  CHECK(std::memcmp(header.data(), expected, sizeof(expected)) == 0);
  CHECK(tensor_header_size == 16);
}

TEST_CASE("tensor_wire: values are little-endian binary32") {
  Eigen::VectorXf values(2);
  values << 1.0f, -2.5f;
  auto bytes = encoded(values);
  REQUIRE(bytes.size() == 16 + 8);
  // 1.0f = 0x3f800000, -2.5f = 0xc0200000, least significant byte first.
  const unsigned char expected[8] = {0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0};
  CHECK(std::memcmp(bytes.data() + 16, expected, sizeof(expected)) == 0);
}

TEST_CASE("tensor_wire: encode then decode gives the same values") {
  ormo::random_source random(11);
  for (Eigen::Index size : {0, 1, 3, 1000, 65537}) {
    Eigen::VectorXf values = ormo::test::random_vector(random, size);
    auto bytes = encoded(values);
    CHECK(bytes.size() == 16 + 4 * static_cast<std::size_t>(size));
    auto decoded = decode_tensor(bytes.data(), bytes.size());
    REQUIRE_MESSAGE(decoded.has_value(), decoded.error().message());
    CHECK(decoded->size() == size);
    CHECK(*decoded == values);
  }
}

TEST_CASE("tensor_wire: non-finite values travel unchanged") {
  Eigen::VectorXf values(3);
  values << std::numeric_limits<float>::quiet_NaN(),
    std::numeric_limits<float>::infinity(),
    -std::numeric_limits<float>::infinity();
  auto bytes = encoded(values);
  auto decoded = decode_tensor(bytes.data(), bytes.size());
  REQUIRE(decoded.has_value());
  CHECK(std::isnan((*decoded)[0]));
  CHECK((*decoded)[1] == values[1]);
  CHECK((*decoded)[2] == values[2]);
}

TEST_CASE("tensor_wire: every truncation is refused") {
  Eigen::VectorXf values = Eigen::VectorXf::LinSpaced(5, 0.0f, 4.0f);
  auto bytes = encoded(values);
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    auto decoded = decode_tensor(bytes.data(), size);
    CHECK_MESSAGE(!decoded.has_value(), "size " << size);
    CHECK(decoded.error().code() == ormo::status_code::corrupt);
  }
}

TEST_CASE("tensor_wire: trailing bytes are refused") {
  Eigen::VectorXf values = Eigen::VectorXf::Ones(4);
  auto bytes = encoded(values);
  bytes.push_back(0);
  auto decoded = decode_tensor(bytes.data(), bytes.size());
  REQUIRE(!decoded.has_value());
  CHECK(contains(decoded.error().message(), "17 bytes follow the header"));
}

TEST_CASE("tensor_wire: a count larger than the bytes is refused") {
  Eigen::VectorXf values = Eigen::VectorXf::Ones(4);
  auto bytes = encoded(values);
  set_count(bytes, 5);
  auto decoded = decode_tensor(bytes.data(), bytes.size());
  REQUIRE(!decoded.has_value());
  CHECK(contains(decoded.error().message(),
                 "declares 5 elements (20 bytes) but 16 bytes follow"));
}

TEST_CASE("tensor_wire: a huge count is refused by the header alone") {
  // The header is checked before any allocation: with 2^62 elements the
  // decoder would fail to allocate (or multiply past 2^64) otherwise.
  auto header = encode_tensor_header(std::uint64_t{1} << 62);
  auto count = decode_tensor_header(header.data(), 0);
  REQUIRE(!count.has_value());
  CHECK(contains(count.error().message(), "more than the limit of"));
  // Past 2^64 / 4 the byte count would wrap to a small number.
  header = encode_tensor_header((std::uint64_t{1} << 62) + 2);
  count = decode_tensor_header(header.data(), 8);
  CHECK(!count.has_value());
}

TEST_CASE("tensor_wire: the caller's limit is enforced, the global cap too") {
  auto header = encode_tensor_header(100);
  CHECK(decode_tensor_header(header.data(), 400, 100).has_value());
  auto refused = decode_tensor_header(header.data(), 400, 99);
  REQUIRE(!refused.has_value());
  CHECK(contains(refused.error().message(), "limit of 99"));
  auto over = ormo::net::max_tensor_elements + 1;
  header = encode_tensor_header(over);
  CHECK(!decode_tensor_header(header.data(), over * 4,
                              std::numeric_limits<std::uint64_t>::max())
           .has_value());
}

TEST_CASE("tensor_wire: magic, version, byte order, type, reserved checked") {
  Eigen::VectorXf values = Eigen::VectorXf::Ones(2);
  struct corruption {
    std::size_t offset;
    unsigned char value;
    std::string message;
  };
  const corruption cases[] = {
    {0, 'X', "bad magic"},
    {3, 0, "bad magic"},
    {4, 2, "format version 2"},
    {4, 0, "format version 0"},
    {5, 'B', "byte order marker 0x42"},
    {6, 2, "element type 2"},
    {7, 1, "reserved byte is 0x01"},
  };
  for (const auto& c : cases) {
    auto bytes = encoded(values);
    bytes[c.offset] = c.value;
    auto decoded = decode_tensor(bytes.data(), bytes.size());
    REQUIRE_MESSAGE(!decoded.has_value(), c.message);
    CHECK_MESSAGE(contains(decoded.error().message(), c.message),
                  decoded.error().message());
  }
}

TEST_CASE("tensor_wire: store and load are inverse and match the layout") {
  ormo::random_source random(5);
  Eigen::VectorXf values = ormo::test::random_vector(random, 33);
  std::vector<unsigned char> wire(33 * 4);
  ormo::net::store_tensor_values(values.data(), 33, wire.data());
  auto whole = encoded(values);
  CHECK(std::memcmp(wire.data(), whole.data() + 16, wire.size()) == 0);
  Eigen::VectorXf back(33);
  ormo::net::load_tensor_values(wire.data(), 33, back.data());
  CHECK(back == values);
}
