#include "ormo/actors/gradient_pool.hpp"

#include <cassert>
#include <utility>

namespace ormo::actors {

gradient_pool::gradient_pool(Eigen::Index size)
  : size_(size), free_(std::make_shared<free_list>()) {
  assert(size >= 1);
}

std::shared_ptr<Eigen::VectorXf> gradient_pool::take() {
  std::unique_ptr<Eigen::VectorXf> buffer;
  {
    std::lock_guard<std::mutex> guard(free_->mutex);
    if (!free_->buffers.empty()) {
      buffer = std::move(free_->buffers.back());
      free_->buffers.pop_back();
    } else {
      ++free_->made;
    }
  }
  if (!buffer)
    buffer = std::make_unique<Eigen::VectorXf>(size_);
  auto home = free_;
  return {buffer.release(), [home](Eigen::VectorXf* returned) {
            std::unique_ptr<Eigen::VectorXf> owned(returned);
            std::lock_guard<std::mutex> guard(home->mutex);
            home->buffers.push_back(std::move(owned));
          }};
}

std::size_t gradient_pool::idle() const {
  std::lock_guard<std::mutex> guard(free_->mutex);
  return free_->buffers.size();
}

std::size_t gradient_pool::made() const {
  std::lock_guard<std::mutex> guard(free_->mutex);
  return free_->made;
}

} // namespace ormo::actors
