#pragma once
// ctgrad/eval/executor.hpp: the state of a plan and its run.
//
// executor<T, Order, Outputs> keeps extents, strides and data per unique node in arrays
// indexed by topological position; a run binds the inputs (eval/binding_checks.hpp), infers
// and checks every node's extents before anything is computed, sizes the buffers (no
// allocation when the extents did not grow), runs the loops in order (copies through index
// maps and contractions here, fused loops through eval/kernel.hpp) and writes the requested outputs no loop
// wrote.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ctgrad/eval/binding_checks.hpp"
#include "ctgrad/eval/contraction.hpp"
#include "ctgrad/eval/hoist.hpp"
#include "ctgrad/eval/interpret.hpp"
#include "ctgrad/eval/loops.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/graph/topo.hpp"

// Clang reports loops the fused kernel asked to vectorize but could not at the code inlined
// into them, which may be here: warnings a user cannot act on, silenced as in eval/kernel.hpp.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

namespace ctgrad::detail {

/// The state of a plan: extents, strides and data per unique node, in arrays indexed by
/// topological position (flat, above), and the byte count of the last run.
template <class T, class Order, class Outputs>
struct executor;

/// The executor's per-node constants that need the node types (computed once per graph).
template <class Order>
struct executor_tables;
template <class... Ns>
struct executor_tables<type_list<Ns...>> {
  static constexpr std::array<std::uint32_t, sizeof...(Ns)> count_axes{flat::count_axes_of<Ns>::value...};
  /// The operands every node divides by (op_traits::divisor_operands), as bit masks.
  static constexpr std::array<std::uint32_t, sizeof...(Ns)> divisors{flat::divisor_operands_of<Ns>::value...};
  /// The identity of every reduction (where its accumulators start; 0 for the other nodes).
  static constexpr std::array<double, sizeof...(Ns)> identities{flat::identity_of<Ns>::value...};
  /// The value of every constant node (zero for the other nodes).
  static constexpr std::array<rational, sizeof...(Ns)> constants{flat::constant_of<Ns>::value...};
};

namespace flat {

/// The executor's shape pass and buffer sizing, over a plan's constant tables by pointer: one
/// function per value type T, not one per plan (at -O3 these loops over a plan's tables were
/// compiled, unrolled and specialized for every plan, 7 KB of code and most of a small plan's
/// compile time).
template <class T>
struct sizing {
  using A = accumulator_t<T>;
  const planning::node_info* info;
  std::size_t size;
  const std::size_t* rank_offset;
  const std::uint32_t* count_axes;
  const std::uint32_t* divisors;
  const double* identities;
  const bool* buffer;   // the schedule's: has its own storage
  const bool* direct;   // written straight into the caller's output
  const bool* has_acc;  // has values in the accumulator type
  const detail::render::graph_view* texts;  // for error messages
  extent* shapes;
  std::size_t* strides;
  node_data<T>* data;

  extent* shape(std::size_t i) { return shapes + rank_offset[i]; }
  const extent* shape(std::size_t i) const { return shapes + rank_offset[i]; }
  std::size_t* stride(std::size_t i) { return strides + rank_offset[i]; }
  std::size_t element_count(std::size_t i) const { return flat::element_count(shape(i), info[i].shape.rank); }

  /// Merges the extents of operand c into those of node i (rank R) being assembled in `out`.
  void merge(std::size_t i, std::size_t c, extent* out, std::array<bool, max_rank>& found) const {
    const static_shape& sc = info[c].shape;
    const std::size_t R = info[i].shape.rank;
    const extent* in = shape(c);
    for (std::size_t j = 0; j < sc.rank; ++j) {
      if (sc.is_unit(j)) continue;
      const std::size_t a = j + R - sc.rank;
      if (!found[a]) {
        out[a] = in[j];
        found[a] = true;
      } else if (out[a].n != in[j].n) {
        flat::throw_mismatch(flat::render(*texts, static_cast<std::uint32_t>(i)), out[a], in[j]);
      }
    }
  }

  /// Every node's extents from its operands', in topological order (one loop over the
  /// planner's table).
  void infer_shapes() {
    for (std::size_t i = 0; i < size; ++i) {
      const planning::node_info& n = info[i];
      if (n.k == kind::input || n.k == kind::constant) continue;
      const std::size_t R = n.shape.rank;
      extent* out = shape(i);
      if (n.k == kind::count) {
        std::size_t c = 1;
        for (std::size_t a = 0; a < max_rank; ++a)
          if ((count_axes[i] >> a) & 1U) c *= shape(n.shape_child)[a].n;
        data[i].scalar = static_cast<A>(c);  // exact up to 2^53 (float counts were exact up to 2^24 only)
      } else if (n.k == kind::reduction) {
        const extent* in = shape(n.child[0]);
        const std::size_t r = info[n.child[0]].shape.rank;
        for (std::size_t a = 0; a < R; ++a) out[a] = n.shape.is_unit(a) ? extent{} : in[a + r - R];
      } else if (n.k == kind::index_map) {
        const extent* in = shape(n.child[0]);
        for (std::size_t a = 0; a < R; ++a) {
          const int from = n.from_axis[a];
          out[a] = from < 0 ? extent{} : in[static_cast<std::size_t>(from)];
        }
        check_index_map(i);
      } else if (n.k == kind::contraction) {
        infer_contraction(i, out);
      } else if (n.k == kind::reshape) {
        infer_reshape(i, out);
      } else if (n.k == kind::broadcast) {
        const extent* ref = shape(n.shape_child);
        for (std::size_t a = 0; a < R; ++a) out[a] = ref[a];
        std::array<bool, max_rank> found{};
        for (std::size_t a = 0; a < R; ++a) found[a] = !n.shape.is_unit(a);
        merge(i, n.child[0], out, found);
      } else {
        std::array<bool, max_rank> found{};
        for (std::size_t a = 0; a < R; ++a) out[a] = extent{};
        for (std::size_t c = 0; c < n.arity; ++c) merge(i, n.child[c], out, found);
      }
      flat::set_strides(out, stride(i), R);
      if (divisors[i] != 0) check_divisors(i);
    }
  }

  /// An index map (first<0>(x): element 0 along axis 0) reads elements of its operand that must
  /// exist: with an operand axis of extent 0 and a result that is not empty, it would read out
  /// of bounds.
  void check_index_map(std::size_t i) const {
    const std::uint32_t c = info[i].child[0];
    if (element_count(i) == 0 || element_count(c) != 0) return;
    const extent* in = shape(c);
    for (std::size_t a = 0; a < info[c].shape.rank; ++a)
      if (in[a].n == 0)
        throw shape_error(fmt::format("ctgrad: `{}` reads element 0 along an axis with no elements: {}",
                                      flat::render(*texts, static_cast<std::uint32_t>(i)), describe(in[a])));
  }
  /// A division by a count over no elements (the mean or variance over an empty axis) is an
  /// error of the run: 0 / 0 would be NaN, which a caller reading means should not have to test.
  void check_divisors(std::size_t i) const {
    const planning::node_info& n = info[i];
    for (std::uint32_t k = 0; k < n.arity; ++k) {
      const std::uint32_t c = n.child[k];
      if (((divisors[i] >> k) & 1U) == 0 || info[c].k != kind::count || data[c].scalar != 0) continue;
      const extent* in = shape(info[c].shape_child);
      std::string empty;
      for (std::size_t a = 0; a < max_rank; ++a)
        if (((count_axes[c] >> a) & 1U) != 0 && in[a].n == 0) {
          empty = describe(in[a]);
          break;
        }
      throw shape_error(fmt::format("ctgrad: `{}` divides by `{}`, the number of elements along the reduced axes, "
                                    "which is 0 ({}): a mean or variance over no elements is undefined",
                                    flat::render(*texts, static_cast<std::uint32_t>(i)),
                                    flat::render(*texts, c), empty));
    }
  }

  /// The extents of contraction i: each letter's from the operand axes that have it (which
  /// must agree), 1 for a letter no operand has at a non-unit axis.
  void infer_contraction(std::size_t i, extent* out) const {
    const planning::node_info& n = info[i];
    const subscripts& L = n.letters;
    const std::size_t R = n.shape.rank;
    for (std::size_t a = 0; a < R; ++a) out[a] = extent{};
    std::array<extent, 128> seen{};
    std::array<bool, 128> found{};
    for (std::uint32_t c = 0; c < n.arity; ++c) {
      const static_shape& sc = info[n.child[c]].shape;
      for (std::size_t j = 0; j < L.rank[c]; ++j) {
        if (sc.is_unit(j)) continue;
        const auto letter = static_cast<unsigned char>(L.letter[c][j]) & 127U;
        const extent& e = shape(n.child[c])[j];
        if (!found[letter]) {
          seen[letter] = e;
          found[letter] = true;
        } else if (seen[letter].n != e.n) {
          flat::throw_mismatch(flat::render(*texts, static_cast<std::uint32_t>(i)), seen[letter], e);
        }
      }
    }
    for (std::size_t a = 0; a < R; ++a) {
      const auto letter = static_cast<unsigned char>(L.letter[subscripts::result][a]) & 127U;
      if (!n.shape.is_unit(a) && found[letter]) out[a] = seen[letter];
    }
  }

  /// The extents of reshape i: its shape operand's, or by its rules (n, the operand's extent at
  /// that axis, or inferred); the element count must be the operand's.
  void infer_reshape(std::size_t i, extent* out) const {
    const planning::node_info& n = info[i];
    const std::size_t R = n.shape.rank, r = info[n.child[0]].shape.rank;
    const extent* in = shape(n.child[0]);
    const std::size_t have = flat::element_count(in, r);
    std::size_t known = 1, inferred = R;
    for (std::size_t a = 0; a < R; ++a) {
      if (n.like) out[a] = shape(n.shape_child)[a];
      else if (n.extent_rule[a] > 0) out[a] = extent{static_cast<std::size_t>(n.extent_rule[a])};
      else if (n.extent_rule[a] == 0) out[a] = in[a];
      else inferred = a;
      if (inferred != a) known *= out[a].n;
    }
    auto fail = [&](std::string_view why) {
      std::vector<std::size_t> from(r), to;
      for (std::size_t a = 0; a < r; ++a) from[a] = in[a].n;
      for (std::size_t a = 0; a < R; ++a) {
        if (a == inferred) continue;
        to.push_back(out[a].n);
      }
      throw shape_error(fmt::format("ctgrad: `{}` cannot reshape `{}` of extents [{}] ({} elements) to extents [{}]{}: {}",
                                    flat::render(*texts, static_cast<std::uint32_t>(i)),
                                    flat::render(*texts, n.child[0]), fmt::join(from, ", "), have, fmt::join(to, ", "),
                                    inferred < R ? " and one inferred" : "", why));
    };
    if (inferred < R) {
      if (known == 0 || have % known != 0) fail("the element count is not a multiple of the given extents' product");
      out[inferred] = extent{have / known};
    } else if (known != have) {
      fail("the element counts differ");
    }
  }

  /// Gives every buffer its size (no allocation when the extents did not grow).
  void prepare() {
    for (std::size_t i = 0; i < size; ++i) {
      if (!buffer[i] || direct[i]) continue;
      node_data<T>& s = data[i];
      const std::size_t n = element_count(i);
      s.storage.resize(n);
      if (info[i].k == kind::reduction) s.acc.assign(n, static_cast<A>(identities[i]));
      else if (has_acc[i]) s.acc.resize(n);
    }
  }

};

}  // namespace flat

template <class T, class Order, class Outputs>
struct executor {
  using A = accumulator_t<T>;
  using value_type = T;
  using plan = plan_of<Order, Outputs>;
  using nodes = typename plan::nodes;
  static constexpr const auto& sched = plan::sched;
  static constexpr std::size_t size = nodes::size;
  static constexpr std::array<std::size_t, size + 1> rank_offset = flat::rank_offsets(nodes::info);

  std::array<extent, rank_offset[size] + 1> shapes{};        // + 1: no zero-sized arrays
  std::array<std::size_t, rank_offset[size] + 1> strides{};
  std::array<node_data<T>, size> data{};
  std::size_t bytes = 0;
  std::size_t gemm_calls = 0;  // BLAS calls of the last run's contractions
  std::array<void*, plan::outputs.size() + 1> output_data{};  // the current run's output views
  std::unique_ptr<thread_team> team;  // null: one thread
  /// Loops over fewer elements run on one thread.
  static constexpr std::size_t parallel_threshold = std::size_t{1} << 15;

  extent* shape(std::size_t i) { return shapes.data() + rank_offset[i]; }
  const extent* shape(std::size_t i) const { return shapes.data() + rank_offset[i]; }
  std::size_t* stride(std::size_t i) { return strides.data() + rank_offset[i]; }
  const std::size_t* stride(std::size_t i) const { return strides.data() + rank_offset[i]; }
  std::size_t element_count(std::size_t i) const { return flat::element_count(shape(i), nodes::info[i].shape.rank); }

  // The loops' leaves and members, and has_acc, first: precise() below reads them (Clang
  // looks them up when it evaluates precise(), before members declared after it exist).
  static constexpr std::size_t loop_count = sched.loop_count;
  static constexpr auto member_lists = fused::make_lists<loop_count, fused::count_items(nodes::info, sched, false)>(
      nodes::info, sched, false);
  static constexpr auto leaf_lists = fused::make_lists<loop_count, fused::count_items(nodes::info, sched, true)>(
      nodes::info, sched, true);
  /// A loop number with this bit set names the loop's narrow variant (see narrowable): the
  /// functions below take loop numbers with it and mask it off, but for precise().
  static constexpr std::uint32_t narrow_bit = std::uint32_t{1} << 31;
  static constexpr std::uint32_t loop_of(std::uint32_t l) { return l & ~narrow_bit; }
  /// Leaf k and member k of loop l, their numbers, and the position of node i among the leaves.
  static constexpr std::uint32_t leaf_v(std::uint32_t l, std::size_t k) {
    return leaf_lists.item[leaf_lists.offset[loop_of(l)] + k];
  }
  static constexpr std::uint32_t member_v(std::uint32_t l, std::size_t k) {
    return member_lists.item[member_lists.offset[loop_of(l)] + k];
  }
  static constexpr std::size_t leaf_count(std::uint32_t l) {
    return leaf_lists.offset[loop_of(l) + 1] - leaf_lists.offset[loop_of(l)];
  }
  static constexpr std::size_t member_count(std::uint32_t l) {
    return member_lists.offset[loop_of(l) + 1] - member_lists.offset[loop_of(l)];
  }
  static constexpr std::size_t leaf_position(std::uint32_t l, std::uint32_t i) {
    return fused::position_in(leaf_lists.item, leaf_lists.offset[loop_of(l)], leaf_lists.offset[loop_of(l) + 1], i);
  }
  /// Nodes whose values exist in the accumulator type: sums, and buffers of loops over
  /// statistics (flat::acc_table).
  static constexpr std::array<bool, size> has_acc = flat::acc_table(nodes::info, sched);
  /// A loop over a domain with an axis of extent 1 (per-feature or per-sample statistics, from
  /// sums) computes in the accumulator type: that is where means and variances are combined,
  /// and where rounding sums to float first would lose what accumulating in double kept.
  /// Loops over whole data compute in the data type.
  //
  // Below, what the loops need to know about loop l and node i, as constexpr functions of
  // integers: a variable template member (precise<L>, source_of<L, I>, ...) is a variable per
  // loop and node whose mangled name holds the executor's (every node), which GCC computes for
  // each (about 3 ms each at 800 nodes); a function of integers is one function.
  //
  // A loop over whole data that reads a statistic held in the accumulator type computes in it
  // too: a per-feature coefficient need not fit the data type even when the result does (batch
  // norm's dx for float data of standard deviation s multiplies the deviation, of order s, by a
  // coefficient of order 1/s^2: 1e-44 for s = 1e22, below float's range, while dx, of order
  // 1/s, is in it).
  //
  // Computing such a loop in double costs batch norm 10-20 % (docs/performance.md), for data of
  // ordinary scale as well: such a loop is therefore `narrowable`, compiled twice, and each run
  // picks the variant in the data type (reading the statistics' rounded copies) when every
  // statistic it reads lies in [2^-60, 2^60] or is 0 (fits_data_type), the one in double otherwise.
  static constexpr bool precise(std::uint32_t l) {
    if ((l & narrow_bit) != 0) return false;
    return !sched.loops[l].copy && (wide_domain(l) || reads_acc(l));
  }
  static constexpr bool wide_domain(std::uint32_t l) {
    return nodes::info[sched.loops[l].domain].shape.unit_mask != 0 || sums_only(l);
  }
  /// True for a loop over whole data that computes in double only because it reads statistics.
  static constexpr bool narrowable(std::uint32_t l) { return !sched.loops[l].copy && !wide_domain(l) && reads_acc(l); }
  /// True when every statistic loop l reads in the accumulator type has a value of magnitude in
  /// [2^-60, 2^60] or 0: computed in the data type, the loop then loses nothing to range.
  bool fits_data_type(std::uint32_t l) const {
    for (std::size_t k = 0; k < leaf_count(l); ++k) {
      const std::uint32_t i = leaf_v(l, k);
      if (!has_acc[i]) continue;
      for (const A v : data[i].acc) {
        const A a = v < 0 ? -v : v;
        if (!(a == 0 || (a >= A(0x1p-60) && a <= A(0x1p60)))) return false;
      }
    }
    return true;
  }
  /// True when every statistic loop l reads in the accumulator type fits the data type (as
  /// fits_data_type), looking, of the statistics computed in l's chain, at rows [r0, r1) only
  /// (the rows the chain has computed so far). The others are looked at whole when the chain
  /// starts (r0 = 0), and that answer is kept for its later blocks.
  bool fits_rows(std::uint32_t l, std::size_t r0, std::size_t r1) {
    const auto fits = [](A v) {
      const A a = v < 0 ? -v : v;
      return a == 0 || (a >= A(0x1p-60) && a <= A(0x1p60));
    };
    if (r0 == 0) {
      others_fit[l] = true;
      for (std::size_t k = 0; k < leaf_count(l); ++k) {
        const std::uint32_t i = leaf_v(l, k);
        if (!has_acc[i] || in_chain_of(i, l)) continue;
        for (const A v : data[i].acc) others_fit[l] = others_fit[l] && fits(v);
      }
    }
    if (!others_fit[l]) return false;
    for (std::size_t k = 0; k < leaf_count(l); ++k) {
      const std::uint32_t i = leaf_v(l, k);
      if (!has_acc[i] || !in_chain_of(i, l)) continue;
      for (std::size_t r = r0; r < r1; ++r)
        if (!fits(data[i].acc[r])) return false;
    }
    return true;
  }
  static bool fits_rows_of(void* self, std::uint32_t l, std::size_t r0, std::size_t r1) {
    return static_cast<executor*>(self)->fits_rows(l, r0, r1);
  }
  std::array<bool, loop_count + 1> others_fit{};
  /// True when node i is computed by a fused loop of loop l's chain.
  static constexpr bool in_chain_of(std::uint32_t i, std::uint32_t l) {
    return sched.member[i] && !sched.loops[sched.loop[i]].copy && chain_start[sched.loop[i]] == chain_start[l];
  }

  // -- chains ------------------------------------------------------------------------------
  //
  // Consecutive fused loops over the same rows (the same outer axes, all of extent > 1) whose
  // later loops read, of what the earlier ones compute, only values of the same row form a
  // chain: fused::run_chain runs them block of rows by block of rows, each block through every
  // loop, so that a row is read from memory by the first loop and from the cache by the others.
  // Layer norm's three passes over x (statistics; the row sums of the backward pass; y and dx)
  // and softmax's (max, sum of exponentials, results) are chains; batch norm's passes are not
  // (its statistics are sums over rows, complete only after the last row).

  /// True when loop l runs over rows: a fused loop of rank >= 2 whose outer axes have extent > 1.
  static constexpr bool over_rows(std::uint32_t l) {
    if (sched.loops[l].copy) return false;
    const static_shape& d = nodes::info[sched.loops[l].domain].shape;
    if (d.rank < 2) return false;
    for (std::size_t a = 0; a + 1 < d.rank; ++a)
      if (d.is_unit(a)) return false;
    return true;
  }
  /// True when loop l can join the chain of loops [start, l): it runs over the same rows, and
  /// every leaf it reads that those loops compute has a value per row (all outer axes).
  static constexpr bool joins_chain(std::uint32_t l, std::uint32_t start) {
    if (!over_rows(l)) return false;
    const std::uint32_t dl = sched.loops[l].domain, ds = sched.loops[start].domain;
    const std::size_t R = nodes::info[dl].shape.rank;
    if (nodes::info[ds].shape.rank != R) return false;
    for (std::size_t a = 0; a + 1 < R; ++a)
      if (sched.axis_class[dl * max_rank + a] != sched.axis_class[ds * max_rank + a]) return false;
    for (std::size_t k = 0; k < leaf_count(l); ++k) {
      const std::uint32_t i = leaf_v(l, k);
      if (!sched.member[i] || sched.loop[i] < start || sched.loop[i] >= l) continue;
      const static_shape& si = nodes::info[i].shape;
      if (si.rank != R) return false;
      for (std::size_t a = 0; a + 1 < R; ++a)
        if (si.is_unit(a)) return false;
    }
    return true;
  }
  /// The first loop of loop l's chain (l itself for a loop that runs on its own).
  static constexpr std::array<std::uint32_t, loop_count + 1> chain_start = [] {
    std::array<std::uint32_t, loop_count + 1> c{};
    for (std::uint32_t l = 0; l < loop_count; ++l)
      c[l] = l > 0 && over_rows(l - 1) && joins_chain(l, c[l - 1]) ? c[l - 1] : l;
    return c;
  }();
  /// The number of loops of the chain loop l starts (0 when l does not start one).
  static constexpr std::size_t chain_length(std::uint32_t l) {
    if (chain_start[l] != l) return 0;
    std::size_t n = 0;
    for (std::uint32_t k = l; k < loop_count && chain_start[k] == l; ++k) ++n;
    return n;
  }
  /// True when loop l is part of a chain of two loops or more.
  static constexpr bool chained(std::uint32_t l) { return chain_length(chain_start[l]) > 1; }

  /// True when loop l reads a node whose values exist in the accumulator type (see has_acc).
  static constexpr bool reads_acc(std::uint32_t l) {
    if constexpr (std::is_same_v<A, T>) {
      return false;
    } else {
      for (std::size_t k = 0; k < leaf_count(l); ++k)
        if (has_acc[leaf_v(l, k)]) return true;
      return false;
    }
  }
  /// True when every member of loop l is a sum: what it sums is computed in the accumulator type.
  static constexpr bool sums_only(std::uint32_t l) {
    l = loop_of(l);
    for (std::uint32_t i = 0; i < size; ++i)
      if (sched.member[i] && sched.loop[i] == l && nodes::info[i].k != kind::reduction) return false;
    return true;
  }
  /// True when no member of loop l reads another member's buffer back (see fused::kernel).
  static constexpr bool loads_first(std::uint32_t l) {
    for (std::size_t k = 0; k < leaf_count(l); ++k) {
      const std::uint32_t i = leaf_v(l, k);
      if (sched.member[i] && sched.loop[i] == loop_of(l)) return false;
    }
    return true;
  }
  template <std::uint32_t L>
  using compute_t = std::conditional_t<precise(L), A, T>;
  /// How loop l reads leaf i: through a pointer to its values, precise where it has them and l
  /// is precise, or (a count) by value.
  static constexpr fused::source source_of(std::uint32_t l, std::uint32_t i) {
    return nodes::info[i].k == kind::input   ? fused::source::input
           : nodes::info[i].k == kind::count ? fused::source::count
           : has_acc[i] && precise(l)        ? fused::source::acc
                                             : fused::source::storage;
  }
  /// Stride of node i along the innermost axis of a loop: 1, or 0 where it is broadcast.
  static constexpr std::size_t inner_stride_at(std::uint32_t i) {
    return (nodes::info[i].shape.rank == 0 || nodes::info[i].shape.is_unit(nodes::info[i].shape.rank - 1)) ? 0 : 1;
  }
  /// How many requested expressions are node i, and the position of the k-th.
  static constexpr std::size_t output_count(std::uint32_t i) { return fused::count_of(plan::outputs, i); }
  static constexpr std::size_t output_position(std::uint32_t i, std::size_t k) {
    for (std::size_t e = 0; e < plan::outputs.size(); ++e)
      if (plan::outputs[e] == i && k-- == 0) return e;
    return plan::outputs.size();
  }
  /// The fused expression of node i read in a loop: a leaf, a count, a constant, or computed.
  static constexpr fused::read read_of(std::uint32_t i) {
    return nodes::info[i].k == kind::constant                     ? fused::read::constant
           : nodes::info[i].k == kind::count                      ? fused::read::count
           : (nodes::info[i].k == kind::input || sched.buffer[i]) ? fused::read::leaf
                                                                  : fused::read::computed;
  }

  // -- binding and shapes ------------------------------------------------------------------

  static constexpr std::size_t input_count = flat::count_kind(nodes::info, kind::input);
  static constexpr std::array<std::size_t, input_count> input_places =
      flat::places_of_kind<input_count>(nodes::info, kind::input);

  template <class... Bs>
  void bind_inputs(const Bs&... bs) {
    bind_inputs_at(std::make_index_sequence<input_count>{}, bs...);
  }
  template <std::size_t... K, class... Bs>
  void bind_inputs_at(std::index_sequence<K...>, const Bs&... bs) {
    (flat::bind_one<T, typename nodes::template type<input_places[K]>>(shape(input_places[K]), stride(input_places[K]),
                                                                       data[input_places[K]].input, bs...),
     ...);
  }

  static constexpr const auto& count_axes = executor_tables<Order>::count_axes;
  static constexpr const auto& identities = executor_tables<Order>::identities;
  /// The graph's table for rendering a node's text in an error message (graph/render.hpp).
  static constexpr const render::graph_view& texts = render::graph_render<Order>::view;

  static constexpr const auto& divisors = executor_tables<Order>::divisors;

  /// The shape pass and the buffer sizing (flat::sizing below), on this plan's tables.
  flat::sizing<T> sizing() {
    return {nodes::info.data(), size, rank_offset.data(), count_axes.data(), divisors.data(), identities.data(),
            sched.buffer.data(), direct_table.data(), has_acc.data(), &texts, shapes.data(), strides.data(), data.data()};
  }
  /// Every node's extents from its operands', in topological order (flat::sizing::infer_shapes).
  void infer_shapes() { sizing().infer_shapes(); }
  /// Gives every buffer its size (no allocation when the extents did not grow).
  void prepare() { sizing().prepare(); }

  // -- the loops ----------------------------------------------------------------------------

  template <class Outs>
  void run(const Outs& outs) {
    bytes = 0;
    gemm_calls = 0;
    std::apply([&](const auto&... o) { output_data = {static_cast<void*>(o.data)..., nullptr}; }, outs);
    run_loops(outs, std::make_index_sequence<sched.loop_count>{});
    write_remaining(outs, std::make_index_sequence<plan::outputs.size()>{});
  }

  /// Every loop in order: copies through index maps here, fused loops by fused::run_fused, and
  /// on one thread chains of loops by fused::run_chain (no function per loop named by the
  /// executor). With helper threads, a chain's loops run one after another, each split between
  /// the threads.
  template <class Outs, std::size_t... L>
  void run_loops(const Outs& outs, std::index_sequence<L...>) {
    ((sched.loops[L].copy ? run_step(sched.loops[L].domain)
      : chained(L) && !team ? (chain_start[L] == L ? fused::run_chain(typename fused::chain_of<executor, static_cast<std::uint32_t>(L), Outs>::type{},
                                                                      data.data(), shapes.data(), strides.data(), outs,
                                                                      fused::chain_query{this, &executor::fits_rows_of}, bytes)
                                                  : void())
      : narrowable(L) && fits_data_type(L)
          ? fused::run_fused(typename fused::narrow_loop_ref_of<executor, static_cast<std::uint32_t>(L), Outs, narrowable(L)>::type{},
                             data.data(), shapes.data(), strides.data(), outs, team.get(), parallel_threshold, bytes)
          : fused::run_fused(typename fused::loop_ref_of<executor, static_cast<std::uint32_t>(L), Outs>::type{}, data.data(),
                             shapes.data(), strides.data(), outs, team.get(), parallel_threshold, bytes)),
     ...);
  }
  /// As run(), with the fused loops run by flat::interpreter (eval/interpret.hpp) instead of
  /// their compiled kernels: nothing per loop is compiled. Output k is written to out[k]
  /// (contiguous, its result's extents), by run-time loops only: no function per output, and
  /// no tuple of output types. bytes stays 0.
  [[gnu::cold]] void run_interpreted(T* const* out) {
    bytes = 0;
    gemm_calls = 0;
    for (std::size_t k = 0; k < plan::outputs.size(); ++k) output_data[k] = out[k];
    run_loops_interpreted();
    for (std::size_t k = 0; k < plan::outputs.size(); ++k) write_output(plan::outputs[k], out[k]);
  }
  [[gnu::cold]] void run_loops_interpreted() {
    using functions = flat::op_functions<Order>;
    flat::interpreter<T> in{nodes::info.data(), rank_offset.data(), sched.buffer.data(), sched.member.data(),
                            sched.loop.data(), has_acc.data(), executor_tables<Order>::constants.data(),
                            functions::function.data(), functions::combine.data(), plan::outputs.data(),
                            plan::outputs.size(), output_data.data(), written_table.data(), shapes.data(),
                            strides.data(), data.data(), size};
    for (std::uint32_t l = 0; l < sched.loop_count; ++l) {
      if (sched.loops[l].copy) run_step(sched.loops[l].domain);
      else in.run(l, sched.loops[l].domain);
    }
  }
  // Copies through index maps and the results no loop writes are run-time loops over places,
  // one function each: functions per node (copy_index_map<M>, leaf_at<I>, write_one<I>) would
  // each be named by the executor, whose name lists every node (GCC 12 mangles every
  // instantiated function, in time quadratic in the name).

  /// Where the values of leaf i are (flat::leaf_source).
  using leaf_source = flat::leaf_source<T>;
  leaf_source source_of_leaf(std::uint32_t i) const {
    switch (nodes::info[i].k) {
      case kind::constant: return {nullptr, executor_tables<Order>::constants[i].template as<T>()};
      case kind::count: return {nullptr, static_cast<T>(data[i].scalar)};
      case kind::input: return {data[i].input, T{}};
      default: return {data[i].storage.data(), T{}};
    }
  }
  /// Node c's strides along the axes of a loop over node i's shape, where axis a of i reads
  /// axis from[a] of c (-1: none); 0 where c is broadcast.
  std::array<std::size_t, max_rank> strides_through(std::uint32_t c, std::size_t r, const std::array<int, max_rank>* from) const {
    std::array<std::size_t, max_rank> st{};
    const static_shape& sc = nodes::info[c].shape;
    for (std::size_t a = 0; a < r; ++a) {
      const int j = from ? (*from)[a] : static_cast<int>(a + sc.rank) - static_cast<int>(r);
      if (j >= 0 && !sc.is_unit(static_cast<std::size_t>(j))) st[a] = stride(c)[j];
    }
    return st;
  }
  /// Writes leaf c's values, read through `st`, over the extents of node i to contiguous dst.
  template <class D>
  void copy_leaf(D* dst, std::uint32_t c, std::uint32_t i, const std::array<std::size_t, max_rank>& st) const {
    const leaf_source src = source_of_leaf(c);
    const std::size_t r = nodes::info[i].shape.rank;
    if (src.p != nullptr) {
      flat::copy_strided(dst, src.p, shape(i), r, st);
    } else {
      const std::size_t count = element_count(i);
      for (std::size_t k = 0; k < count; ++k) dst[k] = static_cast<D>(src.value);
    }
  }
  /// What a copy or a result reads is a leaf: an input, a constant, a count or a buffer.
  static constexpr bool is_leaf(std::uint32_t i) {
    return nodes::info[i].k == kind::input || nodes::info[i].k == kind::constant || nodes::info[i].k == kind::count ||
           sched.buffer[i];
  }
  /// True when loop l writes output i itself (its other outputs are written after the loops).
  static constexpr bool written_by_loop(std::uint32_t i) {
    return sched.member[i] && nodes::info[i].k != kind::reduction && !planning::is_step(nodes::info[i].k);
  }
  static constexpr bool reads_leaves_only() {
    for (std::uint32_t l = 0; l < sched.loop_count; ++l)
      for (std::uint32_t c = 0; sched.loops[l].copy && c < nodes::info[sched.loops[l].domain].arity; ++c)
        if (!is_leaf(nodes::info[sched.loops[l].domain].child[c])) return false;
    for (const std::uint32_t i : plan::outputs)
      if (!written_by_loop(i) && nodes::info[i].k != kind::reduction && !is_leaf(i)) return false;
    return true;
  }
  static_assert(reads_leaves_only(), "ctgrad internal error: a copy or a result reads an unbuffered node");
  static constexpr std::array<bool, size> written_table = [] {
    std::array<bool, size> t{};
    for (std::uint32_t i = 0; i < size; ++i) t[i] = written_by_loop(i);
    return t;
  }();

  /// A node computed by a step of its own: a copy through an index map or a contraction.
  void run_step(std::uint32_t m) {
    if (nodes::info[m].k == kind::contraction) contract(m);
    else if (nodes::info[m].k == kind::reshape) copy_reshape(m);
    else copy_index_map(m);
  }

  /// The reshape at place m: its operand's elements in row-major order (a leaf: contiguous).
  void copy_reshape(std::uint32_t m) {
    T* dst = data[m].storage.data();
    const std::size_t count = data[m].storage.size();
    const leaf_source src = source_of_leaf(nodes::info[m].child[0]);
    if (src.p != nullptr) std::copy(src.p, src.p + count, dst);
    else std::fill(dst, dst + count, src.value);
    bytes += count * sizeof(T) * 2;
  }

  /// True for a contraction that is requested once and read by no other node: it is computed
  /// straight into the caller's output (no buffer, no copy).
  static constexpr bool direct(std::uint32_t i) {
    if (nodes::info[i].k != kind::contraction || output_count(i) != 1) return false;
    for (std::uint32_t j = 0; j < size; ++j)
      for (std::uint32_t c = 0; c < nodes::info[j].arity; ++c)
        if (nodes::info[j].child[c] == i) return false;
    return true;
  }
  static constexpr std::array<bool, size> direct_table = [] {
    std::array<bool, size> t{};
    for (std::uint32_t i = 0; i < size; ++i) t[i] = direct(i);
    return t;
  }();

  /// The contraction at place m, from its operands (leaves) into its contiguous buffer (or the
  /// output, see direct), by eval/contraction.hpp: a GEMM where the letters and strides map to one.
  void contract(std::uint32_t m) {
    const planning::node_info& n = nodes::info[m];
    const subscripts& L = n.letters;
    contraction::problem pr{};
    std::array<T, 2> scalars{};
    std::array<const T*, 2> operand{};
    const bool to_output = direct_table[m];
    T* dst = to_output ? static_cast<T*>(output_data[output_position(m, 0)]) : data[m].storage.data();
    const std::size_t dst_count = element_count(m);
    std::size_t moved = dst_count;
    auto add = [&](char letter, std::size_t slot, std::size_t n_, std::size_t st) {
      for (std::size_t q = 0; q < pr.count; ++q)
        if (pr.letter[q] == letter) {
          pr.index[q].stride[slot] = st;
          return;
        }
      pr.letter[pr.count] = letter;
      pr.index[pr.count] = contraction::index_info{n_, {}};
      pr.index[pr.count++].stride[slot] = st;
    };
    pr.operands = n.arity;
    for (std::uint32_t c = 0; c < n.arity; ++c) {
      const std::uint32_t ch = n.child[c];
      const leaf_source src = source_of_leaf(ch);
      scalars[c] = src.value;
      operand[c] = src.p != nullptr ? src.p : &scalars[c];
      const bool scalar = src.p == nullptr;
      if (!scalar) moved += element_count(ch);
      for (std::size_t j = 0; j < L.rank[c]; ++j)
        if (!nodes::info[ch].shape.is_unit(j) && !scalar) add(L.letter[c][j], c, shape(ch)[j].n, stride(ch)[j]);
    }
    for (std::size_t a = 0; a < n.shape.rank; ++a)
      if (!n.shape.is_unit(a)) add(L.letter[subscripts::result][a], 2, shape(m)[a].n, stride(m)[a]);
    gemm_calls += contraction::run<T>(pr, operand[0], operand[1], dst, dst_count);
    bytes += moved * sizeof(T);
  }

  /// The index map at place m, computed from its operand (its buffer is contiguous).
  void copy_index_map(std::uint32_t m) {
    const planning::node_info& n = nodes::info[m];
    copy_leaf(data[m].storage.data(), n.child[0], m, strides_through(n.child[0], n.shape.rank, &n.from_axis));
    bytes += data[m].storage.size() * sizeof(T) * 2;
  }

  // -- results ------------------------------------------------------------------------------

  /// Requested expressions no loop writes: reductions (accumulated in A), copies through index
  /// maps, and inputs, constants and counts requested as they are.
  template <class Outs, std::size_t... K>
  void write_remaining(const Outs& outs, std::index_sequence<K...>) {
    (write_output(plan::outputs[K], std::get<K>(outs).data), ...);
  }
  void write_output(std::uint32_t i, T* out) const {
    if (written_by_loop(i) || direct_table[i]) return;
    const std::size_t r = nodes::info[i].shape.rank;
    const auto st = strides_through(i, r, nullptr);
    if (nodes::info[i].k == kind::reduction) flat::copy_strided(out, data[i].acc.data(), shape(i), r, st);  // at full precision
    else copy_leaf(out, i, i, st);
  }
  /// Requested expression k as a dynamic_tensor of its extents (values zero).
  dynamic_tensor<T> dynamic_output(std::size_t k) const {
    const std::uint32_t i = plan::outputs[k];
    dynamic_tensor<T> t;
    for (std::size_t a = 0; a < nodes::info[i].shape.rank; ++a) t.extents.push_back(shape(i)[a].n);
    t.values.resize(element_count(i));
    return t;
  }

  /// The extents of requested expression k (of rank R).
  template <std::size_t R>
  std::array<std::size_t, R> extents_of_output(std::size_t k) const {
    std::array<std::size_t, R> e{};
    const extent* s = shape(plan::outputs[k]);
    for (std::size_t a = 0; a < R; ++a) e[a] = s[a].n;
    return e;
  }
};

}  // namespace ctgrad::detail

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
