// ctgrad-batch-norm-check: checks your own batch normalization gradients against ctgrad's.
//
//   ctgrad-batch-norm-check --x x.csv --gamma gamma.csv --beta beta.csv --dy dy.csv
//                           [--eps 1e-5] [--out DIR] [--dx my_dx.csv] [--dgamma my_dgamma.csv]
//                           [--dbeta my_dbeta.csv] [--tolerance 1e-6]
//
// Reads x and dy (m x n, one row per sample) and gamma and beta (one row of n) from CSV files
// (comma-separated, no header), computes batch normalization in training mode and its gradients
// as *derived by ctgrad* from the primitives, in double, and writes y.csv, dx.csv, dgamma.csv
// and dbeta.csv into DIR (default: the current directory) with every value printed so that it
// reads back to the same double. Given your own dx, dgamma and/or dbeta, it prints for each the
// max absolute error, the max relative error (max |yours - ctgrad| / max |ctgrad|: norm-wise,
// since entries of dx cancel to near zero) and PASS or FAIL at the tolerance (on the relative
// error).
//
// Exit status: 0 all compared gradients pass (or none given), 1 a gradient FAILs, 2 bad usage or
// malformed input (the message names the file, line and column); in that case no output file is
// written (outputs are written to temporaries and renamed only once everything is computed).
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <ctgrad.hpp>

namespace {

/// A malformed input or bad usage: printed as is, exit status 2.
struct input_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A row-major table read from a CSV file.
struct table {
  std::string file;
  std::size_t rows = 0, cols = 0;
  std::vector<double> values;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// Reads a CSV of numbers: every row must have the same number of fields. Empty lines are
/// allowed only at the end of the file.
table read_csv(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw input_error(fmt::format("{}: cannot open file: {}", file, std::strerror(errno)));
  table t;
  t.file = file;
  std::string line;
  std::size_t line_no = 0, blank_since = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line).empty()) {
      if (blank_since == 0) blank_since = line_no;
      continue;
    }
    if (blank_since != 0)
      throw input_error(fmt::format("{}:{}:1: empty line inside the data", file, blank_since));
    std::size_t fields = 0, start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      const std::size_t end = comma == std::string::npos ? line.size() : comma;
      const std::string_view raw(line.data() + start, end - start);
      const std::string_view field = trim(raw);
      const std::size_t column = start + static_cast<std::size_t>(field.data() - raw.data()) + 1;
      ++fields;
      double v = 0;
      const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
      if (field.empty())
        throw input_error(fmt::format("{}:{}:{}: field {} is empty", file, line_no, column, fields));
      if (ec != std::errc{} || ptr != field.data() + field.size())
        throw input_error(fmt::format("{}:{}:{}: field {} is not a number: '{}'", file, line_no, column, fields, field));
      if (!std::isfinite(v))
        throw input_error(fmt::format("{}:{}:{}: field {} is not a finite number: '{}'", file, line_no, column, fields, field));
      t.values.push_back(v);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (t.rows == 0) {
      t.cols = fields;
    } else if (fields != t.cols) {
      throw input_error(fmt::format("{}:{}:{}: row has {} fields, but row 1 has {}", file, line_no,
                                    line.size() + 1, fields, t.cols));
    }
    ++t.rows;
  }
  if (t.rows == 0) throw input_error(fmt::format("{}:1:1: no data", file));
  return t;
}

/// Fails unless `t` has `rows` rows of `cols` values, naming the first line or column that is off.
void expect_shape(const table& t, std::size_t rows, std::size_t cols, std::string_view what) {
  if (t.cols != cols)
    throw input_error(fmt::format("{}:1:1: {} must have {} column{} (one per feature of x), found {}", t.file, what,
                                  cols, cols == 1 ? "" : "s", t.cols));
  if (t.rows != rows)
    throw input_error(fmt::format("{}:{}:1: {} must have {} row{}, found {}", t.file, std::min(t.rows, rows) + 1, what,
                                  rows, rows == 1 ? "" : "s", t.rows));
}

std::string to_csv(const std::vector<double>& v, std::size_t rows, std::size_t cols) {
  std::string s;
  for (std::size_t i = 0; i < rows; ++i)
    s += fmt::format("{}\n", fmt::join(v.begin() + static_cast<std::ptrdiff_t>(i * cols),
                                       v.begin() + static_cast<std::ptrdiff_t>((i + 1) * cols), ","));
  return s;
}

struct comparison {
  double max_abs = 0, max_rel = 0;
  bool pass = true;
};

comparison compare(const std::vector<double>& yours, const std::vector<double>& ref, double tolerance) {
  comparison c;
  double scale = 0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    c.max_abs = std::max(c.max_abs, std::abs(yours[i] - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  c.max_rel = scale > 0 ? c.max_abs / scale : c.max_abs;
  c.pass = c.max_rel <= tolerance;
  return c;
}

double parse_number_option(const std::string& name, const std::string& text) {
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(v) || v < 0)
    throw input_error(fmt::format("option {}: '{}' is not a non-negative number", name, text));
  return v;
}

constexpr std::string_view usage =
    "usage: ctgrad-batch-norm-check --x X.csv --gamma GAMMA.csv --beta BETA.csv --dy DY.csv\n"
    "                               [--eps 1e-5] [--out DIR] [--tolerance 1e-6]\n"
    "                               [--dx YOUR_DX.csv] [--dgamma YOUR_DGAMMA.csv] [--dbeta YOUR_DBETA.csv]\n"
    "Writes y.csv, dx.csv, dgamma.csv, dbeta.csv (ctgrad's derived gradients, double, round-trip precision)\n"
    "into DIR and compares your gradients with them. Exit: 0 pass, 1 FAIL, 2 bad input.\n";

int run(int argc, char** argv) {
  std::map<std::string, std::string> opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      fmt::print("{}", usage);
      return 0;
    }
    static const char* known[] = {"--x", "--gamma", "--beta", "--dy", "--eps", "--out", "--tolerance", "--dx", "--dgamma", "--dbeta"};
    if (std::find(std::begin(known), std::end(known), a) == std::end(known))
      throw input_error(fmt::format("unknown option '{}'\n{}", a, usage));
    if (i + 1 >= argc) throw input_error(fmt::format("option {} needs a value", a));
    opt[a.substr(2)] = argv[++i];
  }
  for (const char* required : {"x", "gamma", "beta", "dy"})
    if (!opt.count(required)) throw input_error(fmt::format("missing --{}\n{}", required, usage));
  const double eps = opt.count("eps") ? parse_number_option("--eps", opt["eps"]) : 1e-5;
  const double tolerance = opt.count("tolerance") ? parse_number_option("--tolerance", opt["tolerance"]) : 1e-6;
  const std::filesystem::path out_dir = opt.count("out") ? opt["out"] : ".";

  // Read and validate everything before computing or writing anything.
  const table xt = read_csv(opt["x"]);
  const std::size_t m = xt.rows, n = xt.cols;
  const table gt = read_csv(opt["gamma"]);
  expect_shape(gt, 1, n, "gamma");
  const table bt = read_csv(opt["beta"]);
  expect_shape(bt, 1, n, "beta");
  const table dyt = read_csv(opt["dy"]);
  expect_shape(dyt, m, n, "dy");
  std::optional<table> mine[3];
  const char* names[3] = {"dx", "dgamma", "dbeta"};
  for (int k = 0; k < 3; ++k)
    if (opt.count(names[k])) {
      mine[k] = read_csv(opt[names[k]]);
      expect_shape(*mine[k], k == 0 ? m : 1, n, names[k]);
    }
  if (!std::filesystem::is_directory(out_dir))
    throw input_error(fmt::format("--out {}: not a directory", out_dir.string()));

  // Batch norm from primitives; the gradients are derived by ctgrad, not written by hand.
  constexpr auto x = ctgrad::input<"x", 2>;
  constexpr auto gamma = ctgrad::input<"gamma", 1>;
  constexpr auto beta = ctgrad::input<"beta", 1>;
  constexpr auto eps_in = ctgrad::input<"eps", 0>;
  constexpr auto dy = ctgrad::input<"dy", 2>;
  constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma, beta, eps_in);
  constexpr auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma, beta));
  const auto [yv, dxv, dgv, dbv] = ctgrad::evaluate(
      ctgrad::exprs(y, grads), ctgrad::bind(x, ctgrad::view<const double, 2>(xt.values.data(), {m, n})),
      ctgrad::bind(gamma, ctgrad::view<const double, 1>(gt.values.data(), {n})),
      ctgrad::bind(beta, ctgrad::view<const double, 1>(bt.values.data(), {n})), ctgrad::bind(eps_in, eps),
      ctgrad::bind(dy, ctgrad::view<const double, 2>(dyt.values.data(), {m, n})));

  // Write each output to a temporary, then rename them all: no half-written files.
  const std::pair<const char*, std::string> outputs[] = {{"y.csv", to_csv(yv.values, m, n)},
                                                         {"dx.csv", to_csv(dxv.values, m, n)},
                                                         {"dgamma.csv", to_csv(dgv.values, 1, n)},
                                                         {"dbeta.csv", to_csv(dbv.values, 1, n)}};
  std::vector<std::filesystem::path> temporaries;
  auto cleanup = [&] {
    std::error_code ec;
    for (const auto& p : temporaries) std::filesystem::remove(p, ec);
  };
  for (const auto& [name, text] : outputs) {
    const auto tmp = out_dir / fmt::format(".{}.tmp", name);
    temporaries.push_back(tmp);
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    f.close();
    if (!f) {
      cleanup();
      throw input_error(fmt::format("{}: cannot write", tmp.string()));
    }
  }
  for (std::size_t k = 0; k < temporaries.size(); ++k) {
    std::error_code ec;
    std::filesystem::rename(temporaries[k], out_dir / outputs[k].first, ec);
    if (ec) {
      cleanup();
      throw input_error(fmt::format("{}: cannot write: {}", (out_dir / outputs[k].first).string(), ec.message()));
    }
  }
  fmt::print("batch norm (training mode), m = {}, n = {}, eps = {}: wrote y.csv, dx.csv, dgamma.csv, dbeta.csv to {}\n",
             m, n, eps, out_dir.string());

  const std::vector<double>* ref[3] = {&dxv.values, &dgv.values, &dbv.values};
  bool all_pass = true;
  for (int k = 0; k < 3; ++k) {
    if (!mine[k]) continue;
    const auto c = compare(mine[k]->values, *ref[k], tolerance);
    all_pass = all_pass && c.pass;
    fmt::print("{:<7} max abs error {:.3e}  max rel error {:.3e}  {} (tolerance {:g})\n", names[k], c.max_abs,
               c.max_rel, c.pass ? "PASS" : "FAIL", tolerance);
  }
  return all_pass ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const input_error& e) {
    fmt::print(stderr, "ctgrad-batch-norm-check: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "ctgrad-batch-norm-check: {}\n", e.what());
    return 2;
  }
}
