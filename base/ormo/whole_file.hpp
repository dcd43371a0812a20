// whole_file: writing a file so that a crash leaves its previous content or
// the new one, never a part of it. POSIX.
#pragma once

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace ormo {

/// Why write_whole_file failed: the step and the system's error number.
struct whole_file_failure {
  /// "cannot create", "cannot write", "cannot flush to disk" or "cannot
  /// rename into place"; null when nothing failed.
  const char* step = nullptr;
  int error = 0;

  explicit operator bool() const { return step != nullptr; }
};

/// Writes `pieces`, one after another, into `temporary` (created or
/// truncated), flushes it to disk and renames it over `path`. On failure
/// `path` is unchanged and `temporary` removed.
inline whole_file_failure
write_whole_file(const std::filesystem::path& path,
                 const std::filesystem::path& temporary,
                 std::initializer_list<std::string_view> pieces) {
  int fd
    = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0)
    return {"cannot create", errno};
  whole_file_failure failure;
  for (auto piece : pieces) {
    const char* data = piece.data();
    std::size_t left = piece.size();
    while (left > 0 && !failure) {
      auto written = ::write(fd, data, left);
      if (written < 0 && errno == EINTR)
        continue;
      if (written <= 0) {
        failure = {"cannot write", written < 0 ? errno : ENOSPC};
      } else {
        data += written;
        left -= static_cast<std::size_t>(written);
      }
    }
  }
  if (!failure && ::fsync(fd) != 0)
    failure = {"cannot flush to disk", errno};
  if (::close(fd) != 0 && !failure)
    failure = {"cannot write", errno};
  if (!failure && std::rename(temporary.c_str(), path.c_str()) != 0)
    failure = {"cannot rename into place", errno};
  if (failure)
    ::unlink(temporary.c_str());
  return failure;
}

} // namespace ormo
