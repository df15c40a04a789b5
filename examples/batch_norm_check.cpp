// ctgrad-batch-norm-check: checks your own batch normalization gradients against ctgrad's.
//
//   ctgrad-batch-norm-check --x x.csv --gamma gamma.csv --beta beta.csv --dy dy.csv
//                           [--eps 1e-5] [--out DIR] [--dx my_dx.csv] [--dgamma my_dgamma.csv]
//                           [--dbeta my_dbeta.csv] [--tolerance 1e-6] [--max-input-bytes N]
//
// Reads x and dy (m x n, one row per sample) and gamma and beta (one row of n) from CSV files
// (comma-separated, no header, an optional UTF-8 byte order mark), computes batch normalization
// in training mode and its gradients as *derived by ctgrad* from the primitives, in double, and
// writes y.csv, dx.csv, dgamma.csv and dbeta.csv into DIR (default: the current directory) with
// every value printed so that it reads back to the same double. Given your own dx, dgamma and/or
// dbeta, it prints for each the max absolute error, the max relative error (max |yours - ctgrad|
// / max |ctgrad|: norm-wise, since entries of dx cancel to near zero) and PASS or FAIL at the
// tolerance (on the relative error).
//
// Exit status: 0 all compared gradients pass (or none given), 1 a gradient FAILs, 2 bad usage,
// malformed input, a non-finite result of ctgrad's own, or an output that cannot be written. On
// exit 2 no file in DIR is created or changed.
//
// How outputs are written (POSIX):
//   - each output goes to a temporary in DIR created exclusively (O_CREAT | O_EXCL | O_NOFOLLOW,
//     so a symlink or file planted at that name is never followed or reused: another name is
//     tried) with a name unique to this process;
//   - once every temporary is written and synced, the run takes an exclusive flock(2) on DIR
//     itself (no lock file is left behind), and under it replaces y.csv, dx.csv, dgamma.csv and
//     dbeta.csv in turn, each after hard-linking the file it replaces to a backup name; if one
//     replacement fails, the ones already made are undone from the backups. Runs into one DIR
//     therefore commit one after the other, so DIR always holds the four files of one run; a
//     reader that wants to see no run half-way takes flock(DIR, LOCK_SH) while it reads;
//   - an output name in DIR that is the same file as an input (`--out .` with `--dx dx.csv`, or a
//     hard or symbolic link to it) is refused before anything is read.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <ctgrad.hpp>

#include "csv_reader.hpp"

namespace {

using namespace ctgrad_tool;

/// A note on stderr that cannot throw: it is also printed while undoing renames in a destructor.
template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) noexcept {
  try {
    fmt::print(stderr, "ctgrad-batch-norm-check: {}\n", fmt::format(format, std::forward<Args>(args)...));
  } catch (...) {
  }
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

/// Both sides are finite here (inputs are checked when read, ctgrad's results after evaluation);
/// a difference can still overflow to infinity, which fails. The verdict is written so that
/// anything not a number fails too, rather than relying on every caller to have checked.
comparison compare(const std::vector<double>& yours, const std::vector<double>& ref, double tolerance) {
  comparison c;
  double scale = 0;
  bool finite = true;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    const double d = std::abs(yours[i] - ref[i]);
    finite = finite && std::isfinite(d) && std::isfinite(ref[i]);
    c.max_abs = std::max(c.max_abs, d);
    scale = std::max(scale, std::abs(ref[i]));
  }
  c.max_rel = scale > 0 ? c.max_abs / scale : c.max_abs;
  c.pass = finite && c.max_rel <= tolerance;
  return c;
}

double parse_number_option(const std::string& name, const std::string& text) {
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || !std::isfinite(v) || v < 0)
    throw input_error(fmt::format("option {}: {} is not a finite non-negative number", name, shown(text)));
  return v;
}

std::uint64_t parse_count_option(const std::string& name, const std::string& text) {
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || ptr != text.data() + text.size() || v == 0)
    throw input_error(fmt::format("option {}: {} is not a positive whole number", name, shown(text)));
  return v;
}

/// Identity of a file (what hard and symbolic links share).
struct file_id {
  dev_t dev;
  ino_t ino;
  friend bool operator==(const file_id&, const file_id&) = default;
};

file_id id_of(const struct stat& st) { return file_id{st.st_dev, st.st_ino}; }

std::optional<file_id> stat_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return id_of(st);
}

constexpr const char* output_names[] = {"y.csv", "dx.csv", "dgamma.csv", "dbeta.csv"};

/// The output directory, held open so that every file operation is relative to the directory
/// checked here even if its path is renamed meanwhile.
struct out_dir {
  std::string path;
  unique_fd fd;
  file_id id;

  std::string name_of(std::string_view file) const {
    return path.ends_with('/') ? fmt::format("{}{}", path, file) : fmt::format("{}/{}", path, file);
  }
};

out_dir open_out_dir(const std::string& path) {
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int e = errno;
    if (e == ENOTDIR) throw input_error(fmt::format("--out {}: not a directory", path));
    throw input_error(fmt::format("--out {}: cannot open the directory: {}", path, errno_text(e)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw input_error(fmt::format("--out {}: {}", path, errno_text(errno)));
  return {path, std::move(fd), id_of(st)};
}

/// Refuses before anything is read if writing an output would replace an input: the input's
/// directory entry is the output's, or the output name already refers to the input's file.
void refuse_overwriting_inputs(const out_dir& out, const std::vector<std::pair<std::string, std::string>>& inputs) {
  for (const auto& [flag, path] : inputs) {
    const auto in_id = stat_id(path);
    const std::string::size_type slash = path.find_last_of('/');
    const std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    const bool in_out_dir = stat_id(parent) == std::optional(out.id);
    for (const char* name : output_names) {
      struct stat st {};
      const bool same_file = in_id && ::fstatat(out.fd.get(), name, &st, 0) == 0 && id_of(st) == in_id;
      if ((in_out_dir && base == name) || same_file)
        throw input_error(fmt::format("--out {}: writing {} would overwrite the input {} {}; give another --out "
                                      "directory or rename the input",
                                      out.path, out.name_of(name), flag, path));
    }
  }
}

/// Refuses outputs whose name in DIR is taken by a directory (which rename cannot replace),
/// before anything is read or written. The commit checks again under the lock.
void refuse_directory_outputs(const out_dir& out) {
  for (const char* name : output_names) {
    struct stat st {};
    if (::fstatat(out.fd.get(), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
      throw input_error(fmt::format("{}: is a directory, so it cannot be replaced by an output; nothing was written",
                                    out.name_of(name)));
  }
}

/// A name in DIR unique to this process: `.NAME.PID.KIND` first (so that tests can plant files
/// at it), then with random suffixes while a name is taken.
std::string scratch_name(std::string_view name, std::string_view kind, int attempt) {
  static std::mt19937_64 rng{std::random_device{}()};
  if (attempt == 0) return fmt::format(".{}.{}.{}", name, ::getpid(), kind);
  return fmt::format(".{}.{}.{:016x}.{}", name, ::getpid(), rng(), kind);
}

constexpr int max_name_attempts = 100;

/// Files this run created or moved in DIR, undone on every error path: temporaries are removed,
/// replaced outputs restored from their backups (or removed when there was none).
struct transaction {
  const out_dir& out;
  std::vector<std::string> temporaries;  // per output, "" once renamed into place
  std::vector<std::string> backups;      // per output, "" when it replaced nothing
  std::size_t committed = 0;             // outputs renamed into place
  bool done = false;

  explicit transaction(const out_dir& o)
      : out(o), temporaries(std::size(output_names)), backups(std::size(output_names)) {}

  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  /// Writes `text` to a new temporary for output k, created exclusively and never through a link.
  void write_temporary(std::size_t k, const std::string& text) {
    for (int attempt = 0; attempt < max_name_attempts; ++attempt) {
      const std::string name = scratch_name(output_names[k], "tmp", attempt);
      unique_fd fd(::openat(out.fd.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
      if (fd.get() < 0) {
        if (errno == EEXIST) continue;
        throw input_error(fmt::format("{}: cannot create a temporary: {}", out.name_of(name), errno_text(errno)));
      }
      temporaries[k] = name;
      std::string_view rest = text;
      while (!rest.empty()) {
        const ssize_t put = ::write(fd.get(), rest.data(), rest.size());
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0) throw input_error(fmt::format("{}: cannot write: {}", out.name_of(name), errno_text(errno)));
        rest.remove_prefix(static_cast<std::size_t>(put));
      }
      // Synced before the rename, so that a crash after it cannot leave an empty output.
      if (::fsync(fd.get()) != 0)
        throw input_error(fmt::format("{}: cannot write: {}", out.name_of(name), errno_text(errno)));
      return;
    }
    throw input_error(fmt::format("--out {}: no free temporary name for {} after {} attempts", out.path,
                                  output_names[k], max_name_attempts));
  }

  /// Keeps the file an output is about to replace under a backup name (a hard link: the output's
  /// name is never missing), or records that there is none.
  void back_up(std::size_t k) {
    const char* name = output_names[k];
    struct stat st {};
    if (::fstatat(out.fd.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return;
      throw input_error(fmt::format("{}: {}", out.name_of(name), errno_text(errno)));
    }
    if (S_ISDIR(st.st_mode))
      throw input_error(fmt::format("{}: is a directory, so it cannot be replaced by an output", out.name_of(name)));
    for (int attempt = 0; attempt < max_name_attempts; ++attempt) {
      const std::string backup = scratch_name(name, "bak", attempt);
      if (::linkat(out.fd.get(), name, out.fd.get(), backup.c_str(), 0) == 0) {
        backups[k] = backup;
        return;
      }
      if (errno != EEXIST)
        throw input_error(fmt::format("{}: cannot keep a backup before replacing it: {}", out.name_of(name),
                                      errno_text(errno)));
    }
    throw input_error(fmt::format("{}: no free backup name after {} attempts", out.name_of(name), max_name_attempts));
  }

  /// Renames every temporary into place under an exclusive lock on DIR.
  void commit() {
    if (::flock(out.fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) throw input_error(fmt::format("--out {}: cannot lock: {}", out.path, errno_text(errno)));
      warn("waiting for another run to finish writing to {}", out.path);
      while (::flock(out.fd.get(), LOCK_EX) != 0)
        if (errno != EINTR) throw input_error(fmt::format("--out {}: cannot lock: {}", out.path, errno_text(errno)));
    }
    for (std::size_t k = 0; k < std::size(output_names); ++k) {
      back_up(k);
      if (::renameat(out.fd.get(), temporaries[k].c_str(), out.fd.get(), output_names[k]) != 0)
        throw input_error(fmt::format("{}: cannot replace: {}", out.name_of(output_names[k]), errno_text(errno)));
      temporaries[k].clear();
      committed = k + 1;
    }
    done = true;
    for (const auto& b : backups)
      if (!b.empty() && ::unlinkat(out.fd.get(), b.c_str(), 0) != 0)
        warn("could not remove the backup {}: {}", out.name_of(b), errno_text(errno));
    ::fsync(out.fd.get());
    ::flock(out.fd.get(), LOCK_UN);
  }

  ~transaction() {
    if (done) return;
    for (std::size_t k = committed; k-- > 0;) {
      const char* name = output_names[k];
      const bool restored = backups[k].empty()
                                ? ::unlinkat(out.fd.get(), name, 0) == 0
                                : ::renameat(out.fd.get(), backups[k].c_str(), out.fd.get(), name) == 0;
      if (!restored)
        warn("could not undo {}: {}{}", out.name_of(name), errno_text(errno),
             backups[k].empty() ? "" : fmt::format("; its previous content is in {}", out.name_of(backups[k])));
      else
        backups[k].clear();
    }
    for (std::size_t k = committed; k < backups.size(); ++k)
      if (!backups[k].empty()) ::unlinkat(out.fd.get(), backups[k].c_str(), 0);
    for (const auto& t : temporaries)
      if (!t.empty()) ::unlinkat(out.fd.get(), t.c_str(), 0);
    ::flock(out.fd.get(), LOCK_UN);
  }
};

/// Where and why ctgrad's own result is not finite, with the likely cause for its feature.
void refuse_non_finite(const std::vector<const std::vector<double>*>& results, std::size_t m, std::size_t n,
                       const table& xt, const std::vector<double>& var, double eps) {
  constexpr const char* names[] = {"y", "dx", "dgamma", "dbeta"};
  for (std::size_t r = 0; r < results.size(); ++r) {
    const auto& v = *results[r];
    const auto bad = std::find_if(v.begin(), v.end(), [](double d) { return !std::isfinite(d); });
    if (bad == v.end()) continue;
    const auto at = static_cast<std::size_t>(bad - v.begin());
    const std::size_t row = at / n + 1, col = at % n + 1;
    double lo = xt.values[col - 1], hi = lo;
    for (std::size_t i = 0; i < m; ++i) {
      lo = std::min(lo, xt.values[i * n + col - 1]);
      hi = std::max(hi, xt.values[i * n + col - 1]);
    }
    const double s = var[col - 1];
    std::string cause;
    if (!std::isfinite(s))
      cause = fmt::format("the variance of feature {} is {}: column {} of {} spans {} to {}, too wide for a double", col,
                          s, col, xt.file, lo, hi);
    else if (s + eps == 0)
      cause = fmt::format("feature {} is constant ({} in every row of {}) and eps is 0, so var + eps = 0 and "
                          "1/sqrt(var + eps) is infinite; give --eps a positive value",
                          col, lo, xt.file);
    else
      cause = fmt::format("an intermediate value overflowed or underflowed a double (feature {}: variance {}, eps {})",
                          col, s, eps);
    throw input_error(fmt::format("ctgrad's own {} is not finite ({} at row {}, column {}): {}; nothing was written",
                                  names[r], *bad, row, col, cause));
  }
}

/// One value per option, each given at most once: CLI11 stores every occurrence, this names the
/// repeated option (the last one silently winning would hide a typo in a long command line).
struct single_option {
  std::vector<std::string> values;
  const std::string* get() const { return values.empty() ? nullptr : &values.front(); }
};

int run(int argc, char** argv) {
  CLI::App app{"Checks your batch normalization gradients against the ones ctgrad derives. Writes y.csv, dx.csv, "
               "dgamma.csv, dbeta.csv (double, round-trip precision) into --out and compares the gradients you give "
               "with them. Exit: 0 pass, 1 FAIL, 2 bad usage or input (nothing written).",
               "ctgrad-batch-norm-check"};
  struct spec {
    const char* flag;
    const char* type;
    const char* help;
    bool required;
    single_option value;
  };
  spec specs[] = {
      {"--x", "FILE", "x, m rows of n values (CSV; required)", true, {}},
      {"--gamma", "FILE", "gamma, one row of n values (required)", true, {}},
      {"--beta", "FILE", "beta, one row of n values (required)", true, {}},
      {"--dy", "FILE", "upstream gradient, m rows of n values (required)", true, {}},
      {"--eps", "NUMBER", "eps inside the square root (default 1e-5)", false, {}},
      {"--out", "DIR", "directory for y.csv, dx.csv, dgamma.csv, dbeta.csv (default: .)", false, {}},
      {"--dx", "FILE", "your dx to check, m x n", false, {}},
      {"--dgamma", "FILE", "your dgamma to check, one row of n", false, {}},
      {"--dbeta", "FILE", "your dbeta to check, one row of n", false, {}},
      {"--tolerance", "NUMBER", "largest relative error that passes (default 1e-6)", false, {}},
      {"--max-input-bytes", "N", "largest input file read, in bytes (default 268435456)", false, {}},
  };
  // Every occurrence is kept and checked below, so that a repeated option is named as such;
  // unknown arguments are reported before missing ones (a misspelled --x is both).
  for (auto& s : specs)
    app.add_option(s.flag, s.value.values, s.help)
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
        ->type_name(s.type);
  app.allow_extras();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return 0;
  } catch (const CLI::ParseError& e) {
    throw input_error(fmt::format("{}\nrun with --help for usage", e.what()));
  }
  if (const auto extra = app.remaining(); !extra.empty())
    throw input_error(fmt::format("unexpected argument{} {}\nrun with --help for usage", extra.size() == 1 ? "" : "s",
                                  fmt::join(extra, " ")));
  for (const auto& s : specs) {
    if (s.value.values.size() > 1)
      throw input_error(fmt::format("option {} is given {} times ({}); give it once", s.flag, s.value.values.size(),
                                    fmt::join(s.value.values, ", ")));
    if (s.required && s.value.values.empty())
      throw input_error(fmt::format("option {} is required\nrun with --help for usage", s.flag));
  }
  const auto option = [&](std::string_view flag) -> const std::string* {
    for (const auto& s : specs)
      if (s.flag == flag) return s.value.get();
    return nullptr;
  };

  const double eps = option("--eps") ? parse_number_option("--eps", *option("--eps")) : 1e-5;
  const double tolerance = option("--tolerance") ? parse_number_option("--tolerance", *option("--tolerance")) : 1e-6;
  const std::uint64_t max_bytes = option("--max-input-bytes")
                                      ? parse_count_option("--max-input-bytes", *option("--max-input-bytes"))
                                      : default_max_input_bytes;
  const out_dir out = open_out_dir(option("--out") ? *option("--out") : ".");

  // Every check that needs no input data comes first, so that nothing is read in vain.
  const char* gradient_flags[3] = {"--dx", "--dgamma", "--dbeta"};
  std::vector<std::pair<std::string, std::string>> inputs;
  for (const char* flag : {"--x", "--gamma", "--beta", "--dy", "--dx", "--dgamma", "--dbeta"})
    if (option(flag)) inputs.emplace_back(flag, *option(flag));
  refuse_overwriting_inputs(out, inputs);
  refuse_directory_outputs(out);

  // Read and validate everything before computing or writing anything.
  const table xt = read_csv(*option("--x"), max_bytes);
  const std::size_t m = xt.rows, n = xt.cols;
  const table gt = read_csv(*option("--gamma"), max_bytes);
  expect_shape(gt, 1, n, "gamma");
  const table bt = read_csv(*option("--beta"), max_bytes);
  expect_shape(bt, 1, n, "beta");
  const table dyt = read_csv(*option("--dy"), max_bytes);
  expect_shape(dyt, m, n, "dy");
  std::optional<table> mine[3];
  const char* names[3] = {"dx", "dgamma", "dbeta"};
  for (int k = 0; k < 3; ++k)
    if (option(gradient_flags[k])) {
      mine[k] = read_csv(*option(gradient_flags[k]), max_bytes);
      expect_shape(*mine[k], k == 0 ? m : 1, n, names[k]);
    }

  // Batch norm from primitives; the gradients are derived by ctgrad, not written by hand. The
  // batch variance (shared nodes, no extra pass) explains a non-finite result.
  constexpr auto x = ctgrad::input<"x", 2>;
  constexpr auto gamma = ctgrad::input<"gamma", 1>;
  constexpr auto beta = ctgrad::input<"beta", 1>;
  constexpr auto eps_in = ctgrad::input<"eps", 0>;
  constexpr auto dy = ctgrad::input<"dy", 2>;
  constexpr auto y = ctgrad::nn::batch_norm_train(x, gamma, beta, eps_in);
  constexpr auto grads = ctgrad::vjp(ctgrad::outputs(y), ctgrad::seeds(dy), ctgrad::wrt(x, gamma, beta));
  const auto [yv, dxv, dgv, dbv, varv] = ctgrad::evaluate(
      ctgrad::exprs(y, grads, ctgrad::nn::batch_variance<0>(x)),
      ctgrad::bind(x, ctgrad::view<const double, 2>(xt.values.data(), {m, n})),
      ctgrad::bind(gamma, ctgrad::view<const double, 1>(gt.values.data(), {n})),
      ctgrad::bind(beta, ctgrad::view<const double, 1>(bt.values.data(), {n})), ctgrad::bind(eps_in, eps),
      ctgrad::bind(dy, ctgrad::view<const double, 2>(dyt.values.data(), {m, n})));
  refuse_non_finite({&yv.values, &dxv.values, &dgv.values, &dbv.values}, m, n, xt, varv.values, eps);

  transaction tx(out);
  tx.write_temporary(0, to_csv(yv.values, m, n));
  tx.write_temporary(1, to_csv(dxv.values, m, n));
  tx.write_temporary(2, to_csv(dgv.values, 1, n));
  tx.write_temporary(3, to_csv(dbv.values, 1, n));
  tx.commit();
  fmt::print("batch norm (training mode), m = {}, n = {}, eps = {}: wrote y.csv, dx.csv, dgamma.csv, dbeta.csv to {}\n",
             m, n, eps, out.path);

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
  } catch (const std::exception& e) {
    fmt::print(stderr, "ctgrad-batch-norm-check: {}\n", e.what());
    return 2;
  }
}
