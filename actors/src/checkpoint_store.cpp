#include "ormo/actors/checkpoint_store.hpp"

#include <algorithm>
#include <cstdio>
#include <system_error>
#include <utility>

#include "ormo/actors/checkpoint_file.hpp"

namespace ormo::actors {

namespace {

std::string prefix_of(const std::string& series) {
  return series + "-iteration-";
}

std::string name_of(const std::string& series,
                    optim::iteration_index iteration) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%012lld",
                static_cast<long long>(iteration));
  return prefix_of(series) + digits + ".ckpt";
}

} // namespace

std::string checkpoint_store::shard_series(std::uint32_t shard) {
  return "shard-" + std::to_string(shard);
}

checkpoint_store::checkpoint_store(std::filesystem::path directory, int keep)
  : directory_(std::move(directory)), keep_(std::max(keep, 1)) {}

status checkpoint_store::save(const std::string& series,
                              optim::iteration_index iteration,
                              const std::string& payload) const {
  std::error_code error;
  std::filesystem::create_directories(directory_, error);
  if (error)
    return status::error(status_code::io_error,
                         "checkpoint directory " + directory_.string()
                           + ": cannot create: " + error.message());
  if (auto written
      = write_checkpoint_file(directory_ / name_of(series, iteration), payload);
      !written)
    return written;
  auto existing = files(series);
  for (std::size_t k = 0; k + static_cast<std::size_t>(keep_) < existing.size();
       ++k)
    std::filesystem::remove(existing[k], error); // a leftover is harmless
  return status::ok();
}

std::vector<std::filesystem::path>
checkpoint_store::files(const std::string& series) const {
  std::vector<std::filesystem::path> result;
  std::error_code error;
  const auto prefix = prefix_of(series);
  for (const auto& entry :
       std::filesystem::directory_iterator(directory_, error)) {
    auto name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.path().extension() == ".ckpt"
        && name.size() == prefix.size() + 12 + 5)
      result.push_back(entry.path());
  }
  std::sort(result.begin(), result.end());
  return result;
}

result<checkpoint_store::found>
checkpoint_store::newest(const std::string& series,
                         std::vector<std::string>& refused) const {
  auto candidates = files(series);
  for (auto path = candidates.rbegin(); path != candidates.rend(); ++path) {
    auto payload = read_checkpoint_file(*path);
    if (payload)
      return found{*path, std::move(payload).value()};
    refused.push_back(payload.error().message());
  }
  return status::error(status_code::not_found, "no readable checkpoint of "
                                                 + series + " in "
                                                 + directory_.string());
}

result<checkpoint_store::found>
checkpoint_store::at(const std::string& series,
                     optim::iteration_index iteration) const {
  auto path = directory_ / name_of(series, iteration);
  auto payload = read_checkpoint_file(path);
  if (!payload)
    return payload.error();
  return found{path, std::move(payload).value()};
}

} // namespace ormo::actors
