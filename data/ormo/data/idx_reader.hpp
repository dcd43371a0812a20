// Reader for the IDX files of MNIST and Fashion-MNIST.
//
// An IDX file is a big-endian header - two zero bytes, an element type byte
// (only 0x08, unsigned byte, is supported), a dimension count byte, then each
// dimension as a uint32 - followed by the values in row-major order. Files
// may be gzip-compressed or plain; both are read the same way.
//
// Errors are returned, never thrown. Every message starts with the path of
// the file at fault:
//   not_found         the file does not exist;
//   corrupt           bad magic, element type or dimension count, truncated
//                     data, trailing data, a gzip checksum mismatch, image
//                     and label counts that differ, a label out of range;
//   io_error          the operating system refused to open or read the file;
//   invalid_argument  a bad `classes` argument.
//
// Thread-safety: the functions share no state; concurrent calls are safe.
#pragma once

#include <string>

#include "ormo/data/dataset.hpp"
#include "ormo/status.hpp"

namespace ormo::data {

/// Reads `images_path` (samples x rows x columns bytes) and `labels_path`
/// (samples bytes) into a data set called `name`. Column j of the features
/// holds image j, pixel (r, c) at row r * columns + c, scaled from 0..255 to
/// [0, 1]. Every label must be below `classes`, which becomes the set's
/// class count. REQUIRES nothing: a bad `classes` (outside [1, 256]) is an
/// invalid_argument error.
result<dataset> read_idx(const std::string& images_path,
                         const std::string& labels_path, std::string name,
                         int classes = 10);

/// The shape of Fashion-MNIST as distributed.
namespace fashion_mnist {
inline constexpr int inputs = 28 * 28;
inline constexpr int classes = 10;
inline constexpr int train_samples = 60000;
inline constexpr int test_samples = 10000;
} // namespace fashion_mnist

/// Reads the four gzipped Fashion-MNIST files, under their distributed names
/// (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
/// t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz), from `directory`:
/// 60000 training and 10000 test images of 28x28 pixels, 10 classes. Fails
/// with the first file's error, e.g. not_found naming the missing file, or
/// corrupt when the test images' size differs from the training images'.
result<train_test_split> load_fashion_mnist(const std::string& directory);

} // namespace ormo::data
