// Names the built-in classifiers and builds one from plain sizes (what a
// configuration file says).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "ormo/model/gradient_function.hpp"
#include "ormo/status.hpp"

namespace ormo::model {

enum class model_kind { softmax, mlp };

/// Configuration name: "softmax" or "mlp".
const char* to_string(model_kind kind);

/// Inverse of to_string; none for an unknown name.
std::optional<model_kind> parse_model_kind(std::string_view name);

/// The number of parameters of the classifier these sizes describe (the
/// sum over layers of out * (in + 1)), computed without building it and
/// saturating at UINT64_MAX. REQUIRES: sizes >= 1.
std::uint64_t classifier_dimension(int inputs, const std::vector<int>& hidden,
                                   int classes);

/// The most parameters a classifier may have: what a 32-bit signed index
/// reaches (8 GiB of floats), far more than any machine ormo runs on holds
/// in the several copies a run needs.
inline constexpr std::uint64_t max_classifier_dimension = (1ull << 31) - 1;

/// Validates the sizes and builds a softmax_regression or an mlp, or returns
/// invalid_argument naming the bad value: inputs < 1, classes < 2, a hidden
/// size < 1, or hidden sizes given for softmax (which has no hidden
/// layers), or more than max_classifier_dimension parameters (refused
/// before anything is allocated). `hidden` may be empty for mlp.
result<std::unique_ptr<gradient_function>>
make_classifier(model_kind kind, int inputs, const std::vector<int>& hidden,
                int classes);

} // namespace ormo::model
