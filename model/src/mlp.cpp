#include "ormo/model/mlp.hpp"

#include <cmath>
#include <utility>

#include "ormo/random.hpp"

namespace ormo::model {

mlp::mlp(int inputs, std::vector<int> hidden, int classes)
  : network_(inputs, std::move(hidden), classes) {}

std::size_t mlp::dimension() const {
  return network_.dimension();
}

Eigen::VectorXf mlp::initial_parameters(std::uint64_t seed) const {
  Eigen::VectorXf parameters
    = Eigen::VectorXf::Zero(static_cast<Eigen::Index>(dimension()));
  random_source random(seed);
  const auto& layers = network_.layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const layer_layout& layer = layers[l];
    const bool output_layer = l + 1 == layers.size();
    const double fan
      = output_layer ? 0.5 * (layer.inputs + layer.outputs) : layer.inputs;
    const double deviation = std::sqrt(2.0 / fan);
    for (std::size_t i = layer.weight_offset; i < layer.bias_offset; ++i)
      parameters[static_cast<Eigen::Index>(i)]
        = static_cast<float>(deviation * random.normal());
  }
  return parameters;
}

float mlp::loss_and_gradient(Eigen::Ref<const Eigen::VectorXf> parameters,
                             const data::minibatch& batch,
                             Eigen::Ref<Eigen::VectorXf> gradient) {
  return network_.loss_and_gradient(parameters, batch.features, batch.labels,
                                    gradient);
}

evaluation mlp::evaluate(Eigen::Ref<const Eigen::VectorXf> parameters,
                         const Eigen::Ref<const Eigen::MatrixXf>& features,
                         const Eigen::Ref<const Eigen::VectorXi>& labels) {
  return network_.evaluate(parameters, features, labels);
}

std::unique_ptr<gradient_function> mlp::clone() const {
  return std::make_unique<mlp>(network_.inputs(), network_.hidden(),
                               network_.classes());
}

} // namespace ormo::model
