#include "ormo/actors/resume_point.hpp"

#include <utility>

#include "ormo/actors/checkpoint_file.hpp"
#include "ormo/actors/checkpoint_store.hpp"

namespace ormo::actors {

namespace {

/// `error`, followed by the checkpoints refused on the way, one per line.
status with_refused(const status& error,
                    const std::vector<std::string>& refused) {
  auto message = error.message();
  for (const auto& line : refused)
    message += "\n  refused " + line;
  return status::error(error.code(), message);
}

/// Why `cut` cannot be shard `shard` of `plan`, or empty.
std::string misfit(const training_plan& plan, std::size_t shard,
                   const shard_checkpoint& cut) {
  const auto& part = plan.shards[shard];
  if (cut.shard != shard || cut.offset != static_cast<std::int64_t>(part.offset)
      || cut.size != static_cast<std::int64_t>(part.size))
    return "it holds values " + std::to_string(cut.offset) + " to "
           + std::to_string(cut.offset + cut.size) + " of shard "
           + std::to_string(cut.shard) + ", the run's shard "
           + std::to_string(shard) + " holds " + std::to_string(part.offset)
           + " to " + std::to_string(part.offset + part.size)
           + " (another topology or model?)";
  return {};
}

/// Why run checkpoint `run` cannot go on as `plan`, or empty.
std::string misfit(const training_plan& plan, const run_checkpoint& run) {
  for (const auto& worker : run.workers)
    if (worker.slot >= plan.workers.initial)
      return "it has a worker in slot " + std::to_string(worker.slot)
             + ", the run has " + std::to_string(plan.workers.initial)
             + " (another workers.count?)";
  return {};
}

/// Shard `shard`'s checkpoint `found`, decoded and fitted to `plan`.
result<shard_checkpoint> shard_from(const training_plan& plan,
                                    std::size_t shard,
                                    const checkpoint_store::found& found) {
  auto cut = decode_shard_checkpoint(found.payload);
  if (!cut)
    return status::error(status_code::corrupt,
                         found.path.string() + ": " + cut.error().message());
  if (auto why = misfit(plan, shard, *cut); !why.empty())
    return status::error(status_code::invalid_argument,
                         found.path.string() + ": " + why);
  return cut;
}

/// The shards of run checkpoint `run` (read from `path`).
status add_shards(const training_plan& plan, const checkpoint_store& store,
                  const run_checkpoint& run, resume_point& point) {
  if (run.shard_iterations.size() != plan.shards.size())
    return status::error(status_code::invalid_argument,
                         "it has " + std::to_string(run.shard_iterations.size())
                           + " shards, the run "
                           + std::to_string(plan.shards.size()));
  for (std::size_t s = 0; s < plan.shards.size(); ++s) {
    auto series = checkpoint_store::shard_series(static_cast<std::uint32_t>(s));
    auto found = store.at(series, run.shard_iterations[s]);
    if (!found)
      return found.error();
    auto cut = shard_from(plan, s, *found);
    if (!cut)
      return cut.error();
    point.shards.push_back(std::move(cut).value());
    point.files.push_back(found->path.string());
  }
  return status::ok();
}

result<resume_point> deterministic_point(const training_plan& plan,
                                         const checkpoint_store& store) {
  resume_point point;
  auto candidates = store.files(checkpoint_store::run_series);
  for (auto path = candidates.rbegin(); path != candidates.rend(); ++path) {
    auto refuse = [&](const std::string& why) {
      point.refused.push_back(path->string() + ": " + why);
    };
    auto payload = read_checkpoint_file(*path);
    if (!payload) {
      point.refused.push_back(payload.error().message());
      continue;
    }
    auto run = decode_run_checkpoint(*payload);
    if (!run) {
      refuse(run.error().message());
      continue;
    }
    if (auto why = misfit(plan, *run); !why.empty()) {
      refuse(why);
      continue;
    }
    point.shards.clear();
    point.files = {path->string()};
    if (auto added = add_shards(plan, store, *run, point); !added) {
      refuse("its shards: " + added.message());
      continue;
    }
    point.run = std::make_shared<const run_checkpoint>(std::move(run).value());
    return point;
  }
  return with_refused(
    status::error(status_code::not_found, "no run checkpoint to resume in "
                                            + store.directory().string()),
    point.refused);
}

/// Shard `shard`'s newest checkpoint in `store` that reads whole and fits
/// `plan`, with its file.
result<std::pair<shard_checkpoint, std::string>>
newest_of(const training_plan& plan, const checkpoint_store& store,
          std::size_t shard, std::vector<std::string>& refused) {
  auto series
    = checkpoint_store::shard_series(static_cast<std::uint32_t>(shard));
  auto found = store.newest(series, refused);
  if (!found)
    return with_refused(found.error(), refused);
  auto cut = shard_from(plan, shard, *found);
  if (!cut)
    return with_refused(cut.error(), refused);
  return std::make_pair(std::move(cut).value(), found->path.string());
}

result<resume_point> real_time_point(const training_plan& plan,
                                     const checkpoint_store& store) {
  resume_point point;
  for (std::size_t s = 0; s < plan.shards.size(); ++s) {
    auto found = newest_of(plan, store, s, point.refused);
    if (!found)
      return found.error();
    auto& [cut, file] = *found;
    // Workers start afresh, numbering their pushes from 1 again.
    cut.ledger.clear();
    point.shards.push_back(std::move(cut));
    point.files.push_back(std::move(file));
  }
  return point;
}

checkpoint_store store_of(const training_plan& plan) {
  const auto& first = plan.shards.front();
  return {first.checkpoint_directory, first.checkpoint_keep};
}

} // namespace

result<resume_point> find_resume_point(const training_plan& plan) {
  if (plan.shards.empty())
    return status::error(status_code::invalid_argument,
                         "a plan without shards");
  auto store = store_of(plan);
  return plan.deterministic ? deterministic_point(plan, store)
                            : real_time_point(plan, store);
}

result<shard_checkpoint>
newest_shard_checkpoint(const training_plan& plan, std::size_t shard,
                        std::vector<std::string>& refused) {
  auto found = newest_of(plan, store_of(plan), shard, refused);
  if (!found)
    return found.error();
  return std::move(found->first);
}

} // namespace ormo::actors
