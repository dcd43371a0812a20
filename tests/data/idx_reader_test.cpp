// IDX files: values, layout, gzip transparency, and one test per error.
#include "ormo/data/idx_reader.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <zlib.h>

#include "helpers.hpp"

using namespace ormo;
using namespace ormo::data;

namespace fs = std::filesystem;

using ormo::test::scratch_directory;

namespace {

using bytes = std::vector<std::uint8_t>;

/// An IDX file: magic, big-endian dimensions, then `values`.
bytes idx(const std::vector<std::uint32_t>& dimensions, const bytes& values,
          std::uint8_t type = 0x08) {
  bytes result{0, 0, type, static_cast<std::uint8_t>(dimensions.size())};
  for (auto dimension : dimensions)
    for (int shift = 24; shift >= 0; shift -= 8)
      result.push_back(static_cast<std::uint8_t>(dimension >> shift));
  result.insert(result.end(), values.begin(), values.end());
  return result;
}

void write_plain(const std::string& path, const bytes& content) {
  std::ofstream out{path, std::ios::binary};
  out.write(reinterpret_cast<const char*>(content.data()),
            static_cast<std::streamsize>(content.size()));
  REQUIRE(out.good());
}

void write_gzip(const std::string& path, const bytes& content) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  if (!content.empty())
    REQUIRE(gzwrite(file, content.data(), static_cast<unsigned>(content.size()))
            == static_cast<int>(content.size()));
  REQUIRE(gzclose(file) == Z_OK);
}

bytes read_all(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return bytes{std::istreambuf_iterator<char>{in},
               std::istreambuf_iterator<char>{}};
}

/// Three 2x3 images whose pixels tell image, row and column apart, among
/// them 0 and 255; labels 2, 0, 1.
const bytes pixels{0,   1,   2,  3,  4,  5,    // image 0
                   10,  11,  12, 13, 14, 15,   // image 1
                   255, 128, 7,  0,  64, 200}; // image 2
const bytes labels{2, 0, 1};
const bytes images_file = idx({3, 2, 3}, pixels);
const bytes labels_file = idx({3}, labels);

void check_small_set(const dataset& data) {
  CHECK(data.size() == 3);
  CHECK(data.inputs() == 6);
  REQUIRE(data.features.cols() == 3);
  CHECK(data.labels == Eigen::Vector3i{2, 0, 1});
  for (int image = 0; image < 3; ++image)
    for (int row = 0; row < 2; ++row)
      for (int column = 0; column < 3; ++column) {
        auto pixel
          = pixels[static_cast<std::size_t>(6 * image + 3 * row + column)];
        CHECK(data.features(3 * row + column, image) == pixel / 255.0f);
      }
  CHECK(data.features(0, 0) == 0.0f);
  CHECK(data.features(0, 2) == 1.0f);
}

/// Reads images and labels written as given; checks the error's code and
/// that its message names `culprit` and contains `detail`.
void check_error(const scratch_directory& dir, const bytes& images,
                 const bytes& labels, status_code code,
                 const std::string& culprit, const std::string& detail,
                 bool gzip = false) {
  auto images_path = dir.file("images");
  auto labels_path = dir.file("labels");
  (gzip ? write_gzip : write_plain)(images_path, images);
  (gzip ? write_gzip : write_plain)(labels_path, labels);
  auto data = read_idx(images_path, labels_path, "bad");
  REQUIRE_FALSE(data.has_value());
  INFO("message: " << data.error().message());
  CHECK(data.error().code() == code);
  CHECK(data.error().message().find(dir.file(culprit)) != std::string::npos);
  CHECK(data.error().message().find(detail) != std::string::npos);
}

} // namespace

TEST_CASE("idx reads plain files") {
  scratch_directory dir;
  write_plain(dir.file("images"), images_file);
  write_plain(dir.file("labels"), labels_file);
  auto data = read_idx(dir.file("images"), dir.file("labels"), "small", 3);
  REQUIRE_MESSAGE(data.has_value(), data.error().message());
  CHECK(data->name == "small");
  CHECK(data->classes == 3);
  check_small_set(*data);
}

TEST_CASE("idx reads gzipped files and mixed compression") {
  scratch_directory dir;
  write_gzip(dir.file("images.gz"), images_file);
  write_gzip(dir.file("labels.gz"), labels_file);
  write_plain(dir.file("labels"), labels_file);
  REQUIRE(read_all(dir.file("images.gz"))[0] == 0x1f); // really gzip
  auto data = read_idx(dir.file("images.gz"), dir.file("labels.gz"), "gz");
  REQUIRE_MESSAGE(data.has_value(), data.error().message());
  CHECK(data->classes == 10);
  check_small_set(*data);
  auto mixed = read_idx(dir.file("images.gz"), dir.file("labels"), "mixed");
  REQUIRE_MESSAGE(mixed.has_value(), mixed.error().message());
  check_small_set(*mixed);
}

TEST_CASE("idx reads a large gzipped file exactly") {
  // Larger than zlib's and the reader's buffers: 300 images of 40x50.
  scratch_directory dir;
  const std::uint32_t count = 300;
  const std::uint32_t rows = 40;
  const std::uint32_t columns = 50;
  bytes values(count * rows * columns);
  for (std::size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<std::uint8_t>((i * 7919) % 251);
  bytes label_values(count);
  for (std::size_t i = 0; i < count; ++i)
    label_values[i] = static_cast<std::uint8_t>(i % 10);
  write_gzip(dir.file("images"), idx({count, rows, columns}, values));
  write_gzip(dir.file("labels"), idx({count}, label_values));
  auto data = read_idx(dir.file("images"), dir.file("labels"), "large");
  REQUIRE_MESSAGE(data.has_value(), data.error().message());
  REQUIRE(data->features.rows() == 2000);
  REQUIRE(data->features.cols() == 300);
  bool all_equal = true;
  for (std::size_t i = 0; i < values.size(); ++i)
    all_equal = all_equal && data->features.data()[i] == values[i] / 255.0f;
  CHECK(all_equal);
  CHECK(data->labels[299] == 9);
}

TEST_CASE("idx reads an empty set") {
  scratch_directory dir;
  write_plain(dir.file("images"), idx({0, 2, 2}, {}));
  write_plain(dir.file("labels"), idx({0}, {}));
  auto data = read_idx(dir.file("images"), dir.file("labels"), "empty");
  REQUIRE_MESSAGE(data.has_value(), data.error().message());
  CHECK(data->size() == 0);
  CHECK(data->inputs() == 4);
}

TEST_CASE("idx reports a missing file as not_found") {
  scratch_directory dir;
  write_plain(dir.file("labels"), labels_file);
  auto data = read_idx(dir.file("images"), dir.file("labels"), "missing");
  REQUIRE_FALSE(data.has_value());
  CHECK(data.error().code() == status_code::not_found);
  CHECK(data.error().message().find(dir.file("images")) != std::string::npos);
  write_plain(dir.file("images"), images_file);
  auto no_labels = read_idx(dir.file("images"), dir.file("nope"), "missing");
  REQUIRE_FALSE(no_labels.has_value());
  CHECK(no_labels.error().code() == status_code::not_found);
  CHECK(no_labels.error().message().find(dir.file("nope"))
        != std::string::npos);
}

TEST_CASE("idx reports a directory as io_error") {
  scratch_directory dir;
  write_plain(dir.file("labels"), labels_file);
  fs::create_directory(dir.file("images"));
  auto data = read_idx(dir.file("images"), dir.file("labels"), "directory");
  REQUIRE_FALSE(data.has_value());
  CHECK(data.error().code() == status_code::io_error);
  CHECK(data.error().message().find(dir.file("images")) != std::string::npos);
}

TEST_CASE("idx rejects a wrong magic") {
  scratch_directory dir;
  auto bad = images_file;
  bad[1] = 0x42;
  check_error(dir, bad, labels_file, status_code::corrupt, "images", "magic");
  check_error(dir, images_file, bytes{'h', 'e', 'l', 'l', 'o', '!'},
              status_code::corrupt, "labels", "not an IDX file");
}

TEST_CASE("idx rejects other element types") {
  scratch_directory dir;
  check_error(dir, idx({3, 2, 3}, pixels, 0x0d), labels_file,
              status_code::corrupt, "images", "element type 0x0d");
  check_error(dir, images_file, idx({3}, labels, 0x0c), status_code::corrupt,
              "labels", "element type 0x0c", true);
}

TEST_CASE("idx rejects a wrong number of dimensions") {
  scratch_directory dir;
  check_error(dir, idx({18}, pixels), labels_file, status_code::corrupt,
              "images", "has 1 dimension, expected 3");
  check_error(dir, images_file, idx({3, 1, 1}, labels), status_code::corrupt,
              "labels", "has 3 dimensions, expected 1");
}

TEST_CASE("idx rejects a truncated header") {
  scratch_directory dir;
  check_error(dir, bytes{}, labels_file, status_code::corrupt, "images",
              "expected 4 bytes, got 0");
  auto cut = images_file;
  cut.resize(9); // magic, one dimension and a byte of the next
  check_error(dir, cut, labels_file, status_code::corrupt, "images",
              "expected 16 bytes, got 9", true);
}

TEST_CASE("idx rejects truncated data and says how much is missing") {
  scratch_directory dir;
  auto cut = images_file;
  cut.resize(cut.size() - 8); // 10 of 18 pixel bytes left
  check_error(dir, cut, labels_file, status_code::corrupt, "images",
              "expected 18 bytes (3 images), got 10 (1 complete image)");
  check_error(dir, cut, labels_file, status_code::corrupt, "images",
              "expected 18 bytes (3 images), got 10 (1 complete image)", true);
  auto short_labels = labels_file;
  short_labels.pop_back();
  check_error(dir, images_file, short_labels, status_code::corrupt, "labels",
              "expected 3 bytes (3 labels), got 2 (2 complete labels)");
}

TEST_CASE("idx rejects trailing data") {
  scratch_directory dir;
  auto longer = images_file;
  longer.push_back(9);
  check_error(dir, longer, labels_file, status_code::corrupt, "images",
              "trailing data after the 18 bytes");
}

TEST_CASE("idx rejects a cut off or damaged gzip stream") {
  scratch_directory dir;
  write_gzip(dir.file("labels"), labels_file);
  write_gzip(dir.file("whole.gz"), images_file);
  auto compressed = read_all(dir.file("whole.gz"));
  REQUIRE(compressed.size() > 12);

  // Cut inside the deflate data: the values are short.
  auto cut = compressed;
  cut.resize(cut.size() - 12);
  write_plain(dir.file("images"), cut);
  auto data = read_idx(dir.file("images"), dir.file("labels"), "cut");
  REQUIRE_FALSE(data.has_value());
  INFO("cut: " << data.error().message());
  CHECK(data.error().code() == status_code::corrupt);
  CHECK(data.error().message().find(dir.file("images")) != std::string::npos);
  CHECK(data.error().message().find("gzip stream is cut off")
        != std::string::npos);

  // Cut inside the 8-byte trailer: the values are whole but unverified.
  cut = compressed;
  cut.resize(cut.size() - 3);
  write_plain(dir.file("images"), cut);
  data = read_idx(dir.file("images"), dir.file("labels"), "trailer");
  REQUIRE_FALSE(data.has_value());
  INFO("trailer: " << data.error().message());
  CHECK(data.error().code() == status_code::corrupt);
  CHECK(data.error().message().find("gzip stream is cut off")
        != std::string::npos);

  // A wrong CRC-32 (first trailer byte) fails the check.
  auto damaged = compressed;
  damaged[damaged.size() - 8] ^= 0xff;
  write_plain(dir.file("images"), damaged);
  data = read_idx(dir.file("images"), dir.file("labels"), "damaged");
  REQUIRE_FALSE(data.has_value());
  INFO("damaged: " << data.error().message());
  CHECK(data.error().code() == status_code::corrupt);
  CHECK(data.error().message().find(dir.file("images")) != std::string::npos);
  CHECK(data.error().message().find("cannot decompress") != std::string::npos);
}

TEST_CASE("idx rejects different image and label counts") {
  scratch_directory dir;
  check_error(dir, images_file, idx({2}, {0, 1}), status_code::corrupt,
              "images", "has 3 images but");
  check_error(dir, images_file, idx({2}, {0, 1}), status_code::corrupt,
              "labels", "has 2 labels");
}

TEST_CASE("idx rejects a label out of range") {
  scratch_directory dir;
  check_error(dir, images_file, idx({3}, {0, 1, 10}), status_code::corrupt,
              "labels", "label 10 of sample 2 is outside [0, 10)");
  write_plain(dir.file("images"), images_file);
  write_plain(dir.file("labels"), labels_file);
  auto fewer = read_idx(dir.file("images"), dir.file("labels"), "two", 2);
  REQUIRE_FALSE(fewer.has_value());
  CHECK(fewer.error().code() == status_code::corrupt);
  CHECK(fewer.error().message().find("label 2 of sample 0 is outside [0, 2)")
        != std::string::npos);
}

TEST_CASE("idx rejects a bad class count") {
  scratch_directory dir;
  write_plain(dir.file("images"), images_file);
  write_plain(dir.file("labels"), labels_file);
  for (int classes : {0, -1, 257}) {
    auto data = read_idx(dir.file("images"), dir.file("labels"), "x", classes);
    REQUIRE_FALSE(data.has_value());
    CHECK(data.error().code() == status_code::invalid_argument);
  }
  CHECK(read_idx(dir.file("images"), dir.file("labels"), "x", 256).has_value());
}

TEST_CASE("idx rejects empty or implausibly large images") {
  scratch_directory dir;
  check_error(dir, idx({3, 0, 3}, {}), labels_file, status_code::corrupt,
              "images", "are empty");
  check_error(dir, idx({3, 70000, 70000}, {}), labels_file,
              status_code::corrupt, "images", "implausibly large");
}

TEST_CASE("fashion mnist loader uses the distributed file names") {
  scratch_directory dir;
  write_gzip(dir.file("train-images-idx3-ubyte.gz"), images_file);
  write_gzip(dir.file("train-labels-idx1-ubyte.gz"), labels_file);
  write_gzip(dir.file("t10k-images-idx3-ubyte.gz"), idx({1, 2, 3}, bytes(6)));
  auto missing = load_fashion_mnist(dir.file(""));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().code() == status_code::not_found);
  CHECK(missing.error().message().find("t10k-labels-idx1-ubyte.gz")
        != std::string::npos);
  write_gzip(dir.file("t10k-labels-idx1-ubyte.gz"), idx({1}, {9}));
  auto split = load_fashion_mnist(dir.file(""));
  REQUIRE_MESSAGE(split.has_value(), split.error().message());
  check_small_set(split->train);
  CHECK(split->train.classes == 10);
  CHECK(split->test.size() == 1);
  CHECK(split->test.labels[0] == 9);
  CHECK(split->train.name != split->test.name);
}

TEST_CASE("fashion mnist loader refuses test images of another size") {
  scratch_directory dir;
  write_gzip(dir.file("train-images-idx3-ubyte.gz"), images_file);
  write_gzip(dir.file("train-labels-idx1-ubyte.gz"), labels_file);
  // 2x2 test images against 2x3 training images.
  write_gzip(dir.file("t10k-images-idx3-ubyte.gz"), idx({1, 2, 2}, bytes(4)));
  write_gzip(dir.file("t10k-labels-idx1-ubyte.gz"), idx({1}, {9}));
  auto split = load_fashion_mnist(dir.file(""));
  REQUIRE_FALSE(split.has_value());
  CHECK(split.error().code() == status_code::corrupt);
  CHECK(split.error().message()
        == dir.file("t10k-images-idx3-ubyte.gz")
             + ": images of 4 pixels, but the training images ("
             + dir.file("train-images-idx3-ubyte.gz") + ") have 6");
}

TEST_SUITE("fashion_mnist") {
  TEST_CASE("fashion mnist loads the real files") {
    const std::string directory = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(directory)) {
      MESSAGE("no Fashion-MNIST in " << directory
                                     << ": only the error is checked");
      auto split = load_fashion_mnist(directory);
      REQUIRE_FALSE(split.has_value());
      CHECK(split.error().code() == status_code::not_found);
      CHECK(split.error().message().find(directory) != std::string::npos);
      return;
    }
    auto start = std::chrono::steady_clock::now();
    auto split = load_fashion_mnist(directory);
    std::chrono::duration<double> elapsed
      = std::chrono::steady_clock::now() - start;
    REQUIRE_MESSAGE(split.has_value(), split.error().message());
    MESSAGE("Fashion-MNIST loaded in " << elapsed.count() << " s");
    for (const dataset* data : {&split->train, &split->test}) {
      CHECK(data->inputs() == 784);
      CHECK(data->classes == 10);
      CHECK(data->features.cols() == data->labels.size());
      CHECK(data->labels.minCoeff() == 0);
      CHECK(data->labels.maxCoeff() == 9);
      // std::minmax_element: Eigen's float minCoeff trips GCC 12's
      // -Wmaybe-uninitialized under AVX-512.
      const float* first = data->features.data();
      auto [darkest, brightest]
        = std::minmax_element(first, first + data->features.size());
      CHECK(*darkest == 0.0f);
      CHECK(*brightest == 1.0f);
      // Balanced classes: 6000 and 1000 of each.
      Eigen::VectorXi counts = Eigen::VectorXi::Zero(10);
      for (Eigen::Index j = 0; j < data->labels.size(); ++j)
        ++counts[data->labels[j]];
      CHECK(counts.minCoeff() == counts.maxCoeff());
    }
    CHECK(split->train.size() == 60000);
    CHECK(split->test.size() == 10000);
    // Known first labels: ankle boot, then T-shirt; the first test image is
    // an ankle boot too.
    CHECK(split->train.labels[0] == 9);
    CHECK(split->train.labels[1] == 0);
    CHECK(split->test.labels[0] == 9);
    // Images are mostly background: mean intensity near 0.286.
    CHECK(split->train.features.mean() == doctest::Approx(0.286).epsilon(0.01));
  }
}
