// ctgrad-batch-norm-check, run as a user runs it: its outputs against the plain-loop closed form
// (tests/support/batch_norm_reference.hpp), round-trip precision, PASS/FAIL verdicts and exit
// codes, and malformed inputs (message with file, line and column; exit 2; no output files).
#include <catch2/catch.hpp>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "support/batch_norm_reference.hpp"
#include "support/numeric.hpp"

#ifndef CTGRAD_BATCH_NORM_CHECK
#error "CTGRAD_BATCH_NORM_CHECK must be the path of the ctgrad-batch-norm-check executable"
#endif

namespace fs = std::filesystem;

namespace {

struct run_result {
  int exit_code;
  std::string out, err;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/// A scratch directory per test case, removed afterwards.
struct scratch {
  fs::path dir;
  explicit scratch(const std::string& name) : dir(fs::temp_directory_path() / fmt::format("ctgrad_cli_{}_{}", name, ::getpid())) {
    fs::remove_all(dir);
    fs::create_directories(dir / "out");
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return dir / name;
  }
  run_result run(const std::string& args) const {
    const std::string cmd = fmt::format("cd '{}' && '{}' {} > stdout.txt 2> stderr.txt", dir.string(), CTGRAD_BATCH_NORM_CHECK, args);
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(dir / "stdout.txt"), slurp(dir / "stderr.txt")};
  }
  std::vector<std::string> outputs() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir / "out")) names.push_back(e.path().filename().string());
    return names;
  }
};

std::string csv(const std::vector<double>& v, std::size_t rows, std::size_t cols) {
  std::string s;
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t k = 0; k < cols; ++k) s += fmt::format("{}{}", k ? "," : "", v[i * cols + k]);
    s += "\n";
  }
  return s;
}

std::vector<double> read_numbers(const fs::path& p, std::size_t& rows) {
  std::vector<double> v;
  std::ifstream in(p);
  std::string line;
  rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    std::size_t start = 0;
    while (start <= line.size()) {
      std::size_t end = line.find(',', start);
      if (end == std::string::npos) end = line.size();
      double d = 0;
      std::from_chars(line.data() + start, line.data() + end, d);
      v.push_back(d);
      start = end + 1;
    }
  }
  return v;
}

struct batch {
  std::size_t m, n;
  std::vector<double> x, g, b, dy;
};

batch make_batch(std::size_t m, std::size_t n, unsigned seed) {
  return {m, n, ctgrad_test::random_vector(m * n, seed, -3, 5), ctgrad_test::random_vector(n, seed + 1, 0.5, 2),
          ctgrad_test::random_vector(n, seed + 2), ctgrad_test::random_vector(m * n, seed + 3)};
}

void write_inputs(const scratch& s, const batch& c) {
  s.write("x.csv", csv(c.x, c.m, c.n));
  s.write("gamma.csv", csv(c.g, 1, c.n));
  s.write("beta.csv", csv(c.b, 1, c.n));
  s.write("dy.csv", csv(c.dy, c.m, c.n));
}

const std::string inputs = "--x x.csv --gamma gamma.csv --beta beta.csv --dy dy.csv --out out";

}  // namespace

TEST_CASE("the CLI writes y, dx, dgamma, dbeta that match the plain-loop closed form", "[cli]") {
  for (auto [m, n, seed] : {std::tuple{5u, 3u, 1u}, std::tuple{2u, 4u, 7u}, std::tuple{32u, 1u, 9u}}) {
    scratch s("values");
    const batch c = make_batch(m, n, seed);
    write_inputs(s, c);
    const auto r = s.run(inputs + " --eps 0.001");
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto ref = ctgrad_test::batch_norm_reference(c.x, c.g, c.b, c.dy, m, n, 0.001);
    std::size_t rows = 0;
    const auto y = read_numbers(s.dir / "out" / "y.csv", rows);
    CHECK(rows == m);
    CHECK(ctgrad_test::relative_error(y, ref.y) <= 1e-12);
    const auto dx = read_numbers(s.dir / "out" / "dx.csv", rows);
    CHECK(rows == m);
    CHECK(ctgrad_test::relative_error(dx, ref.dx, ref.dx_scale) <= 1e-12);
    const auto dg = read_numbers(s.dir / "out" / "dgamma.csv", rows);
    CHECK(rows == 1);
    CHECK(ctgrad_test::relative_error(dg, ref.dgamma) <= 1e-12);
    const auto db = read_numbers(s.dir / "out" / "dbeta.csv", rows);
    CHECK(ctgrad_test::relative_error(db, ref.dbeta) <= 1e-12);
  }
}

TEST_CASE("the CLI's files read back exactly (round trip) and its own gradients PASS with error 0", "[cli]") {
  scratch s("roundtrip");
  write_inputs(s, make_batch(6, 3, 21));
  REQUIRE(s.run(inputs).exit_code == 0);
  for (const char* f : {"dx.csv", "dgamma.csv", "dbeta.csv"}) fs::copy_file(s.dir / "out" / f, s.dir / fmt::format("mine_{}", f));
  const auto r = s.run(inputs + " --dx mine_dx.csv --dgamma mine_dgamma.csv --dbeta mine_dbeta.csv --tolerance 0");
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("dx      max abs error 0.000e+00") != std::string::npos);
  CHECK(r.out.find("dgamma  max abs error 0.000e+00") != std::string::npos);
  CHECK(r.out.find("dbeta   max abs error 0.000e+00") != std::string::npos);
}

TEST_CASE("the CLI passes a correct hand implementation and fails a wrong one", "[cli]") {
  scratch s("verdict");
  const batch c = make_batch(8, 3, 31);
  write_inputs(s, c);
  const auto ref = ctgrad_test::batch_norm_reference(c.x, c.g, c.b, c.dy, c.m, c.n, 1e-5);
  s.write("good_dx.csv", csv(ref.dx, c.m, c.n));
  s.write("good_dgamma.csv", csv(ref.dgamma, 1, c.n));
  auto wrong = ref.dx;
  for (std::size_t i = 0; i < c.n; ++i) wrong[i] += 1e-3;  // the classic bug: a term left out
  s.write("bad_dx.csv", csv(wrong, c.m, c.n));

  const auto good = s.run(inputs + " --dx good_dx.csv --dgamma good_dgamma.csv");
  INFO(good.out << good.err);
  CHECK(good.exit_code == 0);
  CHECK(good.out.find("dx      max abs error") != std::string::npos);
  CHECK(good.out.find("FAIL") == std::string::npos);

  const auto bad = s.run(inputs + " --dx bad_dx.csv --dgamma good_dgamma.csv");
  INFO(bad.out << bad.err);
  CHECK(bad.exit_code == 1);
  CHECK(bad.out.find("dx      max abs error 1.000e-03") != std::string::npos);
  CHECK(bad.out.find("FAIL") != std::string::npos);
  CHECK(bad.out.find("dgamma  max abs error") != std::string::npos);
  // A loose tolerance turns the same error into a PASS.
  CHECK(s.run(inputs + " --dx bad_dx.csv --tolerance 0.5").exit_code == 0);
}

TEST_CASE("malformed input: file, line and column named, exit 2, no output written", "[cli]") {
  struct bad_case {
    const char* what;
    const char* file;
    std::string text;
    std::string expected;  // in stderr
  };
  const batch c = make_batch(3, 2, 41);
  const std::vector<bad_case> cases{
      {"ragged row", "x.csv", "1,2\n3,4\n5\n", "x.csv:3:2: row has 1 fields, but row 1 has 2"},
      {"not a number", "x.csv", "1,2\n3, abc\n5,6\n", "x.csv:2:4: field 2 is not a number: 'abc'"},
      {"empty field", "dy.csv", "1,2\n3,,4\n5,6\n", "dy.csv:2:3: field 2 is empty"},
      {"wrong column count", "gamma.csv", "1,2,3\n", "gamma.csv:1:1: gamma must have 2 columns (one per feature of x), found 3"},
      {"wrong row count", "beta.csv", "1,2\n3,4\n", "beta.csv:2:1: beta must have 1 row, found 2"},
      {"dy rows", "dy.csv", "1,2\n3,4\n", "dy.csv:3:1: dy must have 3 rows, found 2"},
      {"not finite", "x.csv", "1,2\n3,inf\n5,6\n", "x.csv:2:3: field 2 is not a finite number: 'inf'"},
      {"empty file", "x.csv", "", "x.csv:1:1: no data"},
  };
  for (const auto& bc : cases) {
    scratch s("malformed");
    write_inputs(s, c);
    s.write(bc.file, bc.text);
    const auto r = s.run(inputs);
    INFO(bc.what << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(bc.expected) != std::string::npos);
    CHECK(s.outputs().empty());
  }
  scratch s("missing");
  write_inputs(s, c);
  const auto r = s.run(inputs + " --dx no_such_file.csv");
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("no_such_file.csv: cannot open file") != std::string::npos);
  CHECK(s.outputs().empty());
  // A malformed user gradient is caught before anything is written, too.
  s.write("short_dx.csv", "1,2\n");
  const auto r2 = s.run(inputs + " --dx short_dx.csv");
  CHECK(r2.exit_code == 2);
  CHECK(r2.err.find("short_dx.csv:2:1: dx must have 3 rows, found 1") != std::string::npos);
  CHECK(s.outputs().empty());
}
