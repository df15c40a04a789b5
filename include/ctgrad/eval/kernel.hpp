#pragma once
// ctgrad/eval/kernel.hpp: the fused loop kernel.
//
// fused::kernel runs one loop of a plan: rows of its domain, the innermost axis a counted loop
// over contiguous memory in which every operand is read at stride 1 or 0 (known at compile
// time, so the compiler vectorizes it), each member either stored (a buffer, outputs) or
// reduced with its reduction's combine step and identity (op_traits: sums, max, min; the
// kernel assumes no particular reduction). Sums along rows take four rows per accumulator
// update; reductions along the innermost axis keep several running values. Large loops are
// split between the threads of a team (eval/parallel.hpp).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctgrad/eval/parallel.hpp"
#include "ctgrad/expr/node.hpp"

// The fused loops ask the vectorizer to assume their iterations independent (they are: every
// buffer a loop writes is its own). Clang turns that request into a warning wherever it cannot
// vectorize after all, a sum into one accumulator (floating-point reduction, kept in order) or
// a call to exp or tanh: warnings a user of the library cannot act on, silenced here and in
// parallel.hpp (whose thread team runs these loops). -Rpass-missed=loop-vectorize still lists them.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
#endif
#if defined(__clang__)
#define CTGRAD_INDEPENDENT_ITERATIONS _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define CTGRAD_INDEPENDENT_ITERATIONS _Pragma("GCC ivdep")
#else
#define CTGRAD_INDEPENDENT_ITERATIONS
#endif
// The inner loop over one block of a row's running values (kernel::inner_loop) must reach GCC's
// loop vectorizer whole: unrolled first (it has a constant trip count), it was left to the SLP
// vectorizer, which converted and subtracted element by element and packed the results (layer
// norm's statistics loop took twice as long).
#if defined(__GNUC__) && !defined(__clang__)
#define CTGRAD_KEEP_LOOP _Pragma("GCC unroll 1")
#else
#define CTGRAD_KEEP_LOOP
#endif

namespace ctgrad {

/// The type ctgrad computes in: double for float data (sums, and every intermediate, so that a
/// mean or a deviation stored between passes keeps its precision); double for double.
template <class T>
using accumulator_t = std::conditional_t<std::is_same<T, float>::value, double, T>;

namespace detail {

/// The fused loops, written against small descriptions of one loop rather than against node
/// types. GCC 12 gives every instantiated function a mangled name, and the substitution search
/// of its mangler makes a name cost time quadratic in the number of distinct types in it: a
/// function per node and loop named by the executor (whose name lists every node) or by deep
/// node types made compile time grow with the cube of the graph size (37% of the time of an
/// 8-block network went to mangle_decl). Here a loop is described by its leaves (row pointers
/// indexed by position), the fused expression of each member (ops over leaf positions and
/// constants) and integer flags; those names grow with one loop's fused subtree only.
namespace fused {

/// Leaf K of a loop as the loop reads it: a row pointer P (to the data or the accumulator
/// type), or for a count its value (P is then the compute type).
template <std::size_t K, class P>
struct rk {
  static constexpr std::size_t index = K;
  P p{};
};
template <class... Rk>
struct rows : Rk... {};

/// Fused expressions: a leaf's row K read at inner stride S (0: broadcast along the innermost
/// axis, 1: contiguous), a count's value, a constant node, an op applied to operands.
template <std::size_t K, class P, std::size_t S>
struct leaf {};
template <std::size_t K, class P>
struct count {};
template <class C>
struct constant {};
template <class Op, class... X>
struct apply {};

/// The value of fused expression X at inner index j, in the compute type CT.
template <class CT, class X>
struct fx;
template <class CT, std::size_t K, class P, std::size_t S>
struct fx<CT, leaf<K, P, S>> {
  template <class Rows>
  static CT get(const Rows& r, std::size_t j) {
    return static_cast<CT>(static_cast<const rk<K, P>&>(r).p[S * j]);
  }
};
template <class CT, std::size_t K, class P>
struct fx<CT, count<K, P>> {
  template <class Rows>
  static CT get(const Rows& r, std::size_t) {
    return static_cast<const rk<K, P>&>(r).p;
  }
};
template <class CT, class C>
struct fx<CT, constant<C>> {
  template <class Rows>
  static CT get(const Rows&, std::size_t) {
    return C::value.template as<CT>();
  }
};
template <class CT, class Op, class... X>
struct fx<CT, apply<Op, X...>> {
  template <class Rows>
  static CT get(const Rows& r, std::size_t j) {
    return static_cast<CT>(Op::apply(fx<CT, X>::get(r, j)...));
  }
};

/// Member K of a loop: a reduction by Red (into its accumulator row, or a running value when
/// its innermost stride is 0) of X, or (Red void) X stored into its buffer (Buf), its
/// accumulator-type values (Acc) and the requested outputs at positions Pos. "sum" below means
/// any reduction: Red's combine step and identity (op_traits) say how it accumulates.
template <std::size_t K, class Red, std::size_t Stride, bool Buf, bool Acc, class Pos, class X>
struct member {
  static constexpr std::size_t index = K;
  static constexpr bool sum = !std::is_void_v<Red>, buf = Buf, acc = Acc;
  static constexpr std::size_t stride = Stride;
  using reducer = Red;
  using pos = Pos;
  using x = X;
};

/// The combine step and identity of member M's reduction, in the accumulator type.
template <class M, class A>
A combine(A acc, A v) {
  return ctgrad::reduction_combine<typename M::reducer, A>(acc, v);
}
template <class M, class A>
constexpr A identity() {
  return ctgrad::reduction_identity<typename M::reducer, A>();
}

/// How many running values a reduction along the innermost axis keeps: element j goes to lane
/// j % lanes within each block of `row_lanes` elements, so that the additions (or max steps)
/// form independent chains the processor overlaps, instead of one chain of latency-bound steps
/// (a row sum over contiguous data in one accumulator ran at a third of the speed of the
/// per-feature sums of batch norm). The lanes are combined pairwise at the end of the row: the
/// order depends on the row's length only, so results are the same on every run.
inline constexpr std::size_t row_lanes = 8;

/// Where a loop writes member K: its buffer row, or for a sum its accumulator row and the
/// running values of a sum along the innermost axis; and the rows of the outputs it is
/// (OutPtrs: a std::tuple of a pointer per output).
template <std::size_t K, class T, class A, class OutPtrs>
struct dk {
  T* buf = nullptr;
  A* acc = nullptr;
  OutPtrs out{};
};
template <class... Dk>
struct dests : Dk... {};

/// The running values of member K, a sum along the innermost axis (RowSum), during one row.
/// They live in a local of the row's loop, apart from the destinations: beside the accumulator
/// rows (of the same type, written through pointers) the compiler had to keep them in memory
/// and reload them after every store, and could not vectorize the loop.
template <std::size_t K, class A, bool RowSum>
struct lk {};
template <std::size_t K, class A>
struct lk<K, A, true> {
  std::array<A, row_lanes> lane{};
};
template <class... Lk>
struct lanes : Lk... {};

/// Whether fused expression X reads leaf K at inner stride 0 (one value per row).
template <std::size_t K, class X>
struct reads_row_value : std::false_type {};
template <std::size_t K, class P>
struct reads_row_value<K, leaf<K, P, 0>> : std::true_type {};
template <std::size_t K, class Op, class... X>
struct reads_row_value<K, apply<Op, X...>> : std::bool_constant<(reads_row_value<K, X>::value || ...)> {};

/// A local copy of the value a leaf read at stride 0 has for the current row (Held), see
/// kernel::hold_row_values.
template <class Rk, bool Held>
struct held_value {};
template <std::size_t K, class P>
struct held_value<rk<K, P>, true> {
  std::remove_cv_t<std::remove_pointer_t<P>> v{};
};
template <class... H>
struct held_values : H... {};

/// A pointer plus an offset; a count's value stays as it is.
template <class U>
const U* add_offset(const U* p, std::size_t off) {
  return p + off;
}
template <class V>
  requires std::is_arithmetic_v<V>
V add_offset(V v, std::size_t) {
  return v;
}

/// How a loop reads a leaf: the bound input, the accumulator-type values, the buffer, a count.
enum class source : std::uint8_t { input, acc, storage, count };
template <class P, source S, class T, class A>
P leaf_base(const T* input, const A* acc, const T* storage, A scalar) {
  if constexpr (S == source::input) return input;
  else if constexpr (S == source::acc) return acc;
  else if constexpr (S == source::storage) return storage;
  else return static_cast<P>(scalar);
}

/// The strides, along each axis of a loop of rank R, of a node of static shape `sh` and
/// strides `st`, right-aligned; 0 along the axes it is broadcast over.
template <std::size_t RI>
std::array<std::size_t, RI> loop_strides(std::size_t R, const static_shape& sh, const std::size_t* st) {
  std::array<std::size_t, RI> out{};
  for (std::size_t j = 0; j < sh.rank; ++j)
    if (!sh.is_unit(j)) out[j + R - sh.rank] = st[j];
  return out;
}

template <class T, class A>
void round_sums(std::vector<T>& storage, const std::vector<A>& acc) {
  for (std::size_t i = 0; i < acc.size(); ++i) storage[i] = static_cast<T>(acc[i]);
}

/// One fused loop of rank R computing in CT: leaves Rk..., members Ms.... LoadsFirst: no
/// member reads another member's buffer back, so every value of an iteration can be computed
/// before anything is stored (which lets the compiler share subexpressions between members: a
/// store through a pointer could otherwise alias what a later member loads).
template <class T, class CT, std::size_t R, class Rows, class Members, class OutPtrs, bool LoadsFirst>
struct kernel;
template <class T, class CT, std::size_t R, class... Rk, class... Ms, class OutPtrs, bool LoadsFirst>
struct kernel<T, CT, R, rows<Rk...>, type_list<Ms...>, OutPtrs, LoadsFirst> {
  using A = accumulator_t<T>;
  using rows_t = rows<Rk...>;
  using dests_t = dests<dk<Ms::index, T, A, OutPtrs>...>;
  template <class M>
  static constexpr bool row_sum = M::sum && M::stride == 0;
  using lanes_t = lanes<lk<Ms::index, A, row_sum<Ms>>...>;
  static constexpr std::size_t rank = R;
  static constexpr std::size_t RI = R == 0 ? 1 : R;
  using index_t = std::array<std::size_t, RI>;

  /// What the executor hands over: leaf rows and member rows at index 0, their strides along
  /// the loop's axes, and the loop's extents.
  struct args {
    rows_t base{};
    std::array<index_t, sizeof...(Rk)> leaf_strides{};
    dests_t dest_base{};
    std::array<index_t, sizeof...(Ms)> member_strides{};
    index_t ext{};
  };

  /// Offset of the row at outer index idx, for a node with loop strides st.
  static std::size_t offset(const index_t& idx, const index_t& st) {
    std::size_t off = 0;
    for (std::size_t a = 0; a + 1 < R; ++a) off += idx[a] * st[a];
    return off;
  }

  template <class M, class Outs>
  static void set_base(args& g, T* storage, A* acc, const Outs& outs) {
    auto& b = static_cast<dk<M::index, T, A, OutPtrs>&>(g.dest_base);
    if constexpr (M::sum) {
      b.acc = acc;
    } else if constexpr (M::buf) {
      b.buf = storage;
      if constexpr (M::acc) b.acc = acc;
    }
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((std::get<I>(b.out) = std::get<I>(outs).data), ...);
    }(typename M::pos{});
  }

  template <class M>
  static void set_dest(dests_t& d, const args& g, const index_t& idx) {
    auto& dm = static_cast<dk<M::index, T, A, OutPtrs>&>(d);
    const auto& b = static_cast<const dk<M::index, T, A, OutPtrs>&>(g.dest_base);
    const std::size_t off = offset(idx, g.member_strides[M::index]);
    if constexpr (M::sum) {
      dm.acc = b.acc + off;
    } else if constexpr (M::buf) {
      dm.buf = b.buf + off;
      if constexpr (M::acc) dm.acc = b.acc + off;
    }
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((std::get<I>(dm.out) = std::get<I>(b.out) + off), ...);
    }(typename M::pos{});
  }

  /// What member M contributes at inner index j: a summand (in the accumulator type), or a value.
  template <class M>
  using value_t = std::conditional_t<M::sum, A, CT>;
  template <class M>
  static value_t<M> value(const rows_t& r, std::size_t j) {
    return static_cast<value_t<M>>(fx<CT, typename M::x>::get(r, j));  // sums in the accumulator type
  }
  /// Which members an inner loop computes: all, the sums along the innermost axis only, or the
  /// others only (a row with both is walked twice, see inner_loop).
  enum class part : std::uint8_t { all, row_sums, others };
  template <class M, part P>
  static constexpr bool in_part = P == part::all || (P == part::row_sums) == row_sum<M>;
  template <class M, part P>
  static value_t<M> value_in(const rows_t& r, std::size_t j) {
    if constexpr (in_part<M, P>) return value<M>(r, j);
    else return value_t<M>{};
  }
  /// Adds member M's contribution to its sum (a sum along the innermost axis: to running value
  /// `lane`), or stores its value where it goes.
  template <class M, part P>
  static void store(dests_t& d, lanes_t& ln, value_t<M> v, std::size_t j, std::size_t lane) {
    if constexpr (!in_part<M, P>) {
      return;
    } else if constexpr (row_sum<M>) {
      auto& lm = static_cast<lk<M::index, A, true>&>(ln);
      lm.lane[lane] = fused::combine<M, A>(lm.lane[lane], v);
    } else {
      auto& dm = static_cast<dk<M::index, T, A, OutPtrs>&>(d);
      if constexpr (M::sum) {
        dm.acc[j] = fused::combine<M, A>(dm.acc[j], v);
      } else {
        if constexpr (M::buf) dm.buf[j] = static_cast<T>(v);
        if constexpr (M::acc) dm.acc[j] = v;
        [&]<std::size_t... I>(std::index_sequence<I...>) {
          ((std::get<I>(dm.out)[j] = static_cast<std::remove_cvref_t<decltype(*std::get<I>(dm.out))>>(v)), ...);
        }(typename M::pos{});
      }
    }
  }

  /// The end of a row: its running values, combined pairwise, join the accumulator.
  template <class M>
  static void flush(dests_t& d, lanes_t& ln) {
    if constexpr (row_sum<M>) {
      auto& lm = static_cast<lk<M::index, A, true>&>(ln);
      for (std::size_t w = row_lanes / 2; w > 0; w /= 2)
        for (std::size_t k = 0; k < w; ++k) lm.lane[k] = fused::combine<M, A>(lm.lane[k], lm.lane[k + w]);
      auto& dm = static_cast<dk<M::index, T, A, OutPtrs>&>(d);
      dm.acc[0] = fused::combine<M, A>(dm.acc[0], lm.lane[0]);
    }
  }
  /// Running values start at their reduction's identity.
  template <class M>
  static void start(lanes_t& ln) {
    if constexpr (row_sum<M>) static_cast<lk<M::index, A, true>&>(ln).lane.fill(fused::identity<M, A>());
  }

  template <part P, std::size_t... I, class V>
  static void store_all(dests_t& d, lanes_t& ln, const V& v, std::size_t j, std::size_t lane, std::index_sequence<I...>) {
    (store<Ms, P>(d, ln, std::get<I>(v), j, lane), ...);
  }
  /// Element j of the row, for the members of part P: every member's value, then (LoadsFirst)
  /// or member by member its store.
  template <part P>
  static void element(const rows_t& r, dests_t& d, lanes_t& ln, std::size_t j, std::size_t lane) {
    if constexpr (LoadsFirst) {
      const std::tuple<value_t<Ms>...> v{value_in<Ms, P>(r, j)...};
      store_all<P>(d, ln, v, j, lane, std::index_sequence_for<Ms...>{});
    } else {
      (store<Ms, P>(d, ln, value_in<Ms, P>(r, j), j, lane), ...);
    }
  }
  static constexpr bool row_sums = (row_sum<Ms> || ...);
  static constexpr bool others = (!row_sum<Ms> || ...);

  /// Leaves read at stride 0 (a per-row statistic, a scalar) are read once per row into a
  /// local: through the row pointer, the compiler must load the value again after every store
  /// to an accumulator or buffer of the same type, which might be the same memory (layer
  /// norm's backward loop broadcast 1/sigma from memory for every four elements).
  /// Only in a loop whose members read nothing another member writes (LoadsFirst): otherwise
  /// the value may be one this loop stores during the row.
  template <class L>
  static constexpr bool held =
      LoadsFirst && std::is_pointer_v<decltype(L::p)> && (reads_row_value<L::index, typename Ms::x>::value || ...);
  using held_t = held_values<held_value<Rk, held<Rk>>...>;
  template <class L>
  static void hold(rows_t& out, held_t& h) {
    if constexpr (held<L>) {
      auto& hv = static_cast<held_value<L, true>&>(h);
      hv.v = *static_cast<const L&>(out).p;
      static_cast<L&>(out).p = &hv.v;
    }
  }
  static rows_t hold_row_values(const rows_t& given, held_t& h) {
    rows_t r = given;
    (hold<Rk>(r, h), ...);
    return r;
  }

  /// Elements [j0, j1) of a row. A loop with sums along the innermost axis walks the row twice
  /// when it has other members too (sums along outer axes, stored values): first those, a loop
  /// whose iterations are independent, then the sums along the row in blocks of row_lanes
  /// elements (element k of a block into running value k). In one walk the two kinds kept each
  /// other from being vectorized (4.0 of layer norm's 7.6 ms at 4096 x 1024 went to that loop);
  /// the second walk reads a row the first just brought into the cache.
  static void inner_loop(const rows_t& given, dests_t& d, std::size_t j0, std::size_t j1) {
    held_t h{};
    const rows_t r = j0 < j1 ? hold_row_values(given, h) : given;  // an empty row reads nothing
    lanes_t ln{};
    if constexpr (others) {
      constexpr part P = row_sums ? part::others : part::all;
      CTGRAD_INDEPENDENT_ITERATIONS
      for (std::size_t j = j0; j < j1; ++j) element<P>(r, d, ln, j, 0);
    }
    if constexpr (row_sums) {
      (start<Ms>(ln), ...);
      std::size_t j = j0;
      // a block is the row of a row_lanes-wide matrix, and its running values that matrix's
      // column sums: the inner loop is the one that vectorizes
      for (; j + row_lanes <= j1; j += row_lanes) {
        CTGRAD_INDEPENDENT_ITERATIONS
        CTGRAD_KEEP_LOOP
        for (std::size_t k = 0; k < row_lanes; ++k) element<part::row_sums>(r, d, ln, j + k, k);
      }
      // no independence promise here: the running values are read and written every iteration
      // (Clang vectorized such a loop under the promise and got minima wrong)
      for (; j < j1; ++j) element<part::row_sums>(r, d, ln, j, 0);
      (flush<Ms>(d, ln), ...);
    }
  }

  /// Sums over four rows at once (see rows_loop): every member is a sum along rows.
  static void four_rows_loop(const std::array<rows_t, 4>& q, dests_t& d, std::size_t j0, std::size_t j1) {
    lanes_t unused{};  // no sum along the innermost axis here
    CTGRAD_INDEPENDENT_ITERATIONS
    for (std::size_t j = j0; j < j1; ++j) {
      const std::tuple<value_t<Ms>...> v{fused::combine<Ms, A>(fused::combine<Ms, A>(value<Ms>(q[0], j), value<Ms>(q[1], j)),
                                                               fused::combine<Ms, A>(value<Ms>(q[2], j), value<Ms>(q[3], j)))...};
      store_all<part::all>(d, unused, v, j, 0, std::index_sequence_for<Ms...>{});
    }
  }
  /// A loop that only sums over rows (per-feature sums of an m x n domain) takes four rows at a
  /// time: each accumulator is then loaded and stored once per four rows, and the four values
  /// are combined pairwise first. The grouping depends on the row only, so a split of the columns
  /// between threads sums in the same order.
  static constexpr bool four_rows = R == 2 && ((Ms::sum && Ms::stride == 1) && ...);

  /// Rows [r0, r1) of the loop's domain (rows: every index of the outer axes, in row-major
  /// order), columns [c0, c1) of the innermost axis.
  static void rows_loop(const args& g, std::size_t c0, std::size_t c1, std::size_t r0, std::size_t r1) {
    rows_t r = g.base;  // counts keep their values; row pointers are set for every row
    dests_t d{};
    index_t idx{};
    if constexpr (R > 1) {  // the outer index of row r0
      std::size_t rest = r0;
      for (std::size_t a = R - 1; a-- > 0;) {
        idx[a] = rest % g.ext[a];
        rest /= g.ext[a];
      }
    }
    std::size_t row_index = r0;
    if constexpr (four_rows) {
      std::array<rows_t, 4> q{g.base, g.base, g.base, g.base};
      for (; row_index + 4 <= r1; row_index += 4) {
        (set_dest<Ms>(d, g, idx), ...);
        for (auto& qk : q) {
          ((static_cast<Rk&>(qk).p = add_offset(static_cast<const Rk&>(g.base).p, offset(idx, g.leaf_strides[Rk::index]))),
           ...);
          ++idx[0];
        }
        four_rows_loop(q, d, c0, c1);
      }
    }
    for (; row_index < r1; ++row_index) {
      ((static_cast<Rk&>(r).p = add_offset(static_cast<const Rk&>(g.base).p, offset(idx, g.leaf_strides[Rk::index]))),
       ...);
      (set_dest<Ms>(d, g, idx), ...);
      inner_loop(r, d, c0, c1);
      if constexpr (R > 1) {
        for (std::size_t a = R - 1; a-- > 0;) {
          if (++idx[a] < g.ext[a]) break;
          idx[a] = 0;
        }
      }
    }
  }

  /// Runs the loop over `total` elements, split between the threads of `team` (if any) when
  /// it is big enough to pay for the hand-over. Without sums, by rows: each thread streams its
  /// own contiguous block. With sums along the outer axes only, by columns of the innermost
  /// axis (multiples of 16): each thread then owns its columns of every accumulator, and each
  /// column is summed in the same order as on one thread. Sums along the innermost axis: one
  /// thread.
  static void run(const args& g, std::size_t total, thread_team* team, std::size_t threshold) {
    const std::size_t inner = R == 0 ? 1 : g.ext[R - 1];
    constexpr bool has_sums = (Ms::sum || ...);
    constexpr bool by_columns = R > 0 && has_sums && ((!Ms::sum || Ms::stride == 1) && ...);
    const std::size_t rows_count = total / inner;
    std::size_t parts = 1;
    if (team && total >= threshold) {
      if constexpr (!has_sums) parts = std::min(team->size(), rows_count);
      else if constexpr (by_columns) parts = std::min(team->size(), inner / 16);
    }
    if (parts <= 1) {
      rows_loop(g, 0, inner, 0, rows_count);
    } else {
      auto part = [&](std::size_t p) {
        if constexpr (!has_sums) {
          const std::size_t r0 = rows_count * p / parts, r1 = rows_count * (p + 1) / parts;
          rows_loop(g, 0, inner, r0, r1);
        } else {
          const std::size_t chunk = (inner / parts + 15) / 16 * 16;
          const std::size_t c0 = std::min(inner, p * chunk), c1 = p + 1 == parts ? inner : std::min(inner, c0 + chunk);
          rows_loop(g, c0, c1, 0, rows_count);
        }
      };
      team->run(parts, part);
    }
  }
};

/// The pointer types of a tuple of output views.
template <class Outs>
struct out_pointers;
template <class... Os>
struct out_pointers<std::tuple<Os...>> {
  using type = std::tuple<typename Os::element_type*...>;
};

/// How many of `outputs` are node i, and at which positions.
template <std::size_t E>
constexpr std::size_t count_of(const std::array<std::uint32_t, E>& outputs, std::uint32_t i) {
  std::size_t c = 0;
  for (std::uint32_t o : outputs) c += o == i;
  return c;
}
template <std::size_t C, std::size_t E>
constexpr std::array<std::size_t, C> positions_of(const std::array<std::uint32_t, E>& outputs, std::uint32_t i) {
  std::array<std::size_t, C> pos{};
  std::size_t k = 0;
  for (std::size_t e = 0; e < E; ++e)
    if (outputs[e] == i) pos[k++] = e;
  return pos;
}

}  // namespace fused

}  // namespace detail
}  // namespace ctgrad

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
