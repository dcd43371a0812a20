#include "ormo/data/idx_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include <zlib.h>

namespace ormo::data {

namespace {

constexpr std::uint8_t unsigned_byte_type = 0x08;

/// Largest single gzread: its length is an unsigned and its result an int.
constexpr std::size_t max_read = std::size_t{1} << 26;

/// zlib's input buffer: fewer read calls than with the 8 KiB default
/// (Fashion-MNIST loads ~4 % faster).
constexpr unsigned gz_buffer_size = 1u << 18;

/// Caps what a header may declare, so that a corrupt header fails cleanly
/// instead of overflowing or exhausting memory.
constexpr std::uint64_t max_values = std::uint64_t{1} << 40;

struct gz_closer {
  void operator()(gzFile_s* file) const { gzclose(file); }
};

using gz_handle = std::unique_ptr<gzFile_s, gz_closer>;

std::string plural(std::uint64_t count, const std::string& noun) {
  std::string result = std::to_string(count) + " " + noun;
  if (count != 1)
    result += "s";
  return result;
}

std::string hex_byte(unsigned value) {
  constexpr char digits[] = "0123456789abcdef";
  return std::string{"0x"} + digits[(value >> 4) & 0xf] + digits[value & 0xf];
}

/// One open IDX file, read front to back: first its header, then its values.
class idx_file {
public:
  explicit idx_file(std::string path) : path_(std::move(path)) {}

  const std::string& path() const { return path_; }

  const std::vector<std::uint32_t>& dimensions() const { return dimensions_; }

  /// Opens the file and reads its header, which must declare unsigned bytes
  /// and `rank` dimensions; `shape` names them for error messages.
  status open(std::size_t rank, const char* shape) {
    errno = 0;
    file_.reset(gzopen(path_.c_str(), "rb"));
    if (!file_) {
      if (errno == ENOENT)
        return fail(status_code::not_found, "file not found");
      return fail(status_code::io_error,
                  std::string{"cannot open: "}
                    + (errno != 0 ? std::strerror(errno) : "out of memory"));
    }
    gzbuffer(file_.get(), gz_buffer_size);
    std::uint8_t magic[4];
    auto got = read(magic, sizeof(magic));
    if (!got)
      return got.error();
    if (*got < sizeof(magic))
      return truncated_header(sizeof(magic), *got);
    if (magic[0] != 0 || magic[1] != 0)
      return fail(status_code::corrupt,
                  "not an IDX file: magic starts with " + hex_byte(magic[0])
                    + " " + hex_byte(magic[1]) + ", expected two zero bytes");
    if (magic[2] != unsigned_byte_type)
      return fail(status_code::corrupt,
                  "element type " + hex_byte(magic[2])
                    + " is not supported, expected 0x08 (unsigned byte)");
    if (std::size_t{magic[3]} != rank)
      return fail(status_code::corrupt, "has " + plural(magic[3], "dimension")
                                          + ", expected " + std::to_string(rank)
                                          + " (" + shape + ")");
    std::vector<std::uint8_t> raw(4 * rank);
    got = read(raw.data(), raw.size());
    if (!got)
      return got.error();
    if (*got < raw.size())
      return truncated_header(sizeof(magic) + raw.size(), sizeof(magic) + *got);
    dimensions_.resize(rank);
    for (std::size_t i = 0; i < rank; ++i) {
      const auto* bytes = raw.data() + 4 * i;
      dimensions_[i] = std::uint32_t{bytes[0]} << 24
                       | std::uint32_t{bytes[1]} << 16
                       | std::uint32_t{bytes[2]} << 8 | std::uint32_t{bytes[3]};
    }
    return status::ok();
  }

  /// Reads all `samples` * `sample_size` remaining values into `values` and
  /// checks that nothing follows them. `noun` names a sample in messages.
  /// REQUIRES: open() succeeded; samples * sample_size <= max_values.
  status read_values(std::vector<std::uint8_t>& values, std::uint64_t samples,
                     std::uint64_t sample_size, const char* noun) {
    const auto expected = static_cast<std::size_t>(samples * sample_size);
    values.clear();
    // Grows in steps rather than trusting the header with one allocation.
    std::size_t total = 0;
    while (total < expected) {
      auto step = std::min(expected - total, max_read);
      values.resize(total + step);
      auto got = read(values.data() + total, step);
      if (!got)
        return got.error();
      total += *got;
      if (*got < step)
        break;
    }
    if (total < expected) {
      std::string what
        = "truncated: expected " + plural(expected, "byte") + " ("
          + plural(samples, noun) + "), got " + std::to_string(total) + " ("
          + plural(total / sample_size, std::string{"complete "} + noun) + ")";
      return fail(status_code::corrupt, what + cut_off_note());
    }
    std::uint8_t extra;
    auto got = read(&extra, 1);
    if (!got)
      return got.error();
    if (*got != 0)
      return fail(status_code::corrupt, "trailing data after the "
                                          + plural(expected, "byte")
                                          + " its header declares");
    if (auto note = cut_off_note(); !note.empty())
      return fail(status_code::corrupt,
                  "the values are complete but the gzip stream is cut off "
                  "before its checksum");
    return status::ok();
  }

  status fail(status_code code, const std::string& what) const {
    return status::error(code, path_ + ": " + what);
  }

private:
  /// Reads up to `size` bytes; fewer only at the end of the data.
  result<std::size_t> read(std::uint8_t* out, std::size_t size) {
    std::size_t total = 0;
    while (total < size) {
      auto chunk = static_cast<unsigned>(std::min(size - total, max_read));
      int got = gzread(file_.get(), out + total, chunk);
      if (got < 0) {
        int code = Z_OK;
        std::string what = gzerror(file_.get(), &code);
        // zlib prefixes its message with the path, which fail() adds too.
        if (what.compare(0, path_.size() + 2, path_ + ": ") == 0)
          what.erase(0, path_.size() + 2);
        if (code == Z_ERRNO)
          return fail(status_code::io_error,
                      std::string{"read failed: "} + std::strerror(errno));
        return fail(code == Z_DATA_ERROR ? status_code::corrupt
                                         : status_code::io_error,
                    std::string{"cannot decompress: "} + what);
      }
      if (got == 0)
        break;
      total += static_cast<std::size_t>(got);
    }
    return total;
  }

  /// Non-empty when the input ended inside a gzip stream (cut-off download).
  std::string cut_off_note() const {
    int code = Z_OK;
    gzerror(file_.get(), &code);
    if (code == Z_BUF_ERROR)
      return " (the gzip stream is cut off)";
    return {};
  }

  status truncated_header(std::size_t expected, std::size_t got) const {
    return fail(status_code::corrupt, "truncated header: expected "
                                        + plural(expected, "byte") + ", got "
                                        + std::to_string(got) + cut_off_note());
  }

  std::string path_;
  gz_handle file_;
  std::vector<std::uint32_t> dimensions_;
};

} // namespace

result<dataset> read_idx(const std::string& images_path,
                         const std::string& labels_path, std::string name,
                         int classes) {
  if (classes < 1 || classes > 256)
    return status::error(status_code::invalid_argument,
                         labels_path + ": class count "
                           + std::to_string(classes)
                           + " must be in [1, 256] for byte labels");
  idx_file images{images_path};
  if (auto opened = images.open(3, "images x rows x columns"); !opened)
    return opened;
  idx_file labels{labels_path};
  if (auto opened = labels.open(1, "labels"); !opened)
    return opened;
  const std::uint64_t samples = images.dimensions()[0];
  const std::uint64_t rows = images.dimensions()[1];
  const std::uint64_t columns = images.dimensions()[2];
  const std::uint64_t inputs = rows * columns;
  if (inputs == 0)
    return images.fail(status_code::corrupt, "images of " + std::to_string(rows)
                                               + "x" + std::to_string(columns)
                                               + " pixels are empty");
  if (inputs > static_cast<std::uint64_t>(std::numeric_limits<int>::max())
      || samples * inputs > max_values)
    return images.fail(status_code::corrupt,
                       std::to_string(samples) + " images of "
                         + std::to_string(rows) + "x" + std::to_string(columns)
                         + " pixels are implausibly large");
  if (labels.dimensions()[0] != samples)
    return status::error(status_code::corrupt,
                         images_path + " has " + plural(samples, "image")
                           + " but " + labels_path + " has "
                           + plural(labels.dimensions()[0], "label"));
  std::vector<std::uint8_t> values;
  if (auto read = labels.read_values(values, samples, 1, "label"); !read)
    return read;
  dataset result;
  result.name = std::move(name);
  result.classes = classes;
  const auto count = static_cast<Eigen::Index>(samples);
  using byte_vector = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, 1>;
  result.labels
    = Eigen::Map<const byte_vector>(values.data(), count).cast<int>();
  for (Eigen::Index j = 0; j < count; ++j)
    if (result.labels[j] >= classes)
      return labels.fail(status_code::corrupt,
                         "label " + std::to_string(result.labels[j])
                           + " of sample " + std::to_string(j)
                           + " is outside [0, " + std::to_string(classes)
                           + ")");
  if (auto read = images.read_values(values, samples, inputs, "image"); !read)
    return read;
  using byte_matrix
    = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>;
  // Division, not multiplication by 1/255, keeps 255 at exactly 1.
  result.features = Eigen::Map<const byte_matrix>(
                      values.data(), static_cast<Eigen::Index>(inputs), count)
                      .cast<float>()
                    / 255.0f;
  return result;
}

result<train_test_split> load_fashion_mnist(const std::string& directory) {
  const std::filesystem::path root{directory};
  auto file = [&](const char* name) { return (root / name).string(); };
  auto train
    = read_idx(file("train-images-idx3-ubyte.gz"),
               file("train-labels-idx1-ubyte.gz"), "fashion-mnist-train", 10);
  if (!train)
    return train.error();
  auto test
    = read_idx(file("t10k-images-idx3-ubyte.gz"),
               file("t10k-labels-idx1-ubyte.gz"), "fashion-mnist-test", 10);
  if (!test)
    return test.error();
  if (test->inputs() != train->inputs())
    return status::error(status_code::corrupt,
                         file("t10k-images-idx3-ubyte.gz") + ": images of "
                           + std::to_string(test->inputs())
                           + " pixels, but the training images ("
                           + file("train-images-idx3-ubyte.gz") + ") have "
                           + std::to_string(train->inputs()));
  return train_test_split{std::move(train).value(), std::move(test).value()};
}

} // namespace ormo::data
