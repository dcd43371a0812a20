#include "ormo/net/tensor_serialization.hpp"

#include <array>
#include <string>
#include <utility>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/deserializer.hpp>
#include <caf/error.hpp>
#include <caf/sec.hpp>
#include <caf/serializer.hpp>

namespace ormo::net {

namespace {

caf::error invalid(std::string what) {
  return caf::make_error(caf::sec::invalid_argument, std::move(what));
}

} // namespace

caf::error save_tensor(caf::serializer& sink, const Eigen::VectorXf* values) {
  const std::size_t count
    = values != nullptr ? static_cast<std::size_t>(values->size()) : 0;
  std::size_t length = tensor_header_size + count * sizeof(float);
  auto header = encode_tensor_header(count);
  if (auto err = sink.begin_sequence(length))
    return err;
  if (auto err = sink.apply_raw(header.size(), header.data()))
    return err;
  if (count > 0) {
    if (host_matches_wire_order()) {
      // The serializer only reads through this pointer.
      auto* data = const_cast<float*>(values->data());
      if (auto err = sink.apply_raw(count * sizeof(float), data))
        return err;
    } else {
      std::vector<unsigned char> swapped(count * sizeof(float));
      store_tensor_values(values->data(), count, swapped.data());
      if (auto err = sink.apply_raw(swapped.size(), swapped.data()))
        return err;
    }
  }
  return sink.end_sequence();
}

caf::error load_tensor(caf::deserializer& source,
                       std::shared_ptr<const Eigen::VectorXf>& values,
                       std::uint64_t max_elements) {
  std::size_t length = 0;
  if (auto err = source.begin_sequence(length))
    return err;
  if (length < tensor_header_size)
    return invalid("tensor on the wire: a sequence of " + std::to_string(length)
                   + " bytes, fewer than the "
                   + std::to_string(tensor_header_size) + " of the header");
  // A binary source knows how many bytes it holds: refuse a length that
  // cannot be there before trusting any part of it.
  if (auto* binary = dynamic_cast<caf::binary_deserializer*>(&source))
    if (binary->remaining() < length)
      return invalid("tensor on the wire: a sequence of "
                     + std::to_string(length) + " bytes but only "
                     + std::to_string(binary->remaining())
                     + " remain in the message");
  std::array<unsigned char, tensor_header_size> header{};
  if (auto err = source.apply_raw(header.size(), header.data()))
    return err;
  auto count
    = decode_tensor_header(header.data(), length - header.size(), max_elements);
  if (!count)
    return invalid(count.error().message());
  auto loaded
    = std::make_shared<Eigen::VectorXf>(static_cast<Eigen::Index>(*count));
  const std::size_t bytes = static_cast<std::size_t>(*count) * sizeof(float);
  if (bytes > 0) {
    if (host_matches_wire_order()) {
      if (auto err = source.apply_raw(bytes, loaded->data()))
        return err;
    } else {
      std::vector<unsigned char> wire(bytes);
      if (auto err = source.apply_raw(wire.size(), wire.data()))
        return err;
      load_tensor_values(wire.data(), static_cast<std::size_t>(*count),
                         loaded->data());
    }
  }
  if (auto err = source.end_sequence())
    return err;
  values = std::move(loaded);
  return caf::none;
}

} // namespace ormo::net
