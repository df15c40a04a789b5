#pragma once
// ctgrad/doc/names.hpp: names for intermediates, a rendering concern.
//
//   auto mu = ctgrad::mean<0>(x);
//   ctgrad::doc::name_table names{ctgrad::doc::name(mu, "mu", "\\mu"),
//                                 ctgrad::doc::name(xhat, "xhat", "\\hat{x}").label("x̂")};
//   fmt::print("{}\n", ctgrad::doc::with_names(y, names));   // gamma * xhat + beta
//
// A name is attached to an expression *type*. Identical subexpressions are the same type, so a
// derived gradient that reuses mu prints "mu" there too, and the graph itself is unchanged:
// naming costs nothing at compile time (the table is a run-time map from type to strings).
#include <cstddef>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ctgrad/expr/node.hpp"

namespace ctgrad::doc {

namespace detail {
/// One object per expression type; its address identifies the type at run time.
template <class E>
struct type_key {
  static constexpr char id = 0;
};
}  // namespace detail

/// The run-time identity of an expression type.
using type_id = const void*;

/// The identity of E's type: equal for identical expressions.
template <Expression E>
constexpr type_id id_of(E = {}) {
  return &detail::type_key<std::remove_cvref_t<E>>::id;
}

/// A name for one expression: plain text (fmt output, graph pictures), LaTeX (Markdown
/// derivations), an optional label for pictures (defaults to the text) and optional prose a
/// derivation prints beside the step that computes it (`describe`) and beside its adjoint
/// (`explain`).
struct name_entry {
  type_id id = nullptr;
  std::string text;
  std::string latex;
  std::string picture;
  std::string description;
  std::string adjoint_note;

  /// The label in graph pictures (e.g. Unicode "σ²" for text "sigma^2").
  name_entry label(std::string l) && {
    picture = std::move(l);
    return std::move(*this);
  }
  /// Prose shown with the forward step that computes the named value.
  name_entry describe(std::string d) && {
    description = std::move(d);
    return std::move(*this);
  }
  /// Prose shown with the backward step that computes the named value's adjoint.
  name_entry explain(std::string d) && {
    adjoint_note = std::move(d);
    return std::move(*this);
  }
  [[nodiscard]] const std::string& picture_label() const { return picture.empty() ? text : picture; }
};

/// `name(mu, "mu", "\\mu")`: names the expression mu.
template <Expression E>
name_entry name(E e, std::string text, std::string latex) {
  return name_entry{id_of(e), std::move(text), std::move(latex), {}, {}, {}};
}

/// Names of expression types; the first name given to a type wins.
class name_table {
 public:
  name_table() = default;
  name_table(std::initializer_list<name_entry> entries) {
    for (const auto& e : entries) add(e);
  }

  /// Adds a name unless the type is already named; returns whether it was added.
  bool add(name_entry e) {
    if (index_.count(e.id) != 0) return false;
    index_.emplace(e.id, entries_.size());
    entries_.push_back(std::move(e));
    return true;
  }
  /// The name of the type `id`, or nullptr.
  [[nodiscard]] const name_entry* find(type_id id) const {
    const auto it = index_.find(id);
    return it == index_.end() ? nullptr : &entries_[it->second];
  }
  template <Expression E>
  [[nodiscard]] const name_entry* find(E e) const {
    return find(id_of(e));
  }
  /// The entries in the order they were added.
  [[nodiscard]] const std::vector<name_entry>& entries() const { return entries_; }

 private:
  std::vector<name_entry> entries_;
  // Looked up only, never iterated: output order never depends on addresses.
  std::unordered_map<type_id, std::size_t> index_;
};

}  // namespace ctgrad::doc
