#pragma once
// ctgrad/graph/buckets.hpp: sets of node types split into 64 buckets by a structural key.
//
//   constexpr std::size_t k = ctgrad::detail::node_key<N>::value % 64;   // N's bucket
//   using b = ctgrad::detail::bucket_insert_t<ctgrad::detail::empty_buckets, k, N>;
//   ctgrad::detail::bucket_at_t<b, k>                                     // type_list<N>
//
// What a compiler pays for in a search over a graph's types is template instantiations and
// the length of their argument lists. A node can only be in the bucket of its own key, so
// asking whether a set holds it, or where, looks at one bucket (about 1/64 of the set on a
// large graph), and adding a node copies one bucket, not the whole set. The topological sort
// (graph/topo.hpp) keeps its visited set this way, and graph_index (graph/index.hpp) its places.
//
// The buckets are 8 groups of 8 type_lists, read and replaced through select<J>'s alias
// templates (no class is instantiated per access), and the key is one small class per node type,
// memoized by the compiler: nothing here is a function or a variable named by a node type
// (GCC 12 mangles each of those, at a cost quadratic in the length of the name).
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "ctgrad/core/fixed_string.hpp"
#include "ctgrad/core/rational.hpp"
#include "ctgrad/expr/node.hpp"

namespace ctgrad::detail {

constexpr std::uint64_t key_mix(std::uint64_t h, std::uint64_t v) { return (h ^ v) * 0x100000001b3ULL + (h >> 29); }
constexpr std::uint64_t key_of_chars(const char* s, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < n; ++i) h = key_mix(h, static_cast<unsigned char>(s[i]));
  return h;
}
constexpr std::uint64_t key_of_children(std::initializer_list<std::uint64_t> keys) {
  std::uint64_t h = key_mix(0x9e3779b97f4a7c15ULL, keys.size());
  for (const std::uint64_t k : keys) h = key_mix(h, k);
  return h;
}

/// A hash of N's structure (its arity, its operands' keys, a leaf's name or value): equal
/// types have equal keys; distinct types may share one (exp(x) and log(x) do), which only puts
/// them in one bucket.
template <class N>
struct node_key : std::integral_constant<std::uint64_t, 1> {};
template <fixed_string Name, std::size_t Rank>
struct node_key<input_node<Name, Rank>>
    : std::integral_constant<std::uint64_t, key_of_chars(Name.data, sizeof(Name.data)) + Rank> {};
template <rational V>
struct node_key<constant_node<V>>
    : std::integral_constant<std::uint64_t, key_mix(static_cast<std::uint64_t>(V.num), static_cast<std::uint64_t>(V.den))> {};
template <class Op, class... Cs>
struct node_key<node<Op, Cs...>> : std::integral_constant<std::uint64_t, key_of_children({node_key<Cs>::value...})> {};

/// Eight types; element J read and replaced through select<J>'s aliases.
template <class... Ts>
struct octet {};
template <std::size_t J>
struct select;
template <>
struct select<0> {
  template <class T, class...> using at = T;
  template <class New, class, class... R> using put = octet<New, R...>;
};
template <>
struct select<1> {
  template <class, class T, class...> using at = T;
  template <class New, class A0, class, class... R> using put = octet<A0, New, R...>;
};
template <>
struct select<2> {
  template <class, class, class T, class...> using at = T;
  template <class New, class A0, class A1, class, class... R> using put = octet<A0, A1, New, R...>;
};
template <>
struct select<3> {
  template <class, class, class, class T, class...> using at = T;
  template <class New, class A0, class A1, class A2, class, class... R> using put = octet<A0, A1, A2, New, R...>;
};
template <>
struct select<4> {
  template <class, class, class, class, class T, class...> using at = T;
  template <class New, class A0, class A1, class A2, class A3, class, class... R>
  using put = octet<A0, A1, A2, A3, New, R...>;
};
template <>
struct select<5> {
  template <class, class, class, class, class, class T, class...> using at = T;
  template <class New, class A0, class A1, class A2, class A3, class A4, class, class... R>
  using put = octet<A0, A1, A2, A3, A4, New, R...>;
};
template <>
struct select<6> {
  template <class, class, class, class, class, class, class T, class...> using at = T;
  template <class New, class A0, class A1, class A2, class A3, class A4, class A5, class, class... R>
  using put = octet<A0, A1, A2, A3, A4, A5, New, R...>;
};
template <>
struct select<7> {
  template <class, class, class, class, class, class, class, class T> using at = T;
  template <class New, class A0, class A1, class A2, class A3, class A4, class A5, class A6, class>
  using put = octet<A0, A1, A2, A3, A4, A5, A6, New>;
};
template <std::size_t J, class O>
struct octet_at;
template <std::size_t J, class... Ts>
struct octet_at<J, octet<Ts...>> {
  using type = typename select<J>::template at<Ts...>;
};
template <std::size_t J, class New, class O>
struct octet_put;
template <std::size_t J, class New, class... Ts>
struct octet_put<J, New, octet<Ts...>> {
  using type = typename select<J>::template put<New, Ts...>;
};

using empty_octet = octet<type_list<>, type_list<>, type_list<>, type_list<>, type_list<>, type_list<>, type_list<>, type_list<>>;
/// 64 empty buckets.
using empty_buckets =
    octet<empty_octet, empty_octet, empty_octet, empty_octet, empty_octet, empty_octet, empty_octet, empty_octet>;

/// Bucket K of Buckets (a type_list).
template <class Buckets, std::size_t K>
using bucket_at_t = typename octet_at<K % 8, typename octet_at<K / 8, Buckets>::type>::type;

/// Buckets with T appended to bucket K.
template <class Buckets, std::size_t K, class T>
struct bucket_insert {
  template <class Bucket>
  struct with;
  template <class... Ts>
  struct with<type_list<Ts...>> {
    using type = type_list<Ts..., T>;
  };
  using group = typename octet_at<K / 8, Buckets>::type;
  using type = typename octet_put<K / 8, typename octet_put<K % 8, typename with<typename octet_at<K % 8, group>::type>::type, group>::type,
                                  Buckets>::type;
};
template <class Buckets, std::size_t K, class T>
using bucket_insert_t = typename bucket_insert<Buckets, K, T>::type;

}  // namespace ctgrad::detail
