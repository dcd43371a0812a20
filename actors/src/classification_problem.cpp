#include "ormo/actors/classification_problem.hpp"

#include <algorithm>

#include "ormo/data/idx_reader.hpp"
#include "ormo/data/shard.hpp"
#include "ormo/data/synthetic.hpp"
#include "ormo/model/classifier_source.hpp"
#include "ormo/model/make_classifier.hpp"
#include "ormo/random.hpp"

namespace ormo::actors {

namespace {

result<data::train_test_split> load_data(const config::run_config& run) {
  const auto& d = run.data;
  if (d.source == config::data_source::fashion_mnist)
    return data::load_fashion_mnist(d.path);
  data::synthetic_settings settings;
  settings.inputs = d.inputs;
  settings.classes = d.classes;
  settings.train_samples = static_cast<std::size_t>(d.train_samples);
  settings.test_samples = static_cast<std::size_t>(d.test_samples);
  settings.noise = d.noise;
  settings.informative = std::min(settings.informative, d.inputs);
  settings.seed = run.run.seed;
  return data::make_synthetic(settings);
}

} // namespace

result<training_problem>
make_classification_problem(const config::run_config& run) {
  auto loaded = load_data(run);
  if (!loaded)
    return loaded.error();
  auto train = std::make_shared<const data::dataset>(std::move(loaded->train));
  auto test = std::make_shared<const data::dataset>(std::move(loaded->test));
  auto made = model::make_classifier(run.model.kind, train->inputs(),
                                     run.model.hidden, train->classes);
  if (!made)
    return made.error();
  std::shared_ptr<const model::gradient_function> prototype
    = std::move(made).value();
  training_problem problem;
  const auto seed = run.run.seed;
  problem.initial_parameters = prototype->initial_parameters(seed);
  problem.samples_per_epoch = train->size();
  const auto batch_size = static_cast<std::size_t>(run.model.batch_size);
  problem.batch_size = batch_size;
  auto partition
    = std::make_shared<const data::sample_partition>(train->size(), seed);
  problem.make_source
    = [prototype, train, partition, seed, batch_size](
        std::size_t slot,
        std::size_t slots) -> result<std::shared_ptr<model::gradient_source>> {
    // Workers added later share the initial workers' shards.
    auto shards = std::max<std::size_t>(slots, 1);
    auto indices = partition->shard(slot % shards, shards);
    if (!indices)
      return indices.error();
    auto source = model::classifier_source::make(
      prototype->clone(), train, std::move(indices).value(), batch_size,
      random_source::derive_seed(seed, slot));
    if (!source)
      return source.error();
    return std::shared_ptr<model::gradient_source>(std::move(source).value());
  };
  auto evaluator
    = std::shared_ptr<model::gradient_function>(prototype->clone());
  problem.evaluate = [evaluator, test](const Eigen::VectorXf& parameters) {
    return evaluator->evaluate(parameters, test->features, test->labels);
  };
  return problem;
}

} // namespace ormo::actors
