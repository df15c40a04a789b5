#pragma once
// ctgrad/eval/contraction.hpp: evaluating one contraction (expr/contraction.hpp) at run time.
//
// The executor describes a contraction by its indices: one per letter, with its extent and its
// stride in each operand and in the result (0 where the letter is absent or the axis has
// extent 1). `run` then
//   - calls GEMM (cblas_sgemm / cblas_dgemm) when the program links ctgrad::blas (which defines
//     CTGRAD_USE_CBLAS) and the indices map to one: every letter is a batch index (in both
//     operands and the result), a row index (in a and the result), a column index (in b and
//     the result) or a contracted one (in a and b); the contracted letters collapse into one
//     matrix dimension (adjacent in memory, in one order), and so do the row letters and the
//     column letters, but for outer ones, which join the batch letters; each matrix has one
//     unit stride. Transposed operands and results become the call's flags; batch letters are
//     a loop of calls (matmul of a batch by a matrix is one call: batch and rows collapse);
//   - and otherwise runs `loop`, a plain loop that is correct for all strides and accumulates
//     float in double: letters in one operand only (summed over it), single-operand
//     contractions, and every layout a BLAS call cannot take.
// GEMM in float accumulates in float, as every BLAS does; the loop is the reference the tests
// compare the BLAS path with.
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ctgrad/core/shape.hpp"
#include "ctgrad/eval/kernel.hpp"

#if defined(CTGRAD_USE_CBLAS)
#include <cblas.h>
#endif

namespace ctgrad::detail::contraction {

/// One letter of a contraction: its extent and its strides in operand 0, operand 1 and the
/// result (0: the letter is not there).
struct index_info {
  std::size_t n = 1;
  std::array<std::size_t, 3> stride{};
};

/// A contraction as the executor describes it.
struct problem {
  std::size_t operands = 2;
  std::size_t count = 0;
  std::array<char, 3 * max_rank> letter{};
  std::array<index_info, 3 * max_rank> index{};
};

inline constexpr std::size_t result_slot = 2;

/// Calls f(offsets) for every combination of the indices `which` (offsets: into the three
/// tensors), in odometer order.
template <class F>
void for_each_offset(const problem& p, const std::array<std::size_t, 3 * max_rank>& which, std::size_t count, F&& f) {
  std::array<std::size_t, 3 * max_rank> at{};
  std::array<std::size_t, 3> off{};
  for (;;) {
    f(off);
    std::size_t d = count;
    for (;;) {
      if (d == 0) return;
      --d;
      const auto& ix = p.index[which[d]];
      if (++at[d] < ix.n) {
        for (std::size_t t = 0; t < 3; ++t) off[t] += ix.stride[t];
        break;
      }
      for (std::size_t t = 0; t < 3; ++t) off[t] -= (ix.n - 1) * ix.stride[t];
      at[d] = 0;
    }
  }
}

/// The plain loop: for every index of the result, the sum over the other letters, accumulated
/// in accumulator_t<T> (double for float). Correct for all strides.
template <class T>
void loop(const problem& p, const T* a, const T* b, T* c, std::size_t c_count) {
  using A = accumulator_t<T>;
  for (std::size_t k = 0; k < c_count; ++k) c[k] = T{};
  std::array<std::size_t, 3 * max_rank> kept{}, summed{};
  std::size_t nk = 0, ns = 0;
  for (std::size_t q = 0; q < p.count; ++q) {
    if (p.index[q].n == 0) return;  // nothing to sum: zeros
    if (p.index[q].stride[result_slot] != 0) kept[nk++] = q;
    else summed[ns++] = q;
  }
  for_each_offset(p, kept, nk, [&](const std::array<std::size_t, 3>& o) {
    A acc{};
    for_each_offset(p, summed, ns, [&](const std::array<std::size_t, 3>& i) {
      const A va = static_cast<A>(a[o[0] + i[0]]);
      acc += p.operands == 2 ? va * static_cast<A>(b[o[1] + i[1]]) : va;
    });
    c[o[2]] = static_cast<T>(acc);
  });
}

/// A group of letters collapsed into one matrix dimension: its extent and its stride in the
/// two tensors that hold it.
struct dimension {
  std::size_t n = 1;
  std::array<std::size_t, 3> stride{};
};

/// Collapses the letters `which` (held by tensors t0 and t1) into one dimension: ordered by
/// decreasing stride in t0, the innermost run of letters in which each has the next one's
/// stride times its extent, in both tensors. The letters left outside the run are appended to
/// `rest` (for a loop of GEMM calls).
inline dimension collapse(const problem& p, std::array<std::size_t, 3 * max_rank> which, std::size_t count, std::size_t t0,
                          std::size_t t1, std::array<std::size_t, 3 * max_rank>& rest, std::size_t& rest_count) {
  dimension d{};
  if (count == 0) return d;
  for (std::size_t x = 1; x < count; ++x)  // insertion sort by decreasing stride in t0
    for (std::size_t y = x; y > 0 && p.index[which[y]].stride[t0] > p.index[which[y - 1]].stride[t0]; --y) {
      const std::size_t tmp = which[y];
      which[y] = which[y - 1];
      which[y - 1] = tmp;
    }
  std::size_t first = count - 1;
  while (first > 0) {
    const auto &hi = p.index[which[first - 1]], &lo = p.index[which[first]];
    if (hi.stride[t0] != lo.stride[t0] * lo.n || hi.stride[t1] != lo.stride[t1] * lo.n) break;
    --first;
  }
  for (std::size_t x = 0; x < first; ++x) rest[rest_count++] = which[x];
  const auto& last = p.index[which[count - 1]];
  for (std::size_t x = first; x < count; ++x) d.n *= p.index[which[x]].n;
  d.stride[t0] = last.stride[t0];
  d.stride[t1] = last.stride[t1];
  return d;
}

/// A matrix of `rows` x `cols` with strides (sr, sc) as a row-major BLAS operand: transposed
/// or not, and its leading dimension; ok = false when it is neither.
struct matrix {
  bool trans = false;
  std::size_t ld = 1;
  bool ok = false;
};
inline matrix as_matrix(std::size_t rows, std::size_t cols, std::size_t sr, std::size_t sc) {
  const std::size_t r1 = rows > 1 ? rows : 1, c1 = cols > 1 ? cols : 1;
  if ((sc == 1 || cols <= 1) && (rows <= 1 || sr >= c1)) return {false, rows <= 1 ? c1 : sr, true};
  if ((sr == 1 || rows <= 1) && (cols <= 1 || sc >= r1)) return {true, cols <= 1 ? r1 : sc, true};
  return {};
}

#if defined(CTGRAD_USE_CBLAS)
inline void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const float* a, std::size_t lda,
                 const float* b, std::size_t ldb, float* c, std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0f, c,
              static_cast<int>(ldc));
}
inline void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, const double* a, std::size_t lda,
                 const double* b, std::size_t ldb, double* c, std::size_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<int>(m),
              static_cast<int>(n), static_cast<int>(k), 1.0, a, static_cast<int>(lda), b, static_cast<int>(ldb), 0.0, c,
              static_cast<int>(ldc));
}
#endif

/// True when BLAS is linked in (ctgrad::blas) and T is float or double.
template <class T>
inline constexpr bool has_gemm =
#if defined(CTGRAD_USE_CBLAS)
    std::is_same<T, float>::value || std::is_same<T, double>::value;
#else
    false;
#endif

/// Runs the contraction as GEMM calls when its letters and strides map to them (see the top
/// of this header) and returns their number; 0, having written nothing, when they do not.
template <class T>
std::size_t try_gemm([[maybe_unused]] const problem& p, [[maybe_unused]] const T* a, [[maybe_unused]] const T* b,
              [[maybe_unused]] T* c) {
#if !defined(CTGRAD_USE_CBLAS)
  return 0;
#else
  if constexpr (!has_gemm<T>) {
    return 0;
  } else {
    if (p.operands != 2) return 0;
    std::array<std::size_t, 3 * max_rank> batch{}, rows{}, cols{}, inner{};
    std::size_t nb = 0, nr = 0, nc = 0, ni = 0;
    for (std::size_t q = 0; q < p.count; ++q) {
      const auto& s = p.index[q].stride;
      if (p.index[q].n == 0) return 0;
      if (p.index[q].n == 1) continue;  // takes part in nothing
      const bool in_a = s[0] != 0, in_b = s[1] != 0, in_c = s[result_slot] != 0;
      if (in_a && in_b && in_c) batch[nb++] = q;
      else if (in_a && in_c) rows[nr++] = q;
      else if (in_b && in_c) cols[nc++] = q;
      else if (in_a && in_b) inner[ni++] = q;
      else return 0;  // summed over one operand only
    }
    // Row and column letters outside their group's collapsible run join the batch loop; a
    // contracted letter cannot (the calls would have to add up): the loop then.
    std::size_t left = 0;
    std::array<std::size_t, 3 * max_rank> unused{};
    const dimension K = contraction::collapse(p, inner, ni, 0, 1, unused, left);
    if (left != 0) return 0;
    const dimension M = contraction::collapse(p, rows, nr, 0, result_slot, batch, nb);
    const dimension N = contraction::collapse(p, cols, nc, 1, result_slot, batch, nb);
    // C = A B with A: M x K (in a), B: K x N (in b), C: M x N; when C is stored transposed,
    // C^T = B^T A^T instead.
    const matrix mc = contraction::as_matrix(M.n, N.n, M.stride[result_slot], N.stride[result_slot]);
    if (!mc.ok) return 0;
    const bool swap = mc.trans;
    const std::size_t m = swap ? N.n : M.n, n = swap ? M.n : N.n;
    const matrix ma = swap ? contraction::as_matrix(N.n, K.n, N.stride[1], K.stride[1])
                           : contraction::as_matrix(M.n, K.n, M.stride[0], K.stride[0]);
    const matrix mb = swap ? contraction::as_matrix(K.n, M.n, K.stride[0], M.stride[0])
                           : contraction::as_matrix(K.n, N.n, K.stride[1], N.stride[1]);
    if (!ma.ok || !mb.ok) return 0;
    const T* pa = swap ? b : a;
    const T* pb = swap ? a : b;
    const std::size_t ta = swap ? 1 : 0, tb = swap ? 0 : 1;  // the tensors pa and pb point into
    std::size_t calls = 0;
    for_each_offset(p, batch, nb, [&](const std::array<std::size_t, 3>& o) {
      ++calls;
      contraction::gemm(ma.trans, mb.trans, m, n, K.n, pa + o[ta], ma.ld, pb + o[tb], mb.ld, c + o[result_slot], mc.ld);
    });
    return calls;
  }
#endif
}

/// Evaluates the contraction p of a (and b) into c (c_count elements, every one written);
/// returns the number of GEMM calls it made (0: it ran the loop).
template <class T>
std::size_t run(const problem& p, const T* a, const T* b, T* c, std::size_t c_count) {
  if (c_count == 0) return 0;
  const std::size_t calls = contraction::try_gemm(p, a, b, c);
  if (calls == 0) contraction::loop(p, a, b, c, c_count);
  return calls;
}

}  // namespace ctgrad::detail::contraction
