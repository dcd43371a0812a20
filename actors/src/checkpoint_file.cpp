#include "ormo/actors/checkpoint_file.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ormo/whole_file.hpp"

namespace ormo::actors {

namespace {

constexpr char magic[8] = {'O', 'R', 'M', 'O', 'C', 'K', 'P', 'T'};

template <class T>
void put_little_endian(char* out, T value) {
  for (std::size_t k = 0; k < sizeof(T); ++k)
    out[k] = static_cast<char>((value >> (8 * k)) & 0xff);
}

template <class T>
T get_little_endian(const char* in) {
  T value = 0;
  for (std::size_t k = 0; k < sizeof(T); ++k)
    value |= static_cast<T>(static_cast<unsigned char>(in[k])) << (8 * k);
  return value;
}

std::uint32_t crc_of(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  std::size_t left = bytes.size();
  while (left > 0) { // crc32 takes at most uInt bytes at a time
    auto piece = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
    crc = crc32(crc, data, piece);
    data += piece;
    left -= piece;
  }
  return static_cast<std::uint32_t>(crc);
}

/// `error`: the system's error number (errno by default).
status io_failure(const std::filesystem::path& path, const char* what,
                  int error = errno) {
  return status::error(status_code::io_error,
                       "checkpoint " + path.string() + ": " + what + ": "
                         + std::strerror(error));
}

/// Reads exactly `size` bytes from `fd`.
bool read_all(int fd, char* bytes, std::size_t size) {
  while (size > 0) {
    auto got = ::read(fd, bytes, size);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      return false;
    bytes += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

/// Closes a descriptor on every path.
struct descriptor {
  int fd;
  ~descriptor() {
    if (fd >= 0)
      ::close(fd);
  }
};

} // namespace

status write_checkpoint_file(const std::filesystem::path& path,
                             const std::string& payload) {
  std::array<char, checkpoint_header_size> header{};
  std::memcpy(header.data(), magic, sizeof magic);
  put_little_endian<std::uint32_t>(header.data() + 8,
                                   checkpoint_format_version);
  put_little_endian<std::uint64_t>(header.data() + 12, payload.size());
  put_little_endian<std::uint32_t>(header.data() + 20, crc_of(payload));
  auto temporary = path;
  temporary += ".tmp-" + std::to_string(::getpid());
  if (auto failed = write_whole_file(
        path, temporary,
        {std::string_view(header.data(), header.size()), payload})) {
    return io_failure(temporary, failed.step, failed.error);
  }
  auto directory = path.parent_path().empty() ? std::filesystem::path{"."}
                                              : path.parent_path();
  descriptor folder{::open(directory.c_str(), O_RDONLY | O_CLOEXEC)};
  if (folder.fd < 0 || ::fsync(folder.fd) != 0)
    return io_failure(directory, "cannot flush the directory");
  return status::ok();
}

result<std::string> read_checkpoint_file(const std::filesystem::path& path) {
  auto corrupt = [&](const std::string& why) {
    return status::error(status_code::corrupt,
                         "checkpoint " + path.string() + ": " + why);
  };
  descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0)
    return errno == ENOENT
             ? status::error(status_code::not_found,
                             "checkpoint " + path.string() + ": no such file")
             : io_failure(path, "cannot open");
  struct stat info {};
  if (::fstat(file.fd, &info) != 0)
    return io_failure(path, "cannot read its size");
  const auto size = static_cast<std::uint64_t>(info.st_size);
  if (size < checkpoint_header_size)
    return corrupt("truncated: " + std::to_string(size)
                   + " bytes, a checkpoint's header alone has "
                   + std::to_string(checkpoint_header_size));
  std::array<char, checkpoint_header_size> header{};
  if (!read_all(file.fd, header.data(), header.size()))
    return io_failure(path, "cannot read");
  if (std::memcmp(header.data(), magic, sizeof magic) != 0)
    return corrupt("not an ormo checkpoint");
  auto version = get_little_endian<std::uint32_t>(header.data() + 8);
  if (version != checkpoint_format_version)
    return corrupt("format version " + std::to_string(version)
                   + ", this build reads version "
                   + std::to_string(checkpoint_format_version));
  auto declared = get_little_endian<std::uint64_t>(header.data() + 12);
  auto held = size - checkpoint_header_size;
  if (declared != held)
    return corrupt((declared > held ? "truncated: " : "bytes past the end: ")
                   + std::to_string(held) + " bytes of payload, its header "
                   + "says " + std::to_string(declared));
  std::string payload(held, '\0');
  if (!read_all(file.fd, payload.data(), payload.size()))
    return io_failure(path, "cannot read");
  auto stored = get_little_endian<std::uint32_t>(header.data() + 20);
  if (crc_of(payload) != stored)
    return corrupt("checksum mismatch: the payload was damaged");
  return payload;
}

} // namespace ormo::actors
