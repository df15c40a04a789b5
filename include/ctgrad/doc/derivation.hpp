#pragma once
// ctgrad/doc/derivation.hpp: the steps of a reverse-mode derivation, as data a document is
// written from (ctgrad/doc/markdown.hpp, ctgrad/doc/dot.hpp).
//
//   auto d = ctgrad::doc::derive(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma, beta), names,
//                                {.extents = {"m", "n"}});
//   auto raw = ctgrad::doc::derive<ctgrad::doc::chain_rule::raw>(...);   // the unsimplified chain rule
//   d.forward;     // numbered forward steps: every intermediate with its name and definition
//   d.backward;    // numbered adjoint steps: per consumer the local rule and its contribution
//   d.gradients;   // the final gradient of each wrt input
//
// The backward pass is walked exactly as ctgrad::vjp walks it (diff/vjp.hpp): unique nodes in
// reverse topological order; the adjoint of a node is the seed (for an output) plus, for every
// consumer in topological order and every operand position it holds there, the consumer's local
// rule fitted to the node's shape (summed over the axes along which the node was broadcast).
// Each unique node is visited once, so the work grows with the graph, not with its paths. A test
// checks that the gradients found here are the very types ctgrad::vjp returns.
//
// Intermediates without a name get v_{1}, v_{2}, ... in forward order; the adjoint of a value
// named v is \overline{v} (text: dv). Final gradients are written with the caller's names only.
#include <algorithm>
#include <cstddef>
#include <map>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ctgrad/diff/vjp.hpp"
#include "ctgrad/doc/dot.hpp"
#include "ctgrad/doc/latex.hpp"
#include "ctgrad/doc/names.hpp"
#include "ctgrad/doc/unsimplified.hpp"
#include "ctgrad/expr/list.hpp"
#include "ctgrad/expr/reduction.hpp"
#include "ctgrad/graph/topo.hpp"

namespace ctgrad::doc {

/// Simplified adjoints (what ctgrad::vjp returns), or every local rule applied literally.
enum class chain_rule { simplified, raw };

struct derivation_options {
  /// Symbols for the extents of the highest-rank input's axes ({"m", "n"}): shapes are printed
  /// as $1 \times n$. Empty: shapes are not printed.
  std::vector<std::string> extents{};
  /// Title drawn on the graph pictures.
  std::string title{};
};

/// An input of the computation.
struct input_info {
  type_id id = nullptr;
  std::string tex;
  std::string text;
  std::string shape;   ///< LaTeX, e.g. "m \times n"; empty when unknown
  std::string description;
  bool differentiated = false;
};

/// One forward step: `name = definition`.
struct forward_step {
  std::size_t number = 0;  ///< F1, F2, ...
  std::string tex;         ///< the name, LaTeX
  std::string text;
  std::string definition_tex;
  std::string definition_text;
  std::string shape;
  std::string description;
  std::vector<std::size_t> consumers;  ///< forward step numbers that read this value
  bool is_output = false;
  bool shape_only = false;  ///< a count: a number of elements, never differentiated
};

/// What one consumer (or the seed) contributes to an adjoint.
struct contribution {
  bool from_seed = false;
  std::size_t consumer = 0;  ///< forward step number of the consumer
  std::string consumer_tex;  ///< "\hat{x} = \frac{v_{2}}{v_{6}}"
  std::string rule_name;
  std::string rule_latex;
  std::string tex;           ///< the contribution, fitted to the node's shape
  std::string summed_axes;   ///< "i" when an implicit broadcast of the node was summed away
  std::string broadcast_axes;  ///< "i" when the rule's result was repeated to the node's shape
  bool zero = false;         ///< the rule contributes nothing (stop_gradient, shape operands)
};

/// One backward step: the adjoint of one unique node.
struct backward_step {
  std::size_t number = 0;   ///< B1, B2, ...
  std::size_t forward = 0;  ///< the forward step of the node (0 for an input)
  std::string node_tex;
  std::string node_text;
  std::string adjoint_tex;  ///< \overline{...}
  std::string shape;
  std::vector<contribution> contributions;
  std::string sum_tex;      ///< the contributions added, as the rules give them
  std::string result_tex;   ///< the adjoint as built (simplified when the chain rule is)
  std::string note;
  bool is_input = false;
};

/// The gradient of one wrt input, written with the caller's names.
struct gradient {
  std::string input_tex;
  std::string input_text;
  std::string tex;
  std::string text;
  std::size_t unique_nodes = 0;
};

/// Everything a document about one derivation needs.
struct derivation {
  chain_rule rule = chain_rule::simplified;
  std::vector<input_info> inputs;
  std::vector<forward_step> forward;
  std::vector<backward_step> backward;
  std::vector<gradient> gradients;
  std::vector<std::string> seeds_tex;  ///< one per output
  std::vector<std::string> outputs_tex;
  name_table names;        ///< the caller's names, then v_k, then adjoints
  name_table user_names;   ///< the caller's names only
  std::size_t forward_nodes = 0;   ///< unique nodes of the outputs
  std::size_t gradient_nodes = 0;  ///< unique nodes of outputs and gradients together
  std::string forward_dot;         ///< the forward graph (Graphviz)
  std::string gradient_dot;        ///< the gradients' graph, forward nodes white, backward shaded
};

namespace detail {

// ---- the reverse walk (mirrors ctgrad::vjp; see the header comment) ------------------------

struct none {};

template <class A, class B>
constexpr auto accumulate(A a, B b) {
  if constexpr (std::is_same_v<A, none>) return b;
  else if constexpr (std::is_same_v<B, none>) return a;
  else return ctgrad::add(a, b);
}

template <class Target, class C>
constexpr auto fit_to(C c) {
  if constexpr (std::is_same_v<C, none>) return none{};
  else if constexpr (is_zero_v<C>) return none{};
  else if constexpr (C::shape == Target::shape) return c;
  else if constexpr (ctgrad::detail::covers(C::shape, Target::shape)) return ctgrad::make_node<reduce_to_op<Target::shape>>(c);
  else return ctgrad::make_node<broadcast_op>(c, Target{});
}

template <class Acc, class... Cs>
struct fold {
  using type = Acc;
};
template <class Acc, class C, class... Rest>
struct fold<Acc, C, Rest...> : fold<decltype(detail::accumulate(Acc{}, C{})), Rest...> {};
template <class... Cs>
using sum_t = typename fold<none, Cs...>::type;

template <class L, class T>
struct has;
template <class... Ts, class T>
struct has<type_list<Ts...>, T> : std::bool_constant<(std::is_same_v<Ts, T> || ...)> {};

template <class In, class Out = type_list<>>
struct reversed;
template <class... Out>
struct reversed<type_list<>, type_list<Out...>> {
  using type = type_list<Out...>;
};
template <class N, class... Rest, class... Out>
struct reversed<type_list<N, Rest...>, type_list<Out...>> : reversed<type_list<Rest...>, type_list<N, Out...>> {};

/// The local rule of consumer P for its operand at position I, given P's adjoint G.
template <class P, std::size_t I, class G>
struct local_rule;
template <class Op, class... Args, std::size_t I, class G>
struct local_rule<node<Op, Args...>, I, G> {
  using type = decltype(Op::template vjp<I>(G{}, node<Op, Args...>{}, Args{}...));
};

template <class Order, class Outputs, class Seeds, class Wrt>
struct reverse_walk;

template <class... Ns, class... Os, class... Ss, class... Ws>
struct reverse_walk<type_list<Ns...>, type_list<Os...>, type_list<Ss...>, type_list<Ws...>> {
  using order = type_list<Ns...>;

  template <class N>
  struct depends : std::false_type {};
  template <fixed_string Name, std::size_t R>
  struct depends<input_node<Name, R>> : std::bool_constant<(std::is_same_v<input_node<Name, R>, Ws> || ...)> {};
  template <class Op, class Args, class I = std::make_index_sequence<Args::size>>
  struct depends_through;
  template <class Op, class... As, std::size_t... I>
  struct depends_through<Op, type_list<As...>, std::index_sequence<I...>>
      : std::bool_constant<((op_traits<Op>::has_derivative(I) && depends<As>::value) || ...)> {};
  template <class Op, class... Args>
  struct depends<node<Op, Args...>> : depends_through<Op, type_list<Args...>> {};

  template <class N>
  struct adjoint;

  template <class P, class N, std::size_t I, class Arg>
  static constexpr auto at_position() {
    if constexpr (!std::is_same_v<Arg, N> || !op_traits<typename P::op>::has_derivative(I)) return none{};
    else return detail::fit_to<N>(typename local_rule<P, I, typename adjoint<P>::type>::type{});
  }
  template <class P, class N, class... Args, std::size_t... I>
  static constexpr auto positions(type_list<Args...>, std::index_sequence<I...>) {
    return sum_t<decltype(at_position<P, N, I, Args>())...>{};
  }
  template <class P, class N>
  static constexpr auto contribution_of() {
    if constexpr (!has<children_t<P>, N>::value || !depends<P>::value) return none{};
    else if constexpr (std::is_same_v<typename adjoint<P>::type, none>) return none{};
    else return positions<P, N>(children_t<P>{}, std::make_index_sequence<children_t<P>::size>{});
  }
  template <class N>
  using seed_t = sum_t<decltype(detail::fit_to<N>(std::conditional_t<std::is_same_v<Os, N>, Ss, none>{}))...>;

  template <class N>
  struct adjoint {
    using type = sum_t<seed_t<N>, decltype(contribution_of<Ns, N>())...>;
  };

  template <class W>
  static constexpr auto gradient() {
    using a = typename adjoint<W>::type;
    if constexpr (std::is_same_v<a, none> || !has<order, W>::value) return ctgrad::zeros_like(W{});
    else return detail::fit_to<W>(a{});
  }
  using gradients = expr_list<decltype(gradient<Ws>())...>;
};

// ---- shapes and names ----------------------------------------------------------------------

template <class E>
std::string shape_tex(const derivation_options& o) {
  constexpr std::size_t r = E::shape.rank;
  if (o.extents.empty() || r > o.extents.size()) return {};
  if (r == 0) return "1";
  std::string s;
  for (std::size_t a = 0; a < r; ++a) {
    if (a) s += " \\times ";
    s += E::shape.is_unit(a) ? std::string("1") : o.extents[o.extents.size() - r + a];
  }
  return s;
}

inline std::string overline(const std::string& tex) { return "\\overline{" + tex + "}"; }

template <class N>
inline constexpr bool is_count_node = false;
template <class Op, class A>
inline constexpr bool is_count_node<node<Op, A>> = op_traits<Op>::category == op_category::shape_function;

template <class P>
struct rule_of;
template <class Op, class... Args>
struct rule_of<node<Op, Args...>> {
  static std::string name() {
    if constexpr (requires { Op::rule_name; }) return std::string(Op::rule_name);
    else return fmt::format("the local rule of {} (its vjp member)", Op::template symbol<Args...>());
  }
};
template <class Op>
std::string rule_latex_of() {
  if constexpr (requires { Op::rule_latex; }) return std::string(Op::rule_latex);
  else return {};
}

/// Per forward node: its step number (0 for leaves).
using step_map = std::map<type_id, std::size_t>;

/// E as the right-hand side of `self = ...`: by name, unless that name is `self` itself (an
/// adjoint the caller named in advance), then by its definition.
template <class E>
std::string rhs_latex(const name_table& names, const std::string& self) {
  const name_entry* n = names.find(id_of(E{}));
  if (n != nullptr && n->latex == self) return doc::definition_latex(E{}, names);
  return doc::to_latex(E{}, names);
}

template <class Walk, class N, class P, std::size_t I, class Arg>
void add_contribution(std::vector<contribution>& out, const name_table& names, const step_map& steps,
                      const std::string& self) {
  if constexpr (std::is_same_v<Arg, N>) {
    using g = typename Walk::template adjoint<P>::type;
    using local = typename local_rule<P, I, g>::type;
    using fitted = decltype(detail::fit_to<N>(local{}));
    contribution c;
    c.consumer = steps.at(id_of(P{}));
    c.consumer_tex = doc::to_latex(P{}, names) + " = " + doc::definition_latex(P{}, names);
    c.rule_name = rule_of<P>::name();
    c.rule_latex = rule_latex_of<typename P::op>();
    if constexpr (std::is_same_v<fitted, none>) {
      c.zero = true;
    } else {
      if constexpr (!(local::shape == N::shape)) {
        if constexpr (ctgrad::detail::covers(local::shape, N::shape))
          c.summed_axes = ctgrad::detail::latex_axes(ctgrad::detail::reduced_axes_mask<N::shape, local>());
        else
          c.broadcast_axes = ctgrad::detail::latex_axes(ctgrad::detail::broadcast_axes_mask<local, N>());
      }
      c.tex = detail::rhs_latex<fitted>(names, self);
    }
    out.push_back(std::move(c));
  }
}

template <class Walk, class N, class P, class... Args, std::size_t... I>
void add_positions(std::vector<contribution>& out, const name_table& names, const step_map& steps,
                   const std::string& self, type_list<Args...>, std::index_sequence<I...>) {
  (add_contribution<Walk, N, P, I, Args>(out, names, steps, self), ...);
}

template <class Walk, class N, class P>
void add_consumer(std::vector<contribution>& out, const name_table& names, const step_map& steps,
                  const std::string& self) {
  if constexpr (has<children_t<P>, N>::value && Walk::template depends<P>::value) {
    if constexpr (!std::is_same_v<typename Walk::template adjoint<P>::type, none>)
      add_positions<Walk, N, P>(out, names, steps, self, children_t<P>{},
                                std::make_index_sequence<children_t<P>::size>{});
  }
}

template <class Walk, class Outputs, class Seeds, class N>
struct backward_builder;
template <class Walk, class... Os, class... Ss, class N>
struct backward_builder<Walk, type_list<Os...>, type_list<Ss...>, N> {
  template <class... Ps>
  static void run(derivation& d, const step_map& steps, const derivation_options& o, type_list<Ps...>) {
    using adj = typename Walk::template adjoint<N>::type;
    if constexpr (!std::is_same_v<adj, none> && Walk::template depends<N>::value) {
      backward_step s;
      s.number = d.backward.size() + 1;
      s.forward = steps.count(id_of(N{})) ? steps.at(id_of(N{})) : 0;
      s.is_input = is_input_v<N>;
      s.node_tex = doc::to_latex(N{}, d.names);
      const name_entry* own = d.names.find(id_of(N{}));
      s.node_text = own ? own->text : ctgrad::to_text(N{});
      if (own) s.note = own->adjoint_note;
      s.adjoint_tex = detail::overline(s.node_tex);
      s.shape = shape_tex<N>(o);
      // the seed, for an output
      ([&] {
        if constexpr (std::is_same_v<Os, N>) {
          contribution c;
          c.from_seed = true;
          c.tex = doc::to_latex(Ss{}, d.names);
          s.contributions.push_back(std::move(c));
        }
      }(), ...);
      (add_consumer<Walk, N, Ps>(s.contributions, d.names, steps, s.adjoint_tex), ...);
      for (const auto& c : s.contributions) {
        if (c.zero) continue;
        if (!s.sum_tex.empty()) s.sum_tex += c.tex.starts_with("-") ? " " : " + ";
        s.sum_tex += c.tex;
      }
      s.result_tex = detail::rhs_latex<adj>(d.names, s.adjoint_tex);
      d.names.add(name_entry{id_of(adj{}), "d" + s.node_text, s.adjoint_tex, own ? "d" + own->picture_label() : std::string{}, {}, {}});
      d.backward.push_back(std::move(s));
    }
  }
};

template <class Outputs, class Grads>
struct gradient_order_size;
template <class... Os, class... Gs>
struct gradient_order_size<type_list<Os...>, expr_list<Gs...>> {
  static constexpr std::size_t value = topological_order_t<Os..., Gs...>::size;
};

template <class Walk, class Outputs, class Seeds, class... Rs, class Order>
void build_backward(derivation& d, const step_map& steps, const derivation_options& o, type_list<Rs...>, Order order) {
  (backward_builder<Walk, Outputs, Seeds, Rs>::run(d, steps, o, order), ...);
}

template <class... Ns>
void name_intermediates(derivation& d, step_map& steps, const derivation_options& o, type_list<Ns...>) {
  std::size_t k = 0;
  ([&] {
    if constexpr (!is_input_v<Ns> && !is_constant_v<Ns>) {
      if (d.names.find(id_of(Ns{})) == nullptr) {
        ++k;
        d.names.add(name_entry{id_of(Ns{}), fmt::format("v{}", k), fmt::format("v_{{{}}}", k), {}, {}, {}});
      }
      steps[id_of(Ns{})] = steps.size() + 1;
    }
  }(), ...);
  (void)o;
}

template <class S>
struct seed_of_given {
  using type = S;
};
template <class S>
struct seed_of_given<node<unsimplified_op, S>> {
  using type = S;
};

template <class Wrt, class Outputs, class... Ns>
void forward_steps(derivation& d, const step_map& steps, const derivation_options& o, type_list<Ns...>) {
  ([&] {
    if constexpr (is_input_v<Ns>) {
      input_info in;
      in.id = id_of(Ns{});
      in.tex = doc::to_latex(Ns{}, d.names);
      const name_entry* e = d.names.find(id_of(Ns{}));
      in.text = e ? e->text : std::string(Ns::name.view());
      if (e) in.description = e->description;
      in.shape = shape_tex<Ns>(o);
      in.differentiated = has<Wrt, Ns>::value;
      d.inputs.push_back(std::move(in));
    } else if constexpr (!is_constant_v<Ns>) {
      forward_step f;
      f.number = steps.at(id_of(Ns{}));
      f.tex = doc::to_latex(Ns{}, d.names);
      f.text = d.names.find(id_of(Ns{}))->text;
      f.definition_tex = doc::definition_latex(Ns{}, d.names);
      f.definition_text = doc::definition_text(Ns{}, d.names);
      f.shape = shape_tex<Ns>(o);
      f.description = d.names.find(id_of(Ns{}))->description;
      f.shape_only = is_count_node<Ns>;
      f.is_output = has<Outputs, Ns>::value;
      d.forward.push_back(std::move(f));
    }
  }(), ...);
  // consumers: which later steps read each value
  ([&] {
    if constexpr (!is_input_v<Ns> && !is_constant_v<Ns>) {
      const std::size_t p = steps.at(id_of(Ns{}));
      [&]<class... Args>(type_list<Args...>) {
        ([&] {
          if constexpr (!is_input_v<Args> && !is_constant_v<Args>) {
            auto& cs = d.forward[steps.at(id_of(Args{})) - 1].consumers;
            if (cs.empty() || cs.back() != p) cs.push_back(p);
          }
        }(), ...);
      }(children_t<Ns>{});
    }
  }(), ...);
}

template <class S>
void add_seed_input(derivation& d, const derivation_options& o) {
  // the seed as the caller gave it (derive<raw> wraps it in unsimplified(...))
  using seed = typename seed_of_given<S>::type;
  if constexpr (is_input_v<seed>) {
    for (const auto& in : d.inputs)
      if (in.id == id_of(seed{})) return;
    input_info in;
    in.id = id_of(seed{});
    in.tex = doc::to_latex(seed{}, d.names);
    const name_entry* e = d.names.find(id_of(seed{}));
    in.text = e ? e->text : std::string(seed::name.view());
    if (e) in.description = e->description;
    in.shape = shape_tex<seed>(o);
    d.inputs.push_back(std::move(in));
  }
}

/// Inputs in the order the caller named them; unnamed ones after, in evaluation order.
inline void sort_inputs(derivation& d) {
  auto rank = [&](const input_info& in) {
    const auto& es = d.user_names.entries();
    for (std::size_t k = 0; k < es.size(); ++k)
      if (es[k].id == in.id) return k;
    return es.size();
  };
  std::stable_sort(d.inputs.begin(), d.inputs.end(),
                   [&](const input_info& a, const input_info& b) { return rank(a) < rank(b); });
}

template <class... Os, class... Ss, class... Ws>
auto derive_impl(derivation& d, const derivation_options& o, type_list<Os...>, type_list<Ss...>, type_list<Ws...>) {
  using order = topological_order_t<Os...>;
  using walk = reverse_walk<order, type_list<Os...>, type_list<Ss...>, type_list<Ws...>>;
  using grads = typename walk::gradients;
  d.forward_nodes = order::size;
  d.gradient_nodes = gradient_order_size<type_list<Os...>, grads>::value;

  step_map steps;
  name_intermediates(d, steps, o, order{});
  forward_steps<type_list<Ws...>, type_list<Os...>>(d, steps, o, order{});
  (d.outputs_tex.push_back(doc::to_latex(Os{}, d.names)), ...);
  (d.seeds_tex.push_back(doc::to_latex(Ss{}, d.names)), ...);
  (add_seed_input<Ss>(d, o), ...);
  sort_inputs(d);

  build_backward<walk, type_list<Os...>, type_list<Ss...>>(d, steps, o, typename reversed<order>::type{}, order{});

  [&]<class... Gs>(expr_list<Gs...>) {
    ([&] {
      gradient g;
      g.input_tex = doc::to_latex(Ws{}, d.user_names);
      g.input_text = std::string(Ws::name.view());
      if (const name_entry* e = d.user_names.find(id_of(Ws{}))) g.input_text = e->text;
      g.tex = doc::to_latex(Gs{}, d.user_names);
      g.text = doc::to_text(Gs{}, d.user_names);
      g.unique_nodes = topological_order_t<Gs>::size;
      d.gradients.push_back(std::move(g));
    }(), ...);
  }(grads{});
  d.forward_dot = doc::to_dot(expr_list<Os...>{}, d.names, {.title = o.title.empty() ? "" : o.title + ": forward pass"});
  d.gradient_dot = doc::to_dot(grads{}, expr_list<Os...>{}, d.names, {.title = o.title.empty() ? "" : o.title + ": gradients"});
  return grads{};
}

}  // namespace detail

/// The gradients a derivation finds (the types ctgrad::vjp returns for the same arguments;
/// with chain_rule::raw, those of a vjp seeded with unsimplified(seeds)).
template <chain_rule Rule, class... Os, class... Ss, class... Ws>
constexpr auto derived_gradients(outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>) {
  if constexpr (Rule == chain_rule::raw)
    return ctgrad::vjp(outputs_t<Os...>{}, seeds_t<decltype(doc::unsimplified(Ss{}))...>{}, wrt_t<Ws...>{});
  else
    return ctgrad::vjp(outputs_t<Os...>{}, seeds_t<Ss...>{}, wrt_t<Ws...>{});
}

/// The derivation of the gradients of `outputs` (seeded with `seeds`) with respect to `wrt`,
/// written with `names` (see the header comment).
template <chain_rule Rule = chain_rule::simplified, class... Os, class... Ss, class... Ws>
derivation derive(outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>, const name_table& names,
                  const derivation_options& options = {}) {
  static_assert(sizeof...(Os) == sizeof...(Ss), "ctgrad::doc::derive(): one seed per output");
  derivation d;
  d.rule = Rule;
  d.names = names;
  d.user_names = names;
  if constexpr (Rule == chain_rule::raw)
    detail::derive_impl(d, options, type_list<Os...>{}, type_list<decltype(doc::unsimplified(Ss{}))...>{}, type_list<Ws...>{});
  else
    detail::derive_impl(d, options, type_list<Os...>{}, type_list<Ss...>{}, type_list<Ws...>{});
  return d;
}

/// The gradients the walk of derive() finds, as types (for tests: the same as ctgrad::vjp's).
template <chain_rule Rule = chain_rule::simplified, class... Os, class... Ss, class... Ws>
constexpr auto walked_gradients(outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>) {
  using seeds = std::conditional_t<Rule == chain_rule::raw, type_list<decltype(doc::unsimplified(Ss{}))...>, type_list<Ss...>>;
  using walk = detail::reverse_walk<topological_order_t<Os...>, type_list<Os...>, seeds, type_list<Ws...>>;
  return typename walk::gradients{};
}

}  // namespace ctgrad::doc
