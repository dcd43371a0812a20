#include "ormo/model/softmax_regression.hpp"

namespace ormo::model {

softmax_regression::softmax_regression(int inputs, int classes)
  : network_(inputs, {}, classes) {}

std::size_t softmax_regression::dimension() const {
  return network_.dimension();
}

Eigen::VectorXf softmax_regression::initial_parameters(std::uint64_t) const {
  return Eigen::VectorXf::Zero(static_cast<Eigen::Index>(dimension()));
}

float softmax_regression::loss_and_gradient(
  Eigen::Ref<const Eigen::VectorXf> parameters, const data::minibatch& batch,
  Eigen::Ref<Eigen::VectorXf> gradient) {
  return network_.loss_and_gradient(parameters, batch.features, batch.labels,
                                    gradient);
}

evaluation
softmax_regression::evaluate(Eigen::Ref<const Eigen::VectorXf> parameters,
                             const Eigen::Ref<const Eigen::MatrixXf>& features,
                             const Eigen::Ref<const Eigen::VectorXi>& labels) {
  return network_.evaluate(parameters, features, labels);
}

std::unique_ptr<gradient_function> softmax_regression::clone() const {
  return std::make_unique<softmax_regression>(inputs(), classes());
}

} // namespace ormo::model
