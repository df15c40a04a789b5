// What a class template specialized on a whole pack costs GCC (docs/performance.md, section 4):
// N lookups through a member template of a class holding N types, the class written as a
// partial specialization on type_list<Ns...> (-DPACK) or taking the list as one type argument.
// GCC 12 rebuilds the pack for every instantiation of the member template in the first form.
//
//   for n in 800 1600; do for v in PACK NOPACK; do
//     /usr/bin/time -f "N=$n $v %U s" g++ -std=c++20 -c -DN=$n -D$v \
//       benchmarks/compile_scaling/pack_member_lookup.cpp -o /dev/null; done; done
#include <cstddef>
#include <utility>
#include <type_traits>

template <class...>
struct type_list {};
template <std::size_t I>
struct node_type {};

template <class L>
struct holder;
#ifdef PACK
template <class... Ns>
struct holder<type_list<Ns...>> {
  using self = type_list<Ns...>;
  template <std::size_t I>
  struct get {
    using type = std::integral_constant<std::size_t, sizeof(self) + I>;
  };
};
#else
template <class L>
struct holder {
  using self = L;
  template <std::size_t I>
  struct get {
    using type = std::integral_constant<std::size_t, sizeof(self) + I>;
  };
};
#endif

template <class L, class Seq>
struct user;
template <class L, std::size_t... I>
struct user<L, std::index_sequence<I...>> {
  static constexpr std::size_t value = (holder<L>::template get<I>::type::value + ...);
};
template <class Seq>
struct make_list;
template <std::size_t... I>
struct make_list<std::index_sequence<I...>> {
  using type = type_list<node_type<I>...>;
};
using list = make_list<std::make_index_sequence<N>>::type;

int main() { return static_cast<int>(user<list, std::make_index_sequence<N>>::value % 2); }
