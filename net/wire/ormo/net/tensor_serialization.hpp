// CAF 0.17 serialization of float tensors in the layout of tensor_wire.hpp:
// one byte sequence that CAF's serializers move with apply_raw, straight
// from and into the tensor's memory (no element-by-element path, no
// intermediate byte vector). Used by the inspect() overloads of the
// messages that carry tensors (ormo/actors/messages.hpp).
//
// Thread-safety: free functions over the caller's serializer and values.
#pragma once

#include <cstdint>
#include <memory>

#include <Eigen/Core>
#include <caf/fwd.hpp>

#include "ormo/net/tensor_wire.hpp"

namespace ormo::net {

/// Writes `values` (null: an empty tensor) as one sequence of
/// tensor_header_size + 4n bytes: the header, then the values.
caf::error save_tensor(caf::serializer& sink, const Eigen::VectorXf* values);

/// Reads what save_tensor wrote into a new vector. Validates the sequence
/// length, the header and the count (against `max_elements`, and, when
/// `source` is a caf::binary_deserializer as in the middleman, against the
/// bytes that remain in its input) before allocating. On failure returns
/// sec::invalid_argument with decode_tensor_header's message (or the
/// source's own error for truncated input) and leaves `values` untouched.
/// Values are not checked for finiteness.
caf::error load_tensor(caf::deserializer& source,
                       std::shared_ptr<const Eigen::VectorXf>& values,
                       std::uint64_t max_elements = max_tensor_elements);

} // namespace ormo::net
