#pragma once
// ctgrad/eval/plan.hpp: compiled evaluation plans, reusable across calls.
//
//   auto plan = ctgrad::compile<float>(ctgrad::exprs(y, dx, dgamma, dbeta));
//   plan.run(std::tuple{y_view, dx_view, dgamma_view, dbeta_view},        // caller-owned outputs
//            ctgrad::bind(x, x_view), ctgrad::bind(dy, dy_view), ...);
//   plan.run(...);   // again, on new data: no allocation when the extents are unchanged
//
// The loops are decided at compile time (eval/schedule.hpp): reductions are barriers between
// passes, elementwise work is fused into the loops that read it, reductions over the same
// domain in the same pass share one loop. A loop walks its domain row by row; the innermost
// axis is a plain counted loop over contiguous memory in which every operand is read at
// stride 1 or 0 (broadcast), known at compile time, so the compiler vectorizes it.
// On one thread, consecutive loops over the same rows whose later loops read only per-row
// values of the earlier ones (layer norm's and softmax's passes) run block of rows by block of
// rows as a chain (executor::chain_start), so that a row comes from memory once.
// Before planning, products are regrouped so that factors constant along a loop's rows are
// multiplied once per feature (eval/hoist.hpp).
// Float data: sums, the loops that compute what is summed, and loops over statistics (domains
// with an axis of extent 1) compute in double (the accumulator type), so that a mean or a
// deviation stored between passes keeps its precision; so do loops over whole data that read
// such a statistic (a per-feature coefficient may be outside float's range while the result is
// not); the other loops over whole data compute in float.
// Run-time extents are checked for every node before anything is computed or written; a
// mismatch throws ctgrad::shape_error naming the inputs, axes and extents.
//
// The parts, one job per header: eval/schedule.hpp (the plan as constexpr tables),
// eval/plan_tables.hpp (a graph's node tables), eval/kernel.hpp (the fused loop kernel),
// eval/loops.hpp (loop descriptions), eval/binding_checks.hpp (bindings, extents, overlaps),
// eval/executor.hpp (a plan's state and run); this header keeps `plan` and `compile`.
#include <atomic>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <fmt/format.h>

#include "ctgrad/eval/executor.hpp"

// Clang reports loops the fused kernel asked to vectorize but could not at the code inlined
// into them, which may be here: warnings a user cannot act on, silenced as in eval/kernel.hpp.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

namespace ctgrad {

/// Thrown when a plan is run (or its threads changed) while another thread is running it: a
/// plan's buffers belong to one run at a time. Use one plan per thread (compile is free: the
/// plan is decided at compile time; each plan keeps its own buffers).
struct concurrent_use_error : std::logic_error {
  using std::logic_error::logic_error;
};

namespace detail {
/// A plan's "a run is in progress" flag: run(), operator() and set_threads() take it for their
/// duration (released on return and on an exception), and throw concurrent_use_error when it is
/// taken. Copying or moving a plan gives a fresh flag (a plan copied in use is not in use).
class in_use_flag {
 public:
  in_use_flag() = default;
  in_use_flag(const in_use_flag&) noexcept {}
  in_use_flag& operator=(const in_use_flag&) noexcept { return *this; }

  /// Holds the flag from construction to destruction.
  class guard {
   public:
    guard(in_use_flag& f, const char* what) : f_(f) {
      if (f_.busy_.exchange(true, std::memory_order_acquire))
        throw concurrent_use_error(fmt::format(
            "ctgrad::plan::{}: the plan is being run by another thread; a plan runs one call at a time "
            "(compile one plan per thread)",
            what));
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { f_.busy_.store(false, std::memory_order_release); }

   private:
    in_use_flag& f_;
  };

 private:
  std::atomic<bool> busy_{false};
};
}  // namespace detail

/// A compiled evaluation of the expressions `Es...` on element type T (float or double): the
/// loops are fixed at compile time, the buffers are kept between calls.
///
///   auto plan = ctgrad::compile<float>(ctgrad::exprs(y, dx));
///   plan.run(std::tuple{y_out, dx_out}, ctgrad::bind(x, xv), ctgrad::bind(dy, dyv));
template <class T, class... Es>
class plan {
  static_assert(std::is_same<T, float>::value || std::is_same<T, double>::value, "ctgrad::compile<T>(): T must be float or double");
  // What the loops compute: Es with products regrouped (eval/hoist.hpp); the same values.
  using state_t = detail::executor<T, topological_order_t<hoisted_t<Es>...>, type_list<hoisted_t<Es>...>>;
  state_t state_;
  detail::in_use_flag in_use_;

 public:
  using value_type = T;
  using schedule_type = detail::plan_of<topological_order_t<hoisted_t<Es>...>, type_list<hoisted_t<Es>...>>;

  /// Evaluates into caller-owned views, one per expression (extents must equal the results').
  /// Every extent is checked, and outputs are checked not to overlap the inputs or each other,
  /// before anything is written. Allocates only when a buffer has to grow.
  ///
  /// One call at a time: a call while another thread runs the same plan throws
  /// concurrent_use_error (nothing of either run is disturbed). An exception thrown while the
  /// loops run (by an op, on any of the plan's threads) reaches the caller after every helper
  /// thread has finished its part; the outputs are then partly written, and the plan can be
  /// run again.
  template <class... Vs, class... Bs>
  void run(const std::tuple<Vs...>& outs, const Bs&... bindings) {
    static_assert(sizeof...(Vs) == sizeof...(Es), "ctgrad::plan::run(): one output view per expression");
    static_assert(((Es::shape.rank == Vs::rank) && ...), "ctgrad::plan::run(): an output view has the wrong rank");
    prepared("run()", bindings...)([&] {
      check_extents(outs, std::index_sequence_for<Es...>{});
      check_no_overlap(outs, bindings...);
      state_.run(outs);
    });
  }

  /// Evaluates into new tensors, returned as a std::tuple (one per expression).
  template <class... Bs>
  auto operator()(const Bs&... bindings) {
    return owned_results<false>("operator()", bindings...);
  }

  /// As operator(), with the fused loops interpreted from the plan's tables (eval/interpret.hpp)
  /// rather than run by their compiled kernels: every node computed in double, sums in order.
  /// Tens of times slower, and the loops cost no compile time: for checks on small
  /// inputs (ctgrad::interpret, doc::verify). A plan whose operator() or run() is never called
  /// compiles none of its loops.
  template <class... Bs>
  auto interpret(const Bs&... bindings) {
    return owned_results<true>("interpret()", bindings...);
  }
  /// As interpret(), each result as a dynamic_tensor (extents known at run time), in a vector:
  /// what a check comparing many results wants, without a std::tuple of them to compile.
  template <class... Bs>
  [[gnu::cold]] std::vector<dynamic_tensor<T>> interpret_values(const Bs&... bindings) {
    return prepared("interpret_values()", bindings...)([&] {
      std::vector<dynamic_tensor<T>> results;
      std::array<T*, sizeof...(Es)> out{};
      for (std::size_t k = 0; k < sizeof...(Es); ++k) {
        results.push_back(state_.dynamic_output(k));
        out[k] = results[k].values.data();
      }
      state_.run_interpreted(out.data());
      return results;
    });
  }

  /// Splits the large loops over `n` threads (the caller's and n - 1 helper threads, started
  /// here and kept until the plan is destroyed). Loops over at least 2^15 elements are split by
  /// rows when they sum nothing, by columns of their innermost axis when they sum along outer
  /// axes only; results are the same as on one thread, bit for bit (each sum runs in the same
  /// order). Called while another thread runs the plan, it throws concurrent_use_error and
  /// changes nothing (the running call keeps its threads).
  void set_threads(std::size_t n) {
    const detail::in_use_flag::guard busy(in_use_, "set_threads()");
    state_.team = n > 1 ? std::make_unique<detail::thread_team>(n - 1) : nullptr;
  }
  [[nodiscard]] std::size_t threads() const { return state_.team ? state_.team->size() : 1; }

  /// Bytes read and written by the loops of the last run, each array counted once per loop.
  [[nodiscard]] std::size_t bytes_moved() const { return state_.bytes; }

  /// GEMM calls of the last run: contractions that went through BLAS (ctgrad::blas linked and
  /// letters and strides that map to GEMM; eval/contraction.hpp). 0 when every one ran ctgrad's loop.
  [[nodiscard]] std::size_t gemm_calls() const { return state_.gemm_calls; }

  /// Number of loops of the plan.
  static constexpr std::size_t loop_count() { return schedule_type::sched.loop_count; }
  /// Number of passes (loops separated by reductions).
  static constexpr std::size_t pass_count() { return static_cast<std::size_t>(schedule_type::sched.passes); }
  /// Number of loops that read all of input `name` (each loop reads an array once; a copy of
  /// a slice, such as first<0>(x), does not count).
  static constexpr std::size_t passes_over(std::string_view name) {
    return count_reading(name, std::make_index_sequence<schedule_type::sched.loop_count>{});
  }

 private:
  /// Every binding names an input of the expressions: a misspelled or left-over binding does
  /// not compile, and the error spells its name and the inputs that are used.
  template <class... Bs>
  static constexpr void check_all_used() {
    if constexpr ((is_binding<Bs>::value && ...)) (check_used<Bs>(std::make_index_sequence<state_t::input_count>{}), ...);
  }
  template <class B, std::size_t... K>
  static constexpr void check_used(std::index_sequence<K...>) {
    using nodes = typename state_t::nodes;
    if constexpr (!B::may_be_unused && !((nodes::template type<state_t::input_places[K]>::name == B::name) || ...))
      static_assert(sizeof(binding_names_no_input_of_the_expressions<
                           detail::spelled_t<B::name>, detail::spelled_t<nodes::template type<state_t::input_places[K]>::name>...>) > 0);
  }

  /// operator() and interpret(): new tensors, filled by the compiled or the interpreted loops.
  template <bool Interpreted, class... Bs>
  std::tuple<tensor<T, Es::shape.rank>...> owned_results(const char* what, const Bs&... bindings) {
    return prepared(what, bindings...)([&] {
      std::tuple<tensor<T, Es::shape.rank>...> results = make_results(std::index_sequence_for<Es...>{});
      std::apply([&](auto&... r) {
        if constexpr (Interpreted) {
          const std::array<T*, sizeof...(Es)> out{r.data()...};
          state_.run_interpreted(out.data());
        } else {
          state_.run(std::tuple{r.as_view()...});
        }
      }, results);
      return results;
    });
  }

  /// What every entry point does first: the bindings checked (at compile time), the plan taken
  /// for this call (concurrent_use_error otherwise), the inputs bound and every extent inferred
  /// and checked, the buffers sized. Returns a callable that runs `body` while the plan is
  /// held: prepared(what, bindings...)([&] { ... }).
  template <class... Bs>
  auto prepared(const char* what, const Bs&... bindings) {
    detail::check_bindings<Bs...>();
    check_all_used<Bs...>();
    return [this, what, &bindings...](auto&& body) {
      const detail::in_use_flag::guard busy(in_use_, what);
      prepare(bindings...);
      return body();
    };
  }

  template <std::size_t... K>
  std::tuple<tensor<T, Es::shape.rank>...> make_results(std::index_sequence<K...>) const {
    return {tensor<T, Es::shape.rank>(state_.template extents_of_output<Es::shape.rank>(K))...};
  }

  /// Throws shape_error when an output view's extents differ from its result's. The message
  /// shows the expression as the plan computes it, from the executor's text table (products
  /// regrouped, eval/hoist.hpp): ctgrad::to_text of the requested expression would instantiate a
  /// text function per node of it, named by its deep type (11 s of compile time for the 33
  /// outputs of the 16-block network of benchmarks/compile_scaling).
  template <class... Vs, std::size_t... K>
  void check_extents(const std::tuple<Vs...>& outs, std::index_sequence<K...>) const {
    (check_output(K, std::get<K>(outs).extents, state_.template extents_of_output<Vs::rank>(K)), ...);
  }
  template <std::size_t R>
  static void check_output(std::size_t k, const std::array<std::size_t, R>& have, const std::array<std::size_t, R>& want) {
    if (want != have)
      throw shape_error(fmt::format("ctgrad: output {} (`{}`) has extents [{}] but the result has [{}]", k,
                                    detail::flat::render(state_t::texts, state_t::plan::outputs[k]), fmt::join(have, ", "),
                                    fmt::join(want, ", ")));
  }

  template <std::size_t... L>
  static constexpr std::size_t count_reading(std::string_view name, std::index_sequence<L...>) {
    return (reads_input<static_cast<std::uint32_t>(L)>(name) + ... + 0);
  }
  template <std::uint32_t L>
  static constexpr std::size_t reads_input(std::string_view name) {
    using D = typename schedule_type::nodes::template type<schedule_type::sched.loops[L].domain>;
    if constexpr (schedule_type::nodes::info[schedule_type::sched.loops[L].domain].k == detail::kind::contraction)
      return reads_in_list<void>(name, children_t<D>{});  // reads every operand whole
    else if constexpr (schedule_type::sched.loops[L].copy) return reads_in_list<D>(name, children_t<D>{});
    else return reads_in_list<D>(name, typename schedule_type::template leaves_t<L>{});
  }
  template <class D, class... Ls>
  static constexpr std::size_t reads_in_list(std::string_view name, type_list<Ls...>) {
    return ((is_input<Ls>::value && name_of<Ls>() == name && whole<D, Ls>()) || ...) ? 1 : 0;
  }
  /// True when a loop over D's shape reads all of Ls (D is non-unit wherever Ls is).
  template <class D, class Ls>
  static constexpr bool whole() {
    if constexpr (std::is_void_v<D>) {
      return true;
    } else {
      constexpr std::size_t R = D::shape.rank, r = Ls::shape.rank;
      if constexpr (r > R) return false;
      else {
        for (std::size_t a = 0; a < r; ++a)
          if (!Ls::shape.is_unit(a) && D::shape.is_unit(a + R - r)) return false;
        return true;
      }
    }
  }
  template <class L>
  static constexpr std::string_view name_of() {
    if constexpr (is_input<L>::value) return L::name.view();
    else return {};
  }

  template <class... Bs>
  void prepare(const Bs&... bindings) {
    state_.bind_inputs(bindings...);
    state_.infer_shapes();
    state_.prepare();
  }

  template <class... Vs, class... Bs>
  static void check_no_overlap(const std::tuple<Vs...>& outs, const Bs&... bindings) {
    std::size_t k = 0;
    std::apply([&](const auto&... o) {
      const auto one = [&](const auto& out) {
        const std::size_t bytes = out.size() * sizeof(*out.data);
        const auto against_input = [&](const auto& b) {
          if (detail::overlaps(out.data, bytes, b.values.data, b.values.size() * sizeof(T)))
            throw shape_error(fmt::format(
                "ctgrad: output {} overlaps the memory of input '{}'; evaluation reads its inputs in "
                "several passes, so an output must not share memory with an input",
                k, b.name.view()));
        };
        (against_input(bindings), ...);
        std::size_t k2 = 0;
        const auto against_output = [&](const auto& other) {
          if (k2 > k && detail::overlaps(out.data, bytes, other.data, other.size() * sizeof(*other.data)))
            throw shape_error(fmt::format("ctgrad: outputs {} and {} share memory", k, k2));
          ++k2;
        };
        (against_output(o), ...);
        ++k;
      };
      (one(o), ...);
    }, outs);
  }
};

/// Compiles the evaluation of a list of expressions (ctgrad::exprs(...), or what vjp returns)
/// for element type T.
template <class T, class... Es>
constexpr plan<T, Es...> compile(expr_list<Es...>) {
  return {};
}

}  // namespace ctgrad

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
