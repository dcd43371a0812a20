// Names the built-in classifiers and builds one from plain sizes (what a
// configuration file says).
#pragma once

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

/// Validates the sizes and builds a softmax_regression or an mlp, or returns
/// invalid_argument naming the bad value: inputs < 1, classes < 2, a hidden
/// size < 1, or hidden sizes given for softmax (which has no hidden
/// layers). `hidden` may be empty for mlp.
result<std::unique_ptr<gradient_function>>
make_classifier(model_kind kind, int inputs, const std::vector<int>& hidden,
                int classes);

} // namespace ormo::model
