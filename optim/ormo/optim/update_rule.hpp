// The interface every optimizer update rule implements, and the vector
// kernels they share.
//
// A server-side component drives a rule with "gradient g was computed at
// iteration index i by worker k". The rule validates the gradient, updates
// its own state (momentum u, iteration index t, arrivals n) and returns
// scalar coefficients that say what the parameters w must do. The caller
// applies them, either through place_and_apply() (u and w in the same
// process, one pass over memory) or by shipping the placement's offset_form
// with g to whoever keeps u and w (apply_step(); the rule then keeps no u:
// keep_momentum_elsewhere()).
//
// Most rules only plan scalars; their vector work lives here, so they get
// the same allocation-free, single-pass kernels. A rule whose state does not
// fit one u beside w (a momentum per worker, an accumulator) keeps vectors
// of its own and updates them in its own kernel (update_own_vectors()); its
// step then applies to a vector it hands out (placement::step_vector) in
// place of g, and it may say what the pushing worker receives instead of w
// (placement::look_ahead).
//
// Thread-safety: not thread-safe; one owner drives a rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ormo/optim/gradient_check.hpp"
#include "ormo/rejection_reason.hpp"
#include "ormo/status.hpp"

namespace ormo::optim {

/// Number of closed iterations; the version a worker pulls with.
using iteration_index = std::int64_t;

/// Who computed a gradient (the actors' worker id). Rules with state per
/// worker key it by this; the others ignore it.
using worker_id = std::uint32_t;

/// Read-only view of a gradient (an Eigen vector or a map of a buffer).
using gradient_view = Eigen::Ref<const Eigen::VectorXf>;

/// Writable view of the parameters.
using parameter_view = Eigen::Ref<Eigen::VectorXf>;

/// Why a gradient was not applied (the vocabulary all of ormo shares).
/// Servers count rejections by reason.
using ormo::rejection_reason;
using ormo::to_string;

/// What one accepted gradient g does, in this order:
///   u <- momentum_decay * u + momentum_gradient_weight * g
///   w <- w - parameter_gradient_weight * g - parameter_momentum_weight * u
/// where u is the rule's stored momentum (momentum_storage()) and the second
/// line uses its new value.
struct update_coefficients {
  float momentum_decay = 1.0f;
  float momentum_gradient_weight = 0.0f;
  float parameter_gradient_weight = 0.0f;
  float parameter_momentum_weight = 0.0f;

  bool changes_momentum() const {
    return momentum_decay != 1.0f || momentum_gradient_weight != 0.0f;
  }
  bool changes_parameters() const {
    return parameter_gradient_weight != 0.0f
           || parameter_momentum_weight != 0.0f;
  }
  bool uses_gradient() const {
    return momentum_gradient_weight != 0.0f
           || parameter_gradient_weight != 0.0f;
  }
};

/// The same step for a holder that keeps u beside w and stores w as
///   w = base - momentum_offset * u,
/// where `coefficients` move u, and the base in the place of w. OrMo
/// on_arrival is on_close's base minus the logical momentum, so an arrival
/// derives w from u and a base that moves only at closes and for stale
/// gradients, without reading the previous w. Every other rule has offset 0:
/// w is the base and the coefficients are the placement's own.
struct offset_step {
  update_coefficients coefficients;
  float momentum_offset = 0.0f;

  /// w = base - momentum_offset * u changes.
  bool changes_parameters() const {
    return coefficients.changes_parameters()
           || (momentum_offset != 0.0f && coefficients.changes_momentum());
  }
};

/// The outcome of offering one gradient to a rule.
struct placement {
  /// none when the gradient was applied; otherwise nothing changed.
  rejection_reason rejection = rejection_reason::none;
  /// Human-readable cause of a rejection (empty when accepted).
  std::string detail;
  /// Accepted only: what u and w must do (see update_coefficients).
  update_coefficients coefficients;
  /// Accepted only: the same for a holder of w = base - offset * u.
  offset_step offset_form;
  /// Accepted only: t - i at arrival, in iterations.
  iteration_index delay = 0;
  /// Accepted only: this gradient closed an iteration.
  bool closed_iteration = false;
  /// The rule's current iteration index after the call; what a worker
  /// receives with the parameters.
  iteration_index iteration = 0;
  /// Accepted only: the vector offset_form's gradient terms apply to in
  /// place of g, or null (g itself). A rule's own vector (shifted-momentum:
  /// the worker's momentum; smega2: g + beta * m); it never changes while
  /// anyone else holds it.
  std::shared_ptr<const Eigen::VectorXf> step_vector;
  /// Accepted only: the worker whose gradient this was receives
  /// w - look_ahead instead of w (smega2's estimate of the parameters one
  /// cycle ahead), or null (w). Never changes.
  std::shared_ptr<const Eigen::VectorXf> look_ahead;

  bool accepted() const { return rejection == rejection_reason::none; }

  /// What the step's gradient terms apply to: step_vector, or `gradient`.
  gradient_view step_input(gradient_view gradient) const {
    return step_vector ? gradient_view(*step_vector) : gradient;
  }
};

/// What a rule holds besides its settings: with the same settings, a rule
/// restored from it places every later gradient as the original would
/// (a checkpoint's part).
struct rule_state {
  iteration_index iteration = 0;
  int arrivals = 0;
  int iteration_size = 1;
  float deferred_decay = 1.0f;
  /// The stored momentum; empty for rules without momentum and once kept
  /// elsewhere.
  Eigen::VectorXf momentum;
  /// The rule's own vectors in its order (smega2: the momentum m, then the
  /// accumulator G); empty for the other rules.
  std::vector<Eigen::VectorXf> own_vectors;
  /// One vector per worker (shifted-momentum: each worker's momentum);
  /// empty for the other rules.
  std::map<worker_id, Eigen::VectorXf> worker_vectors;
};

/// Base of all update rules. See the file comment for the protocol.
class update_rule {
public:
  virtual ~update_rule();

  update_rule(const update_rule&) = delete;
  update_rule& operator=(const update_rule&) = delete;

  /// Algorithm name as used in configuration files, e.g. "ormo-da".
  virtual const char* name() const = 0;

  /// True when a worker's push must be answered only once the iteration it
  /// joined closes (the barrier of the synchronous reference), so that no
  /// worker computes at an iteration before it is complete. False for the
  /// asynchronous rules, whose pushes are answered at once.
  virtual bool holds_pushes_until_close() const;

  /// Validates g (dimension, finite values) and i, then updates the momentum
  /// (unless kept elsewhere), the rule's own vectors and the iteration
  /// state; `worker` computed g. The caller must then apply the returned
  /// offset_form with apply_step() to the placement's step_input(g) before
  /// the next call. On rejection nothing changed. Never allocates when
  /// accepting, except a rule's own vectors: a worker's first, or a buffer
  /// for the next values while someone still holds a step_vector or
  /// look_ahead handed out before.
  placement place(gradient_view gradient, iteration_index computed_at,
                  worker_id worker = 0);

  /// As place(gradient_view, ...) for a gradient checked where it entered
  /// the process: the hot path reads it once.
  placement place(const checked_gradient& gradient, iteration_index computed_at,
                  worker_id worker = 0);

  /// As place(), and applies the parameter step to `parameters` in the same
  /// pass over memory (rules with vectors of their own: after their own
  /// pass). REQUIRES: parameters.size() == dimension().
  placement place_and_apply(gradient_view gradient, iteration_index computed_at,
                            parameter_view parameters, worker_id worker = 0);

  placement place_and_apply(const checked_gradient& gradient,
                            iteration_index computed_at,
                            parameter_view parameters, worker_id worker = 0);

  /// `worker` joins: a rule with a vector per worker creates it (zero),
  /// unless it has one already. Other rules ignore it.
  void join(worker_id worker);

  /// `worker` leaves: a rule with a vector per worker drops it. Other rules
  /// ignore it. A later push of the same id starts from zero again.
  void leave(worker_id worker);

  /// Workers that have a vector of their own now (0 for rules without).
  std::size_t worker_vector_count() const { return worker_vectors_.size(); }

  /// The vector work of an offset_form `step` for a holder of u and w, in
  /// one pass over memory (c = step.coefficients):
  ///   u         <- as c says (momentum may be empty when it never moves)
  ///   base      <- from - c.parameter_gradient_weight * g
  ///                     - c.parameter_momentum_weight * u
  ///   published <- base - step.momentum_offset * u   (skipped when empty)
  /// `base` is written only when the step moves it or `from` is another
  /// buffer of the same size (copy-on-write); `from` may alias `base`. With
  /// `from` and `base` empty only u moves (a step that leaves w alone).
  static void apply_step(const offset_step& step, gradient_view gradient,
                         parameter_view momentum, gradient_view from,
                         parameter_view base, parameter_view published);

  /// For a caller that keeps u beside w and applies offset_form with
  /// apply_step(): the rule frees its u; place() and close_iteration() then
  /// only validate and plan. place_and_apply() must not be called after it.
  /// The rule's own vectors stay with it: the holder of w only reads the
  /// step_vector and look_ahead it hands out.
  void keep_momentum_elsewhere() { momentum_.resize(0); }

  /// The stored momentum the parameter step refers to. Its logical value is
  /// momentum(); the two differ by a decay deferred to the next arrival.
  /// Empty for rules without momentum.
  const Eigen::VectorXf& momentum_storage() const;

  /// The momentum u as the algorithm defines it (a copy).
  Eigen::VectorXf momentum() const;

  /// Number of parameters.
  std::size_t dimension() const { return dimension_; }

  /// Current iteration index t.
  iteration_index iteration() const { return iteration_; }

  /// Gradients accepted in the current iteration (n).
  int arrivals_in_iteration() const { return arrivals_; }

  /// K, the number of gradients that close an iteration of the ordered
  /// rules; the delay threshold unit of ASGD-DA.
  int iteration_size() const { return iteration_size_; }

  /// Changes K, e.g. when workers join or leave. Takes effect at the next
  /// arrival: an iteration that already holds K or more gradients closes then.
  /// REQUIRES: size >= 1.
  void set_iteration_size(int size);

  /// Closes the open iteration now, without a new gradient, when it holds
  /// at least iteration_size() gradients (K shrank below what it holds)
  /// and the rule closes every K arrivals; needed by the synchronous
  /// reference, whose waiting workers send no further arrival. The returned
  /// coefficients have no gradient terms: apply them with an empty gradient.
  /// Otherwise returns closed_iteration = false and changes nothing.
  placement close_iteration();

  /// Learning-rate warm-up: a gradient arriving in iteration t < iterations
  /// counts with weight (t + 1) / iterations (its momentum and parameter
  /// contributions are scaled, as if eta were). 0 turns it off (default).
  void set_warmup(iteration_index iterations) { warmup_ = iterations; }

  /// Gradients that close an iteration: 1 for the per-arrival rules (ASGD,
  /// ASGD-DA, naive ASGDm), iteration_size() for the ordered ones.
  int arrivals_per_iteration() const;

  /// The rule's state now (see rule_state).
  rule_state state() const;

  /// Takes over `state` (e.g. a checkpoint's), or refuses it and changes
  /// nothing: a negative iteration index or arrival count, K < 1, a decay
  /// or a vector that is not finite, a momentum of another size than the
  /// one this rule stores (0 when it stores none), or own or per-worker
  /// vectors this rule does not keep or of another size than dimension().
  status restore(const rule_state& state);

protected:
  /// What a subclass returns for one admitted gradient.
  struct plan {
    /// Coefficients relative to the logical momentum (the base folds in a
    /// deferred decay).
    update_coefficients coefficients;
    /// Set when w is a base moved by these parameter weights minus the
    /// logical momentum (OrMo on_arrival: on_close's weights); see
    /// offset_step.
    std::optional<update_coefficients> base_minus_momentum;
    /// Decay of the logical momentum that takes effect after this step and
    /// is applied lazily, fused into the next arrival's momentum pass.
    float deferred_decay = 1.0f;
  };

  /// How a rule's iterations close.
  enum class closing {
    every_arrival,    ///< Each accepted gradient is one iteration.
    every_k_arrivals, ///< K accepted gradients make one iteration.
  };

  /// The vectors a rule keeps of its own, besides u.
  struct own_vectors {
    /// How many shared by all workers (own_vector()).
    int count = 0;
    /// One per worker (worker_vector()).
    bool per_worker = false;

    bool any() const { return count > 0 || per_worker; }
  };

  /// A rule without momentum never allocates or touches u.
  update_rule(std::size_t dimension, int iteration_size, closing closing,
              bool uses_momentum);

  /// A rule with vectors of its own (zero at the start).
  update_rule(std::size_t dimension, int iteration_size, closing closing,
              bool uses_momentum, own_vectors own);

  /// Accepts or refuses a gradient of delay t - i >= 0 (e.g. SSGDm refuses
  /// any delay). Fills `detail` when refusing.
  virtual rejection_reason admit(iteration_index delay,
                                 std::string& detail) const;

  /// Scalar planning of one admitted gradient: `delay` = t - i, `closes` is
  /// true when this gradient closes iteration t. For a rule with vectors of
  /// its own the gradient terms apply to its step_vector, and the warm-up
  /// does not scale them (update_own_vectors() weighs g itself).
  virtual plan plan_for(iteration_index delay, bool closes) const = 0;

  /// One arrival (or an early close) as a rule's own vectors see it.
  struct own_update {
    /// g's values (dimension() of them); null for an early close.
    const float* gradient = nullptr;
    worker_id worker = 0;
    /// g counts with this weight (the warm-up's; 1 without).
    float gradient_weight = 1.0f;
    /// Gradients the open iteration held before this one.
    int held = 0;
    /// This arrival closes the iteration.
    bool closes = false;
  };

  /// What the own pass hands out (see placement).
  struct own_result {
    std::shared_ptr<const Eigen::VectorXf> step_vector;
    std::shared_ptr<const Eigen::VectorXf> look_ahead;
  };

  /// The vector work of a rule with vectors of its own, once per accepted
  /// gradient or early close, before t and n move (iteration_size() is the
  /// K in force). Rules without own vectors are never asked.
  virtual own_result update_own_vectors(const own_update& update);

  /// Own vector `index` (< own_vectors::count), dimension() values. Never
  /// handed out: write to it at will.
  Eigen::VectorXf& own_vector(int index) { return *own_[index]; }
  const Eigen::VectorXf& own_vector(int index) const { return *own_[index]; }

  /// `worker`'s vector, or null when it has none.
  std::shared_ptr<const Eigen::VectorXf>
  find_worker_vector(worker_id worker) const;

  /// `worker`'s vector (created, zero, when it has none). REQUIRES: the
  /// rule keeps one per worker. It may be handed out: write to it only
  /// through make_writable().
  std::shared_ptr<Eigen::VectorXf>& worker_vector(worker_id worker);

  /// Where to write `slot`'s next values: the slot's own buffer when nobody
  /// else holds it, otherwise a new one of the same size that replaces it in
  /// the slot (copy-on-write). Returns the previous values, to read while
  /// writing: the same buffer, or the old one kept alive by the result.
  static std::shared_ptr<const Eigen::VectorXf>
  make_writable(std::shared_ptr<Eigen::VectorXf>& slot);

private:
  /// Validation and the scalar state change of a gradient of `size`
  /// values whose first non-finite value is at `first_non_finite` (`size`
  /// when all are finite), then the own pass of a rule with vectors of
  /// its own over `values` (g's, read only once accepted).
  placement offer(std::size_t size, std::size_t first_non_finite,
                  iteration_index computed_at, worker_id worker,
                  const float* values);

  /// The vector work of an accepted placement: u, and w in the same pass.
  void apply_fused(const update_coefficients& c, gradient_view gradient,
                   parameter_view parameters);

  /// u <- decay * u + weight * g, skipped when it is the identity.
  void update_momentum(const update_coefficients& c, gradient_view gradient);

  std::size_t dimension_;
  int iteration_size_;
  closing closing_;
  /// Empty for rules without momentum and once kept elsewhere.
  Eigen::VectorXf momentum_;
  float deferred_decay_ = 1.0f;
  iteration_index warmup_ = 0;
  iteration_index iteration_ = 0;
  int arrivals_ = 0;
  own_vectors own_spec_;
  /// own_spec_.count vectors, each of dimension_ values.
  std::vector<std::shared_ptr<Eigen::VectorXf>> own_;
  /// Per worker (own_spec_.per_worker), each of dimension_ values.
  std::map<worker_id, std::shared_ptr<Eigen::VectorXf>> worker_vectors_;
};

} // namespace ormo::optim
