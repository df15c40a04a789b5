#pragma once
// ctgrad/eval/interpret.hpp: a plan's fused loops run by walking its tables at run time.
//
// The executor (eval/executor.hpp) compiles each fused loop of a plan into its own kernel
// (eval/kernel.hpp): fast to run, and about a second of compile time at -O3 for a plan the size
// of batch norm's gradients. flat::interpreter runs the same schedule from the planner's tables
// instead: loop by loop, element by element of the loop's domain, member by member in
// topological order, each node's value computed from its operands' through a function pointer
// per op (op_functions below, one function per op, not per node). It is compiled once per
// value type, computes every node in double, and sums in order, one element after another.
// Copies through index maps, reshapes and contractions are the executor's own steps, run-time
// loops already. What it is for: checks on small inputs (doc::verify, ctgrad::interpret), where
// a few dozen evaluations of a plan do not pay for compiling its loops. It runs tens of times
// slower than the compiled loops (about 50 times on batch norm's forward and gradients).
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ctgrad/eval/loops.hpp"
#include "ctgrad/expr/operation.hpp"

namespace ctgrad::detail::flat {

/// The value of an elementwise op from its operands' values; a reduction's combine step.
using op_function = double (*)(const double*);
using combine_function = double (*)(double, double);

template <class Op, std::size_t... I>
double apply_op(const double* v) {
  return static_cast<double>(Op::apply(v[I]...));
}
template <class Op>
double combine_op(double acc, double v) {
  return ctgrad::reduction_combine<Op, double>(acc, v);
}

/// Node N's op function (elementwise nodes) and combine step (reductions), held by classes
/// named by the op and its arity only (see the note in eval/loops.hpp).
template <class Op, std::size_t Arity, planning::kind K = planning::op_kind_v<Op>,
          class I = std::make_index_sequence<Arity>>
struct op_function_of_op {
  static constexpr op_function function = nullptr;
  static constexpr combine_function combine = nullptr;
};
template <class Op, std::size_t Arity, std::size_t... I>
struct op_function_of_op<Op, Arity, planning::kind::elementwise, std::index_sequence<I...>> {
  static constexpr op_function function = &apply_op<Op, I...>;
  static constexpr combine_function combine = nullptr;
};
template <class Op, std::size_t Arity, class I>
struct op_function_of_op<Op, Arity, planning::kind::reduction, I> {
  static constexpr op_function function = nullptr;
  static constexpr combine_function combine = &combine_op<Op>;
};
template <class N>
struct op_function_of : op_function_of_op<void, 0, planning::kind::input> {};
template <class Op, class... Args>
struct op_function_of<node<Op, Args...>> : op_function_of_op<Op, planning::info_base<node<Op, Args...>>::value.arity> {};

/// The tables of one graph the interpreter reads, per place.
template <class Order>
struct op_functions;
template <class... Ns>
struct op_functions<type_list<Ns...>> {
  static constexpr std::array<op_function, sizeof...(Ns)> function{op_function_of<Ns>::function...};
  static constexpr std::array<combine_function, sizeof...(Ns)> combine{op_function_of<Ns>::combine...};
};

/// Runs the fused loops of a plan through its tables (pointers into the executor's). Its
/// functions are marked cold: they serve checks, and GCC compiles them for size (a few KB
/// rather than 15 KB of code unrolled at -O3).
template <class T>
struct interpreter {
  using A = accumulator_t<T>;
  const planning::node_info* info;
  const std::size_t* rank_offset;
  const bool* buffer;   // the schedule's: has its own storage
  const bool* member;   // computed by a loop
  const std::uint32_t* loop;  // the loop computing a member
  const bool* has_acc;  // has values in the accumulator type
  const rational* constants;
  const op_function* function;
  const combine_function* combine;
  const std::uint32_t* outputs;  // the place of each requested expression
  std::size_t output_count;
  void* const* output_data;      // each one's values (T*, contiguous)
  const bool* written_by_loop;   // a requested node its loop writes
  const extent* shapes;
  const std::size_t* strides;
  node_data<T>* data;
  std::size_t size;

  /// Offset of node c's element at index idx of a domain of rank R (right-aligned; 0 along
  /// the axes c is broadcast over).
  [[gnu::cold]] std::size_t offset(std::uint32_t c, const std::size_t* idx, std::size_t R) const {
    const static_shape& s = info[c].shape;
    const std::size_t* st = strides + rank_offset[c];
    std::size_t off = 0;
    for (std::size_t j = 0; j < s.rank; ++j)
      if (!s.is_unit(j)) off += idx[j + R - s.rank] * st[j];
    return off;
  }

  /// The value of node c at index idx of a domain of rank R: read where it is stored, or
  /// computed from its operands.
  [[gnu::cold]] double value(std::uint32_t c, const std::size_t* idx, std::size_t R) const {
    const planning::node_info& n = info[c];
    switch (n.k) {
      case kind::constant: return constants[c].template as<double>();
      case kind::count: return static_cast<double>(data[c].scalar);
      case kind::input: return static_cast<double>(data[c].input[offset(c, idx, R)]);
      default: break;
    }
    if (buffer[c]) {
      const std::size_t off = offset(c, idx, R);
      return has_acc[c] ? static_cast<double>(data[c].acc[off]) : static_cast<double>(data[c].storage[off]);
    }
    return computed(c, idx, R);
  }

  /// Loop l over the extents of node `domain`.
  [[gnu::cold]] void run(std::uint32_t l, std::uint32_t domain) {
    const std::size_t R = info[domain].shape.rank;
    const extent* ext = shapes + rank_offset[domain];
    std::size_t total = 1;
    for (std::size_t a = 0; a < R; ++a) total *= ext[a].n;
    std::vector<std::uint32_t> members;  // in topological order
    for (std::uint32_t i = 0; i < size; ++i)
      if (member[i] && loop[i] == l) members.push_back(i);
    std::array<std::size_t, max_rank> idx{};
    for (std::size_t e = 0; e < total; ++e) {
      for (const std::uint32_t i : members) store(i, idx.data(), R);
      for (std::size_t a = R; a-- > 0;) {  // the next index, row-major
        if (++idx[a] < ext[a].n) break;
        idx[a] = 0;
      }
    }
    for (const std::uint32_t i : members)  // sums, complete, rounded to the data type for their readers
      if (info[i].k == kind::reduction && buffer[i]) fused::round_sums(data[i].storage, data[i].acc);
  }

  /// Member i at index idx: its operand added to its sum, or its value stored where it goes.
  [[gnu::cold]] void store(std::uint32_t i, const std::size_t* idx, std::size_t R) {
    const std::size_t off = offset(i, idx, R);
    if (info[i].k == kind::reduction) {
      A& acc = data[i].acc[off];
      acc = static_cast<A>(combine[i](static_cast<double>(acc), value(info[i].child[0], idx, R)));
      return;
    }
    const double v = computed(i, idx, R);
    if (buffer[i]) {
      data[i].storage[off] = static_cast<T>(v);
      if (has_acc[i]) data[i].acc[off] = static_cast<A>(v);
    }
    if (!written_by_loop[i]) return;
    for (std::size_t e = 0; e < output_count; ++e)
      if (outputs[e] == i) static_cast<T*>(output_data[e])[off] = static_cast<T>(v);
  }
  /// Node i's value from its operands' (an elementwise node or a broadcast).
  [[gnu::cold]] double computed(std::uint32_t i, const std::size_t* idx, std::size_t R) const {
    const planning::node_info& n = info[i];
    if (n.k == kind::broadcast) return value(n.child[0], idx, R);
    std::array<double, planning::max_arity> v{};
    for (std::uint32_t k = 0; k < n.arity; ++k) v[k] = value(n.child[k], idx, R);
    return function[i](v.data());
  }
};

}  // namespace ctgrad::detail::flat
