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
// The backward pass is ctgrad::vjp's own (diff/vjp.hpp): derive() records its steps through the
// pass's hook (reverse_pass::adjoint<N> and edges_t<N>), so the gradients documented are the
// very types vjp returns and the document costs no second walk. The steps are the unique nodes
// in reverse topological order; the adjoint of a node is the seed (for an output) plus, for every
// consumer in topological order and every operand position it holds there, the consumer's local
// rule fitted to the node's shape (summed over the axes along which the node was broadcast).
//
// Intermediates without a name get v_{1}, v_{2}, ... in forward order; the adjoint of a value
// named v is \overline{v} (text: dv). Final gradients are written with the caller's names only.
#include <algorithm>
#include <cstddef>
#include <array>
#include <deque>
#include <span>
#include <stdexcept>
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
#include "ctgrad/graph/render.hpp"
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
  std::string seed_of;  ///< LaTeX of the output this input seeds (its given adjoint); empty: none
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
  std::string forward_tex;  ///< the same with the forward steps' names (v_{1}, ...) too
  std::size_t unique_nodes = 0;
};

/// Everything a document about one derivation needs.
struct derivation {
  chain_rule rule = chain_rule::simplified;
  std::vector<std::string> extents;  ///< derivation_options::extents: the extent of each axis
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

namespace render = ctgrad::detail::render;
using ctgrad::detail::no_adjoint;

// ---- recording the reverse pass -----------------------------------------------------------
// derive() reads the steps of ctgrad::vjp's own pass (ctgrad::detail::reverse_pass: adjoint<N>,
// edges_t<N>) into tables over one graph holding every expression the document writes: the
// forward nodes, the seeds, the adjoints, each edge's contribution and the gradients. Only
// classes computing types and the tables' arrays are instantiated per derivation; the document
// is written from the tables by functions that are not templates. (GCC 12 mangles the name of
// every instantiated function, and names made of deep gradient types cost it time quadratic in
// their size: see diff/accumulate.hpp.)

inline constexpr std::uint32_t no_place = 0xffffffffU;

/// One backward step: the adjoint of the node at `node`; its edges are
/// edges[first_edge, next step's first_edge).
struct step_row {
  std::uint32_t node = 0;
  std::uint32_t adjoint = 0;
  std::size_t first_edge = 0;
};
/// One edge of the pass: the consumer at `consumer` reads the step's node as operand `position`.
struct edge_row {
  std::uint32_t consumer = 0;
  std::size_t position = 0;
  std::uint32_t contribution = no_place;  ///< the local rule fitted to the node; no_place: none
  std::uint32_t named = no_place;         ///< the same, with the consumer's adjoint by name
  std::uint32_t symbol = no_place;        ///< that name: an adjoint_symbol_op leaf
  static_shape local{};                   ///< the local rule's shape, before fitting
  std::string_view rule_name{};           ///< empty: the operation has none
  std::string_view rule_latex{};
};

/// The adjoint of the node at place K of the pass's graph, standing in a contribution written
/// by name (\overline{v_{6}} / (2 v_{6}) rather than the adjoint of v_{6} expanded): a leaf of the
/// node's shape, named in the document and never evaluated. Raw: nodes built on it skip
/// simplification, as the raw chain rule's do.
template <std::size_t K, static_shape S, bool Raw>
struct adjoint_symbol_op : elementwise_base {
  template <class...>
  static constexpr static_shape result_shape() { return S; }
  template <class...>
  static std::string symbol() { return "adjoint"; }
};

/// A pass's edge (diff/vjp.hpp: consumer, position, local, type) with the same local rule
/// applied to the consumer's adjoint by name: `symbol` stands for that adjoint, `named` is the
/// rule fitted to N's shape (no_adjoint when the edge contributes nothing).
template <class Pass, class N, class E, bool Raw, class Args = children_t<typename E::consumer>,
          bool None = CTGRAD_DETAIL_SAME_TYPE(typename E::type, no_adjoint)>
struct named_edge : E {
  using symbol = no_adjoint;
  using named = no_adjoint;
};
template <class Pass, class N, class E, bool Raw, class... Args>
struct named_edge<Pass, N, E, Raw, type_list<Args...>, false> : E {
  using P = typename E::consumer;
  using symbol = node<adjoint_symbol_op<Pass::graph::template place_t<P>::value, P::shape, Raw>>;
  using named = ctgrad::detail::fitted_t<N, decltype(P::op::template vjp<E::position::value>(symbol{}, P{}, Args{}...))>;
};
template <class Pass, class N, class Edges, bool Raw>
struct named_edges;
template <class Pass, class N, class... Es, bool Raw>
struct named_edges<Pass, N, type_list<Es...>, Raw> {
  using type = type_list<named_edge<Pass, N, Es, Raw>...>;
};

/// A backward step of the pass: node N, its adjoint, its edges (a type_list of the pass's edges).
template <class N, class Adjoint, class Edges>
struct recorded_step {
  using node = N;
  using adjoint = Adjoint;
  using edges = Edges;
};
/// N's step: none when nothing flows back to N.
template <class Pass, class N, bool Raw, bool Depends = Pass::template depends<N>::value>
struct step_of {
  using type = type_list<>;
};
template <class Pass, class N, bool Raw>
struct step_of<Pass, N, Raw, true> {
  using adj = typename Pass::template adjoint<N>::type;
  template <class A>
  struct with_edges {
    using type = type_list<recorded_step<N, A, typename named_edges<Pass, N, typename Pass::template edges_t<N>, Raw>::type>>;
  };
  using type = typename std::conditional_t<CTGRAD_DETAIL_SAME_TYPE(adj, no_adjoint), std::type_identity<type_list<>>,
                                           with_edges<adj>>::type;
};
/// The steps, in reverse topological order of the forward nodes.
template <class Pass, bool Raw, class I = std::make_index_sequence<Pass::graph::size>>
struct steps_of;
template <class Pass, bool Raw, std::size_t... I>
struct steps_of<Pass, Raw, std::index_sequence<I...>> {
  using type = ctgrad::detail::join_lists_t<
      typename step_of<Pass, typename Pass::graph::template node_at<Pass::graph::size - 1 - I>, Raw>::type...>;
};

/// What the document writes of a step and an edge, as a list of expressions.
template <class T>
struct written {
  using type = type_list<T>;
};
template <>
struct written<no_adjoint> {
  using type = type_list<>;
};
template <class Step>
struct written_of_step;
template <class N, class A, class... Es>
struct written_of_step<recorded_step<N, A, type_list<Es...>>> {
  using type = ctgrad::detail::join_lists_t<type_list<A>, typename written<typename Es::type>::type...,
                                            typename written<typename Es::named>::type...>;
};

/// The place of T in the graph Index, or no_place for no_adjoint.
template <class Index, class T>
struct place_in : std::integral_constant<std::uint32_t, Index::template place_t<T>::value> {};
template <class Index>
struct place_in<Index, no_adjoint> : std::integral_constant<std::uint32_t, no_place> {};

/// Stands for a local rule that does not exist (no derivative flows), for its shape.
struct no_rule {
  static constexpr static_shape shape{};
};
/// L, or no_rule for no_adjoint (its `shape` is then read; no member named by L is made).
template <class L>
using rule_or_none = std::conditional_t<CTGRAD_DETAIL_SAME_TYPE(L, no_adjoint), no_rule, L>;

/// An operation's rule texts (keyed by the operation, never by a node).
template <class Op>
struct rule_texts {
  static constexpr std::string_view name = [] {
    if constexpr (requires { Op::rule_name; }) return std::string_view(Op::rule_name);
    else return std::string_view{};
  }();
  static constexpr std::string_view latex = [] {
    if constexpr (requires { Op::rule_latex; }) return std::string_view(Op::rule_latex);
    else return std::string_view{};
  }();
};

/// Whether node N is a count (a number of elements, never differentiated), as a class.
template <class N>
struct is_count : std::false_type {};
template <class Op, class A>
struct is_count<node<Op, A>> : std::bool_constant<op_traits<Op>::category == op_category::shape_function> {};
/// The axes a count counts along (a mask over its operand's axes), 0 when N is no count_op.
template <class N>
struct count_axes : std::integral_constant<std::uint32_t, 0> {};
template <class Axes, class A>
struct count_axes<node<count_op<Axes>, A>> : std::integral_constant<std::uint32_t, Axes::mask> {};

/// The seed as the caller gave it (derive<raw> wraps it in unsimplified(...)).
template <class S>
struct seed_of_given {
  using type = S;
};
template <class S>
struct seed_of_given<node<unsimplified_op, S>> {
  using type = S;
};

template <class Steps>
struct edge_count;
template <class... Steps>
struct edge_count<type_list<Steps...>> {
  static constexpr std::array<std::size_t, sizeof...(Steps)> value{Steps::edges::size...};
};

template <class Index, class Edges>
struct edge_table;
template <class Index, class... Es>
struct edge_table<Index, type_list<Es...>> {
  static constexpr std::array<edge_row, sizeof...(Es) + 1> rows{
      edge_row{place_in<Index, typename Es::consumer>::value, Es::position::value, place_in<Index, typename Es::type>::value,
               place_in<Index, typename Es::named>::value, place_in<Index, typename Es::symbol>::value,
               rule_or_none<typename Es::local>::shape, rule_texts<typename Es::consumer::op>::name,
               rule_texts<typename Es::consumer::op>::latex}...,
      edge_row{}};
};

/// The run-time view of a recorded derivation.
struct recorded_view {
  graph_ref graph;
  std::span<const std::uint32_t> forward;  ///< the forward nodes in topological order
  const char* counts = nullptr;            ///< per forward node: a count
  const std::uint32_t* count_masks = nullptr;  ///< per forward node: the axes a count_op counts along
  std::span<const std::uint32_t> outputs, seeds, given_seeds, wrt, gradients;
  std::span<const step_row> steps;
  const edge_row* edges = nullptr;
  std::size_t edge_total = 0;
};

/// The tables of one derivation: `Doc` is the topological order of everything written.
template <class Doc, class Forward, class Steps, class Outputs, class Seeds, class Wrt, class Grads>
struct recorded;
template <class Doc, class... Fs, class... Steps, class... Os, class... Ss, class... Ws, class... Gs>
struct recorded<Doc, type_list<Fs...>, type_list<Steps...>, type_list<Os...>, type_list<Ss...>, type_list<Ws...>,
                type_list<Gs...>> {
  using index = ctgrad::detail::graph_index<Doc>;
  using edges = edge_table<index, ctgrad::detail::join_lists_t<type_list<>, typename Steps::edges...>>;
  static constexpr std::array<std::uint32_t, sizeof...(Fs)> forward{index::template place_t<Fs>::value...};
  static constexpr std::array<char, sizeof...(Fs) + 1> counts{is_count<Fs>::value..., 0};
  static constexpr std::array<std::uint32_t, sizeof...(Fs) + 1> count_masks{count_axes<Fs>::value..., 0};
  static constexpr std::array<std::uint32_t, sizeof...(Os)> outputs{index::template place_t<Os>::value...};
  static constexpr std::array<std::uint32_t, sizeof...(Ss)> seeds{index::template place_t<Ss>::value...};
  static constexpr std::array<std::uint32_t, sizeof...(Ss)> given_seeds{
      index::template place_t<typename seed_of_given<Ss>::type>::value...};
  static constexpr std::array<std::uint32_t, sizeof...(Ws)> wrt{index::template place_t<Ws>::value...};
  static constexpr std::array<std::uint32_t, sizeof...(Gs)> gradients{index::template place_t<Gs>::value...};
  static constexpr std::array<step_row, sizeof...(Steps)> steps = [] {
    constexpr std::array<std::uint32_t, sizeof...(Steps)> nodes{index::template place_t<typename Steps::node>::value...};
    constexpr std::array<std::uint32_t, sizeof...(Steps)> adjoints{index::template place_t<typename Steps::adjoint>::value...};
    constexpr auto& counts_of = edge_count<type_list<Steps...>>::value;
    std::array<step_row, sizeof...(Steps)> out{};
    std::size_t first = 0;
    for (std::size_t k = 0; k < sizeof...(Steps); ++k) {
      out[k] = {nodes[k], adjoints[k], first};
      first += counts_of[k];
    }
    return out;
  }();
  static constexpr recorded_view view() {
    return {graph_of<Doc>::value, forward, counts.data(), count_masks.data(), outputs, seeds, given_seeds, wrt, gradients, steps,
            edges::rows.data(), edges::rows.size() - 1};
  }
};

// ---- writing the document from the tables --------------------------------------------------

CTGRAD_RENDER_FN inline std::string shape_tex(static_shape shape, const derivation_options& o) {
  const std::size_t r = shape.rank;
  if (o.extents.empty() || r > o.extents.size()) return {};
  if (r == 0) return "1";
  std::string s;
  for (std::size_t a = 0; a < r; ++a) {
    if (a) s += " \\times ";
    s += shape.is_unit(a) ? std::string("1") : o.extents[o.extents.size() - r + a];
  }
  return s;
}

inline std::string overline(const std::string& tex) { return "\\overline{" + tex + "}"; }

/// Names by place, kept beside a name_table (the renderer reads names by place; the table keys
/// them by type for the caller and the pictures). The first name of a place wins.
class place_namer {
 public:
  place_namer(graph_ref g, const name_table& names) : graph_(g), by_place_(g.view->size) {
    for (std::size_t i = 0; i < g.view->size; ++i)
      if (const name_entry* n = names.find(g.ids[i])) set(static_cast<std::uint32_t>(i), n->text, n->latex);
  }
  void set(std::uint32_t place, const std::string& text, const std::string& latex) {
    if (by_place_[place].set) return;
    const std::string& t = store_.emplace_back(text);
    const std::string& l = store_.emplace_back(latex);
    by_place_[place] = {t, l, true};
  }
  [[nodiscard]] const render::place_name& at(std::uint32_t place) const { return by_place_[place]; }
  [[nodiscard]] std::string write(std::uint32_t place, syntax s, bool definition = false) const {
    return render::render(*graph_.view, place, s, by_place_, definition);
  }
  /// The node at `place` as the right-hand side of `self = ...`: by name, unless that name is
  /// `self` itself (an adjoint the caller named in advance), then by its definition.
  [[nodiscard]] std::string rhs_latex(std::uint32_t place, const std::string& self) const {
    const render::place_name& n = by_place_[place];
    return write(place, syntax::latex, n.set && n.latex == self);
  }

 private:
  graph_ref graph_;
  std::vector<render::place_name> by_place_;
  std::deque<std::string> store_;  // stable: the names by place view these strings
};

CTGRAD_RENDER_FN inline std::size_t count_reachable(const render::graph_view& v, std::span<const std::uint32_t> roots) {
  const std::vector<char> seen = render::reachable(v, roots, [](std::uint32_t) { return false; });
  return static_cast<std::size_t>(std::count(seen.begin(), seen.end(), char{1}));
}

CTGRAD_RENDER_FN inline input_info input_of(const recorded_view& r, std::uint32_t place, const place_namer& names,
                                            const name_table& table, const derivation_options& o) {
  const render::entry& e = r.graph.view->entries[place];
  input_info in;
  in.id = r.graph.ids[place];
  in.tex = names.write(place, syntax::latex);
  const name_entry* n = table.find(in.id);
  in.text = n ? n->text : std::string(e.name);
  if (n) in.description = n->description;
  in.shape = detail::shape_tex(r.graph.view->shapes[place], o);
  in.differentiated = std::find(r.wrt.begin(), r.wrt.end(), place) != r.wrt.end();
  return in;
}

/// Inputs in the order the caller named them; unnamed ones after, in evaluation order.
// A few inputs: placed rank by rank rather than by std::stable_sort, whose merge sort over
// input_info was 20 KB of code compiled at -O3 in every program that derives.
CTGRAD_RENDER_FN inline void sort_inputs(derivation& d) {
  const auto& es = d.user_names.entries();
  auto rank = [&](const input_info& in) {
    for (std::size_t k = 0; k < es.size(); ++k)
      if (es[k].id == in.id) return k;
    return es.size();
  };
  std::vector<input_info> sorted;
  sorted.reserve(d.inputs.size());
  for (std::size_t k = 0; k <= es.size(); ++k)
    for (input_info& in : d.inputs)
      if (rank(in) == k) sorted.push_back(std::move(in));
  d.inputs = std::move(sorted);
}

CTGRAD_RENDER_FN inline void write_forward(derivation& d, const recorded_view& r, place_namer& names,
                                           std::vector<std::size_t>& step_at, const derivation_options& o) {
  const render::graph_view& v = *r.graph.view;
  // A count without a name is written as its extents (m, or m n); other intermediates without
  // a name get v_{1}, v_{2}, ... in forward order.
  std::size_t k = 0;
  std::size_t number = 0;
  for (std::size_t f = 0; f < r.forward.size(); ++f) {
    const std::uint32_t p = r.forward[f];
    if (v.entries[p].leaf != render::leaf_kind::none) continue;
    if (d.names.find(r.graph.ids[p]) == nullptr && r.count_masks[f] != 0 && !o.extents.empty()) {
      const std::size_t rank = v.shapes[v.operand(p, 0)].rank;
      std::string tex, text;
      for (std::size_t a = 0; a < rank && rank <= o.extents.size(); ++a) {
        if (!((r.count_masks[f] >> a) & 1U)) continue;
        tex += (tex.empty() ? "" : " ") + o.extents[o.extents.size() - rank + a];
        text += (text.empty() ? "" : "*") + o.extents[o.extents.size() - rank + a];
      }
      if (!tex.empty()) {
        d.names.add(name_entry{r.graph.ids[p], text, tex, {}, {}, {}});
        d.user_names.add(name_entry{r.graph.ids[p], text, tex, {}, {}, {}});  // the gradients show it too
        names.set(p, text, tex);
      }
    }
    if (d.names.find(r.graph.ids[p]) == nullptr) {
      ++k;
      d.names.add(name_entry{r.graph.ids[p], fmt::format("v{}", k), fmt::format("v_{{{}}}", k), {}, {}, {}});
      names.set(p, fmt::format("v{}", k), fmt::format("v_{{{}}}", k));
    }
    step_at[p] = ++number;
  }
  for (std::size_t f = 0; f < r.forward.size(); ++f) {
    const std::uint32_t p = r.forward[f];
    if (v.entries[p].leaf == render::leaf_kind::input) {
      d.inputs.push_back(detail::input_of(r, p, names, d.names, o));
    } else if (v.entries[p].leaf == render::leaf_kind::none) {
      const name_entry* n = d.names.find(r.graph.ids[p]);
      forward_step s;
      s.number = step_at[p];
      s.tex = names.write(p, syntax::latex);
      s.text = n->text;
      s.definition_tex = names.write(p, syntax::latex, true);
      s.definition_text = names.write(p, syntax::text, true);
      s.shape = detail::shape_tex(v.shapes[p], o);
      s.description = n->description;
      s.shape_only = r.counts[f] != 0;
      s.is_output = std::find(r.outputs.begin(), r.outputs.end(), p) != r.outputs.end();
      d.forward.push_back(std::move(s));
    }
  }
  // consumers: which later steps read each value
  for (std::uint32_t p : r.forward) {
    if (step_at[p] == 0) continue;
    for (std::uint32_t a = 0; a < v.entries[p].arity; ++a) {
      const std::uint32_t c = v.operand(p, a);
      if (step_at[c] == 0) continue;
      auto& cs = d.forward[step_at[c] - 1].consumers;
      if (cs.empty() || cs.back() != step_at[p]) cs.push_back(step_at[p]);
    }
  }
  for (std::uint32_t p : r.outputs) d.outputs_tex.push_back(names.write(p, syntax::latex));
  for (std::uint32_t p : r.seeds) d.seeds_tex.push_back(names.write(p, syntax::latex));
  for (std::size_t k = 0; k < r.given_seeds.size(); ++k) {
    const std::uint32_t p = r.given_seeds[k];
    if (v.entries[p].leaf != render::leaf_kind::input) continue;
    auto listed = std::find_if(d.inputs.begin(), d.inputs.end(),
                               [&](const input_info& in) { return in.id == r.graph.ids[p]; });
    if (listed == d.inputs.end()) {
      input_info in = detail::input_of(r, p, names, d.names, o);
      in.differentiated = false;
      d.inputs.push_back(std::move(in));
      listed = d.inputs.end() - 1;
    }
    listed->seed_of = d.outputs_tex[k];
  }
  detail::sort_inputs(d);
}

/// A rule text with '@' replaced by the index letters of the axes along which the consumer
/// (shape `result`) and its operand differ: those a reduction sums over or a broadcast repeats
/// along (numbered in the larger rank, as the renderer's indices are).
CTGRAD_RENDER_FN inline std::string rule_with_axes(std::string_view rule, static_shape result, static_shape operand) {
  const std::size_t rank = std::max(result.rank, operand.rank);
  auto unit = [&](static_shape s, std::size_t a) { return a < rank - s.rank || s.is_unit(a - (rank - s.rank)); };
  std::uint32_t mask = 0;
  for (std::size_t a = 0; a < rank; ++a)
    if (unit(result, a) != unit(operand, a)) mask |= std::uint32_t{1} << a;
  const std::string axes = ctgrad::detail::latex_axes(mask);
  std::string out;
  for (const char ch : rule) {
    if (ch == '@') out += axes;
    else out += ch;
  }
  return out;
}

CTGRAD_RENDER_FN inline contribution contribution_of(const recorded_view& r, const edge_row& e, std::uint32_t node,
                                                     const place_namer& names, const std::vector<std::size_t>& step_at,
                                                     const std::string& self) {
  const render::graph_view& v = *r.graph.view;
  contribution c;
  c.consumer = step_at[e.consumer];
  c.consumer_tex = names.write(e.consumer, syntax::latex) + " = " + names.write(e.consumer, syntax::latex, true);
  c.rule_name = e.rule_name.empty() ? fmt::format("the local rule of {} (its vjp member)", v.entries[e.consumer].symbol())
                                    : std::string(e.rule_name);
  c.rule_latex = detail::rule_with_axes(e.rule_latex, v.shapes[e.consumer], v.shapes[node]);
  if (e.contribution == no_place) {
    c.zero = true;
    return c;
  }
  const static_shape target = v.shapes[node];
  if (!(e.local == target)) {
    if (ctgrad::detail::covers(e.local, target))
      c.summed_axes = ctgrad::detail::latex_axes(ctgrad::detail::reduced_axes_mask(target, e.local));
    else
      c.broadcast_axes = ctgrad::detail::latex_axes(ctgrad::detail::broadcast_axes_mask(e.local, target));
  }
  c.tex = names.rhs_latex(e.named != no_place ? e.named : e.contribution, self);
  return c;
}

CTGRAD_RENDER_FN inline void write_backward(derivation& d, const recorded_view& r, place_namer& names,
                                            const std::vector<std::size_t>& step_at, const derivation_options& o) {
  const render::graph_view& v = *r.graph.view;
  for (std::size_t k = 0; k < r.steps.size(); ++k) {
    const step_row& row = r.steps[k];
    const std::uint32_t p = row.node;
    const std::size_t last = k + 1 < r.steps.size() ? r.steps[k + 1].first_edge : r.edge_total;
    backward_step s;
    s.number = d.backward.size() + 1;
    s.forward = step_at[p];
    s.is_input = v.entries[p].leaf == render::leaf_kind::input;
    s.node_tex = names.write(p, syntax::latex);
    const name_entry* own = d.names.find(r.graph.ids[p]);
    s.node_text = own ? own->text : render::render(v, p, syntax::text);
    if (own) s.note = own->adjoint_note;
    s.adjoint_tex = detail::overline(s.node_tex);
    s.shape = detail::shape_tex(v.shapes[p], o);
    for (std::size_t out = 0; out < r.outputs.size(); ++out) {
      if (r.outputs[out] != p) continue;
      contribution c;
      c.from_seed = true;
      c.tex = names.write(r.seeds[out], syntax::latex);
      s.contributions.push_back(std::move(c));
    }
    for (std::size_t e = row.first_edge; e < last; ++e) {
      // the consumer's adjoint, by name, in the contribution written by name
      const edge_row& edge = r.edges[e];
      if (edge.symbol != no_place)
        names.set(edge.symbol, "d" + names.write(edge.consumer, syntax::text),
                  detail::overline(names.write(edge.consumer, syntax::latex)));
      s.contributions.push_back(detail::contribution_of(r, edge, p, names, step_at, s.adjoint_tex));
    }
    for (const auto& c : s.contributions) {
      if (c.zero) continue;
      if (!s.sum_tex.empty()) s.sum_tex += c.tex.starts_with("-") ? " " : " + ";
      s.sum_tex += c.tex;
    }
    s.result_tex = names.rhs_latex(row.adjoint, s.adjoint_tex);
    // Adjoints already computed are written by name in the steps that follow.
    const std::string picture = own ? "d" + own->picture_label() : std::string{};
    if (d.names.add(name_entry{r.graph.ids[row.adjoint], "d" + s.node_text, s.adjoint_tex, picture, {}, {}}))
      names.set(row.adjoint, "d" + s.node_text, s.adjoint_tex);
    d.backward.push_back(std::move(s));
  }
}

/// The caller's names may not take the derivation's own notation: \overline{v} (text dv) is
/// the adjoint of the value named v and may name only that adjoint (or the seed of the output
/// v), and v_{k} names the derivation's unnamed intermediates. Throws std::invalid_argument.
CTGRAD_RENDER_FN inline void check_names(const derivation& d, const recorded_view& r) {
  const render::graph_view& v = *r.graph.view;
  std::vector<std::pair<type_id, std::string>> adjoints;  // the adjoint notation each place may take
  for (std::size_t k = 0; k < r.steps.size() && k < d.backward.size(); ++k)
    adjoints.emplace_back(r.graph.ids[r.steps[k].adjoint], d.backward[k].adjoint_tex);
  for (std::size_t k = 0; k < r.given_seeds.size() && k < d.outputs_tex.size(); ++k)
    adjoints.emplace_back(r.graph.ids[r.given_seeds[k]], overline(d.outputs_tex[k]));
  std::vector<std::string> texts;  // the text names of the other values, for "d" + text
  for (const name_entry& e : d.user_names.entries()) texts.push_back(e.text);
  for (const name_entry& e : d.user_names.entries()) {
    bool present = false;
    for (std::size_t i = 0; i < v.size && !present; ++i) present = r.graph.ids[i] == e.id;
    if (!present) continue;
    const auto is_adjoint = [&](bool same_notation) {
      return std::any_of(adjoints.begin(), adjoints.end(), [&](const auto& a) {
        return a.first == e.id && (!same_notation || a.second == e.latex);
      });
    };
    const bool adjoint_latex = e.latex.starts_with("\\overline{");
    const bool adjoint_text = e.text.size() > 1 && e.text[0] == 'd' &&
                              std::find(texts.begin(), texts.end(), e.text.substr(1)) != texts.end();
    const bool own = e.latex.starts_with("v_{") && e.latex.size() > 4 &&
                     e.latex.find_first_not_of("0123456789", 3) == e.latex.size() - 1;
    if ((adjoint_latex && !is_adjoint(true)) || (adjoint_text && !is_adjoint(false)))
      throw std::invalid_argument(fmt::format(
          "ctgrad::doc::derive: the name '{}' (text '{}') is the derivation's notation for an adjoint, but the value it "
          "names is not that adjoint; the derivation names adjoints itself (\\overline{{v}}, text dv): choose another "
          "name",
          e.latex, e.text));
    if (own)
      throw std::invalid_argument(fmt::format(
          "ctgrad::doc::derive: the name '{}' (text '{}') is the derivation's notation for its unnamed intermediates "
          "(v_{{1}}, v_{{2}}, ...): choose another name",
          e.latex, e.text));
  }
}

CTGRAD_RENDER_FN inline void write_derivation(derivation& d, const recorded_view& r, const derivation_options& o) {
  const render::graph_view& v = *r.graph.view;
  place_namer names(r.graph, d.names);
  std::vector<std::size_t> step_at(v.size, 0);  // forward step number by place (0: none)
  d.forward_nodes = r.forward.size();
  std::vector<std::uint32_t> outputs_and_gradients(r.outputs.begin(), r.outputs.end());
  outputs_and_gradients.insert(outputs_and_gradients.end(), r.gradients.begin(), r.gradients.end());
  d.gradient_nodes = detail::count_reachable(v, outputs_and_gradients);

  detail::write_forward(d, r, names, step_at, o);
  const name_table forward_table = d.names;  // the caller's names, the counts and v_{k}
  const place_namer forward_names(r.graph, forward_table);
  detail::write_backward(d, r, names, step_at, o);
  detail::check_names(d, r);

  // The final gradients, with the caller's names only.
  const place_namer user(r.graph, d.user_names);
  for (std::size_t k = 0; k < r.wrt.size(); ++k) {
    gradient g;
    const std::uint32_t w = r.wrt[k];
    const std::uint32_t at = r.gradients[k];
    g.input_tex = user.write(w, syntax::latex);
    g.input_text = std::string(v.entries[w].name);
    if (const name_entry* e = d.user_names.find(r.graph.ids[w])) g.input_text = e->text;
    g.tex = user.write(at, syntax::latex);
    g.forward_tex = forward_names.write(at, syntax::latex);
    g.text = user.write(at, syntax::text);
    const std::uint32_t root[] = {at};
    g.unique_nodes = detail::count_reachable(v, root);
    d.gradients.push_back(std::move(g));
  }
  std::vector<char> all(v.size, 1);
  const std::vector<char> forward = render::reachable(v, r.outputs, [](std::uint32_t) { return false; });
  d.forward_dot = detail::dot_of(r.graph, r.outputs, all.data(), d.names,
                                 {.title = o.title.empty() ? "" : o.title + ": forward pass"});
  d.gradient_dot = detail::dot_of(r.graph, r.gradients, forward.data(), d.names,
                                  {.title = o.title.empty() ? "" : o.title + ": gradients"});
}

template <class List>
struct as_expr_list;
template <class... Es>
struct as_expr_list<type_list<Es...>> {
  using type = expr_list<Es...>;
};

/// The pass of ctgrad::vjp for these arguments, recorded (see the header comment).
template <class Outputs, class Seeds, class Wrt>
struct recording;
template <class... Os, class... Ss, class... Ws>
struct recording<type_list<Os...>, type_list<Ss...>, type_list<Ws...>> {
  using pass = ctgrad::detail::reverse_pass<outputs_t<Os...>, seeds_t<Ss...>, wrt_t<Ws...>>;
  using steps = typename steps_of<pass, (Ss::unsimplified || ...)>::type;
  using gradients = type_list<typename pass::template gradient<Ws>::type...>;
  template <class Steps>
  struct doc_order;
  template <class... St>
  struct doc_order<type_list<St...>> {
    using roots = ctgrad::detail::join_lists_t<type_list<Os..., Ss..., Ws...>, gradients, typename written_of_step<St>::type...>;
    using type = typename ctgrad::detail::order_of_list<typename as_expr_list<roots>::type>::type;
  };
  using doc = typename doc_order<steps>::type;
  using tables = recorded<doc, typename pass::order, steps, type_list<Os...>, type_list<Ss...>, type_list<Ws...>, gradients>;
};

template <class Outputs, class Seeds, class Wrt>
void derive_impl(derivation& d, const derivation_options& o) {
  using rec = recording<Outputs, Seeds, Wrt>;
  detail::write_derivation(d, rec::tables::view(), o);
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
  d.extents = options.extents;
  d.names = names;
  d.user_names = names;
  if constexpr (Rule == chain_rule::raw)
    detail::derive_impl<type_list<Os...>, type_list<decltype(doc::unsimplified(Ss{}))...>, type_list<Ws...>>(d, options);
  else
    detail::derive_impl<type_list<Os...>, type_list<Ss...>, type_list<Ws...>>(d, options);
  return d;
}

}  // namespace ctgrad::doc

namespace ctgrad {
template <std::size_t K, static_shape S>
inline constexpr bool starts_unsimplified<doc::detail::adjoint_symbol_op<K, S, true>> = true;
}  // namespace ctgrad
