// checkpoint_file: the envelope of every checkpoint file, written so that a
// crash never leaves half of one, and read so that a damaged one is refused
// with the file named, before anything is allocated for it.
//
// Layout: "ORMOCKPT" (8 bytes), the format version (uint32), the payload's
// size in bytes (uint64), the payload's CRC-32 (uint32), all little-endian,
// then the payload.
//
// Plain C++ and POSIX (no CAF).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "ormo/status.hpp"

namespace ormo::actors {

/// The format this build writes and reads (2: the shard's counters keep
/// the delays of its accepted gradients; 3: a shard's rule state carries
/// the rule's own and per-worker vectors).
constexpr std::uint32_t checkpoint_format_version = 3;

/// Bytes before the payload.
constexpr std::size_t checkpoint_header_size = 24;

/// Writes `payload` in its envelope to `path`: into a temporary file beside
/// it, flushed to disk, renamed over `path`, and the directory flushed. On
/// failure `path` is unchanged and the temporary file removed.
status write_checkpoint_file(const std::filesystem::path& path,
                             const std::string& payload);

/// The payload of the checkpoint `path`, or why it is refused (the message
/// names the file): missing or unreadable, not a checkpoint, another format
/// version, truncated or with bytes past its payload, or a checksum that
/// does not match.
result<std::string> read_checkpoint_file(const std::filesystem::path& path);

} // namespace ormo::actors
