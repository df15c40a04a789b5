// ctgrad-batch-norm-check, run as a user runs it: its outputs against the plain-loop closed form
// (tests/support/batch_norm_reference.hpp), round-trip precision, PASS/FAIL verdicts and exit
// codes; malformed inputs (message with file, line and column; exit 2; no output files); and the
// faults of issue 18: non-finite results of its own, outputs that cannot be written or would
// replace an input, planted symlinks, concurrent runs, duplicate flags, oversized and
// non-regular files, a byte order mark. docs/robustness.md lists these cases.
#include <catch2/catch.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
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
using args_t = std::vector<std::string>;

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

/// Every entry of a directory (hidden ones too) with its content, "<dir>" for a directory and
/// "-> target" for a symlink: what "nothing in --out created or changed" compares.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto name = e.path().filename().string();
    if (e.is_symlink())
      m[name] = "-> " + fs::read_symlink(e.path()).string();
    else if (e.is_directory())
      m[name] = "<dir>";
    else
      m[name] = slurp(e.path());
  }
  return m;
}

/// The checker started in a working directory, held before exec until release(), so that a test
/// knows its process id (the temporaries' first names) before it runs.
class process {
 public:
  process(const fs::path& dir, const fs::path& logs, const std::string& tag, const args_t& args, bool piped_stdin = false)
      : out_(logs / (tag + ".out")), err_(logs / (tag + ".err")) {
    // Everything the child needs is prepared before fork: after it, only system calls.
    std::vector<char*> argv{const_cast<char*>(CTGRAD_BATCH_NORM_CHECK)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    // Close-on-exec: a descriptor the checker inherited would hold a test's flock (locks belong
    // to the open file, shared by every copy) and deadlock the run against itself.
    int go[2], in[2] = {-1, -1};
    REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
    if (piped_stdin) REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(go[1]);
      char c;
      if (::read(go[0], &c, 1) != 1) ::_exit(126);
      if (piped_stdin) ::dup2(in[0], 0);
      const int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      const int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (o < 0 || e < 0 || ::chdir(dir.c_str()) != 0) ::_exit(126);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(go[0]);
    go_ = go[1];
    if (piped_stdin) {
      ::close(in[0]);
      stdin_ = in[1];
    }
  }
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  /// Only reached unwaited when a check failed half-way (the child may be blocked on a lock the
  /// test holds): it is killed rather than waited for.
  ~process() {
    if (pid_ > 0 && !waited_) {
      ::kill(pid_, SIGKILL);
      close_stdin();
      if (go_ >= 0) ::close(go_);
      int status;
      ::waitpid(pid_, &status, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void release() {
    if (go_ < 0) return;
    const char c = 'g';
    CHECK(::write(go_, &c, 1) == 1);
    ::close(go_);
    go_ = -1;
  }
  /// Writes `chunk` to the child's stdin until it stops reading or `limit` bytes went in.
  std::size_t feed(const std::string& chunk, std::size_t limit) {
    // Once the child stops reading, a write fails with EPIPE instead of killing the test.
    const auto previous = std::signal(SIGPIPE, SIG_IGN);
    std::size_t sent = 0;
    while (sent < limit && ::write(stdin_, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()))
      sent += chunk.size();
    close_stdin();
    std::signal(SIGPIPE, previous);
    return sent;
  }
  run_result wait() {
    release();
    close_stdin();
    int status = 0;
    REQUIRE(::waitpid(pid_, &status, 0) == pid_);
    waited_ = true;
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out_), slurp(err_)};
  }

 private:
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  fs::path out_, err_;
  pid_t pid_ = -1;
  int go_ = -1, stdin_ = -1;
  bool waited_ = false;
};

/// A scratch directory per test case, removed afterwards: the checker runs in `dir` (with an
/// `out` directory in it); its stdout and stderr go to `logs`, outside what the tests list.
struct scratch {
  fs::path root, dir, logs;
  explicit scratch(const std::string& name)
      : root(fs::temp_directory_path() / fmt::format("ctgrad_cli_{}_{}", name, ::getpid())),
        dir(root / "work"),
        logs(root / "logs") {
    fs::remove_all(root);
    fs::create_directories(dir / "out");
    fs::create_directories(logs);
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  fs::path write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return dir / name;
  }
  run_result run(const args_t& args) const { return process(dir, logs, "run", args).wait(); }
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

void write_inputs(const scratch& s, const batch& c, const std::string& prefix = "") {
  s.write(prefix + "x.csv", csv(c.x, c.m, c.n));
  s.write(prefix + "gamma.csv", csv(c.g, 1, c.n));
  s.write(prefix + "beta.csv", csv(c.b, 1, c.n));
  s.write(prefix + "dy.csv", csv(c.dy, c.m, c.n));
}

args_t inputs_from(const std::string& prefix, const std::string& out = "out") {
  return {"--x", prefix + "x.csv", "--gamma", prefix + "gamma.csv", "--beta", prefix + "beta.csv",
          "--dy", prefix + "dy.csv", "--out", out};
}
const args_t inputs = inputs_from("");

args_t operator+(args_t a, const args_t& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

const char* const output_files[] = {"y.csv", "dx.csv", "dgamma.csv", "dbeta.csv"};

/// The four output files of a run, by name.
std::map<std::string, std::string> output_set(const fs::path& out) {
  std::map<std::string, std::string> m;
  for (const char* f : output_files) m[f] = slurp(out / f);
  return m;
}

/// Holds flock(LOCK_EX) on a directory, as a run does while it renames its files into place.
struct dir_lock {
  int fd;
  explicit dir_lock(const fs::path& dir) : fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX) == 0);
  }
  ~dir_lock() { ::close(fd); }
};

/// Waits until `dir` holds `count` hidden temporaries (*.tmp): the runs have written their
/// outputs and are at the commit.
bool wait_for_temporaries(const fs::path& dir, std::size_t count) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::size_t found = 0;
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".tmp") ++found;
    if (found >= count) {
      // The last one may still be being written; the lock is taken after all are complete.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST_CASE("the CLI writes y, dx, dgamma, dbeta that match the plain-loop closed form", "[cli]") {
  for (auto [m, n, seed] : {std::tuple{5u, 3u, 1u}, std::tuple{2u, 4u, 7u}, std::tuple{32u, 1u, 9u}}) {
    scratch s("values");
    const batch c = make_batch(m, n, seed);
    write_inputs(s, c);
    const auto r = s.run(inputs + args_t{"--eps", "0.001"});
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
  const auto r = s.run(inputs + args_t{"--dx", "mine_dx.csv", "--dgamma", "mine_dgamma.csv", "--dbeta",
                                       "mine_dbeta.csv", "--tolerance", "0"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "dx      max abs error 0.000e+00"));
  CHECK(contains(r.out, "dgamma  max abs error 0.000e+00"));
  CHECK(contains(r.out, "dbeta   max abs error 0.000e+00"));
}

TEST_CASE("the CLI passes a correct hand implementation and fails a wrong one", "[cli]") {
  scratch s("verdict");
  const batch c = make_batch(8, 3, 31);
  write_inputs(s, c);
  const auto ref = ctgrad_test::batch_norm_reference(c.x, c.g, c.b, c.dy, c.m, c.n, 1e-5);
  s.write("good_dx.csv", csv(ref.dx, c.m, c.n));
  s.write("good_dgamma.csv", csv(ref.dgamma, 1, c.n));
  s.write("good_dbeta.csv", csv(ref.dbeta, 1, c.n));
  auto wrong = ref.dx;
  for (std::size_t i = 0; i < c.n; ++i) wrong[i] += 1e-3;  // the classic bug: a term left out
  s.write("bad_dx.csv", csv(wrong, c.m, c.n));

  const auto good = s.run(inputs + args_t{"--dx", "good_dx.csv", "--dgamma", "good_dgamma.csv", "--dbeta", "good_dbeta.csv"});
  INFO(good.out << good.err);
  CHECK(good.exit_code == 0);
  CHECK(contains(good.out, "dx      max abs error"));
  CHECK(contains(good.out, "dbeta   max abs error"));
  CHECK_FALSE(contains(good.out, "FAIL"));

  const auto bad = s.run(inputs + args_t{"--dx", "bad_dx.csv", "--dgamma", "good_dgamma.csv"});
  INFO(bad.out << bad.err);
  CHECK(bad.exit_code == 1);
  CHECK(contains(bad.out, "dx      max abs error 1.000e-03"));
  CHECK(contains(bad.out, "FAIL"));
  CHECK(contains(bad.out, "dgamma  max abs error"));
  // A loose tolerance turns the same error into a PASS.
  CHECK(s.run(inputs + args_t{"--dx", "bad_dx.csv", "--tolerance", "0.5"}).exit_code == 0);

  SECTION("a wrong dgamma or dbeta alone FAILs with exit 1, even next to a correct dx") {
    // dgamma = sum(dy * xhat) and dbeta = sum(dy): the bugs are a missing normalization and a mean
    // instead of a sum, each off by far more than the tolerance.
    auto bad_dgamma = ref.dgamma;
    for (auto& v : bad_dgamma) v *= 1.01;
    auto bad_dbeta = ref.dbeta;
    for (auto& v : bad_dbeta) v /= static_cast<double>(c.m);
    s.write("bad_dgamma.csv", csv(bad_dgamma, 1, c.n));
    s.write("bad_dbeta.csv", csv(bad_dbeta, 1, c.n));
    const auto g = s.run(inputs + args_t{"--dx", "good_dx.csv", "--dgamma", "bad_dgamma.csv", "--dbeta", "good_dbeta.csv"});
    INFO(g.out << g.err);
    CHECK(g.exit_code == 1);
    CHECK(contains(g.out, "dx      max abs error"));
    CHECK(contains(g.out, "dgamma  max abs error"));
    CHECK(contains(g.out, "FAIL (tolerance"));
    CHECK(g.out.find("FAIL") > g.out.find("dgamma"));
    const auto b = s.run(inputs + args_t{"--dx", "good_dx.csv", "--dgamma", "good_dgamma.csv", "--dbeta", "bad_dbeta.csv"});
    INFO(b.out << b.err);
    CHECK(b.exit_code == 1);
    CHECK(b.out.find("FAIL") > b.out.find("dbeta"));
    CHECK(s.run(inputs + args_t{"--dbeta", "bad_dbeta.csv"}).exit_code == 1);
  }
}

TEST_CASE("a small-magnitude dx whose absolute error is within tolerance but relative error is not FAILs", "[cli]") {
  scratch s("relative");
  batch c = make_batch(8, 3, 51);
  for (auto& v : c.dy) v *= 1e-9;  // dx is of order 1e-9
  write_inputs(s, c);
  const auto ref = ctgrad_test::batch_norm_reference(c.x, c.g, c.b, c.dy, c.m, c.n, 1e-5);
  auto off = ref.dx;
  for (auto& v : off) v *= 1.001;  // 0.1 % off everywhere: absolute error ~1e-12
  s.write("off_dx.csv", csv(off, c.m, c.n));
  const auto r = s.run(inputs + args_t{"--dx", "off_dx.csv", "--tolerance", "1e-6"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.out, "FAIL"));
  // The case is what it claims: the absolute error printed is far below the tolerance, the
  // relative one far above it.
  const auto abs_at = r.out.find("max abs error ");
  const auto rel_at = r.out.find("max rel error ");
  REQUIRE(abs_at != std::string::npos);
  REQUIRE(rel_at != std::string::npos);
  CHECK(std::stod(r.out.substr(abs_at + 14, 9)) < 1e-9);
  CHECK(std::stod(r.out.substr(rel_at + 14, 9)) > 1e-4);
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
      {"not a number", "x.csv", "1,2\n3, abc\n5,6\n", "x.csv:2:4: field 2 is not a number: \"abc\""},
      {"control bytes shown escaped", "x.csv", "1,2\n3,4\x01\n5,6\n", "x.csv:2:3: field 2 is not a number: \"4\\x01\""},
      {"empty field", "dy.csv", "1,2\n3,,4\n5,6\n", "dy.csv:2:3: field 2 is empty"},
      {"wrong column count", "gamma.csv", "1,2,3\n", "gamma.csv:1:1: gamma must have 2 columns (one per feature of x), found 3"},
      {"wrong row count", "beta.csv", "1,2\n3,4\n", "beta.csv:2:1: beta must have 1 row, found 2"},
      {"dy rows", "dy.csv", "1,2\n3,4\n", "dy.csv:3:1: dy must have 3 rows, found 2"},
      {"not finite", "x.csv", "1,2\n3,inf\n5,6\n", "x.csv:2:3: field 2 is not a finite number: \"inf\""},
      {"out of range", "x.csv", "1,2\n3,1e400\n5,6\n", "x.csv:2:3: field 2 is out of the range of a double: \"1e400\""},
      {"empty file", "x.csv", "", "x.csv:1:1: no data"},
      {"blank line inside", "x.csv", "1,2\n\n5,6\n", "x.csv:2:1: empty line inside the data"},
  };
  for (const auto& bc : cases) {
    scratch s("malformed");
    write_inputs(s, c);
    s.write(bc.file, bc.text);
    const auto r = s.run(inputs);
    INFO(bc.what << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, bc.expected));
    CHECK(s.outputs().empty());
  }
  scratch s("missing");
  write_inputs(s, c);
  const auto r = s.run(inputs + args_t{"--dx", "no_such_file.csv"});
  INFO(r.err);
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "no_such_file.csv: cannot open: No such file or directory"));
  CHECK(s.outputs().empty());
  // A malformed user gradient is caught before anything is written, too.
  s.write("short_dx.csv", "1,2\n");
  const auto r2 = s.run(inputs + args_t{"--dx", "short_dx.csv"});
  CHECK(r2.exit_code == 2);
  CHECK(contains(r2.err, "short_dx.csv:2:1: dx must have 3 rows, found 1"));
  CHECK(s.outputs().empty());
}

TEST_CASE("a non-finite result of ctgrad's own is an error with its cause: exit 2, no files", "[cli][robustness]") {
  scratch s("nonfinite");
  s.write("one.csv", "1\n");
  s.write("dy.csv", "1\n-1\n");
  s.write("zero_dx.csv", "0\n0\n");
  s.write("zero.csv", "0\n");
  const args_t common{"--gamma", "one.csv", "--beta", "one.csv", "--dy", "dy.csv", "--out", "out"};
  const args_t all_zero_gradients{"--dx", "zero_dx.csv", "--dgamma", "zero.csv", "--dbeta", "zero.csv"};

  SECTION("the variance overflows: x = [1e308, -1e308]") {
    s.write("x.csv", "1e308\n-1e308\n");
    // Any gradient PASSed before, all-zero ones included: the comparison with NaN was never false.
    const auto r = s.run(args_t{"--x", "x.csv"} + common + all_zero_gradients);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(contains(r.out, "PASS"));
    CHECK(contains(r.err, "ctgrad's own y is not finite"));
    CHECK(contains(r.err, "row 1, column 1"));
    CHECK(contains(r.err, "the variance of feature 1 is"));
    CHECK(contains(r.err, "spans -1e+308 to 1e+308, too wide for a double"));
    CHECK(s.outputs().empty());
  }
  SECTION("a constant feature with --eps 0") {
    s.write("x.csv", "3\n3\n");
    const auto r = s.run(args_t{"--x", "x.csv", "--eps", "0"} + common + all_zero_gradients);
    INFO(r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK_FALSE(contains(r.out, "PASS"));
    CHECK(contains(r.err, "feature 1 is constant (3 in every row of x.csv) and eps is 0"));
    CHECK(contains(r.err, "give --eps a positive value"));
    CHECK(s.outputs().empty());
    // Controls: the same feature with eps > 0, and a varying feature with eps 0, are fine.
    CHECK(s.run(args_t{"--x", "x.csv", "--eps", "1e-5"} + common).exit_code == 0);
    s.write("x2.csv", "3\n4\n");
    CHECK(s.run(args_t{"--x", "x2.csv", "--eps", "0"} + common).exit_code == 0);
  }
}

TEST_CASE("an output that cannot be written changes nothing in --out", "[cli][robustness]") {
  scratch s("badout");
  write_inputs(s, make_batch(4, 2, 61));
  const fs::path out = s.dir / "out";
  s.write("out/y.csv", "old y\n");
  s.write("out/dbeta.csv", "old dbeta\n");

  SECTION("out/dx.csv is a directory from the start") {
    fs::create_directory(out / "dx.csv");
    const auto before = snapshot(out);
    const auto r = s.run(inputs);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "out/dx.csv: is a directory"));
    CHECK(snapshot(out) == before);
  }
  SECTION("out/dx.csv becomes a directory after the run checked it: the renames made are undone") {
    // The run writes its temporaries, then waits for the lock this test holds; meanwhile dx.csv
    // becomes a directory, so y.csv is replaced and the replacement of dx.csv fails.
    const auto before = snapshot(out);
    std::optional<dir_lock> lock(std::in_place, out);
    process p(s.dir, s.logs, "p", inputs);
    p.release();
    REQUIRE(wait_for_temporaries(out, 4));
    fs::create_directory(out / "dx.csv");
    auto expected = before;
    expected["dx.csv"] = "<dir>";
    lock.reset();
    const auto r = p.wait();
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "waiting for another run"));
    CHECK(contains(r.err, "out/dx.csv: is a directory"));
    CHECK(snapshot(out) == expected);  // y.csv is "old y" again; no temporaries or backups left
  }
  SECTION("the same, with no y.csv before: the y.csv written is removed again") {
    fs::remove(out / "y.csv");
    const auto before = snapshot(out);
    std::optional<dir_lock> lock(std::in_place, out);
    process p(s.dir, s.logs, "p", inputs);
    p.release();
    REQUIRE(wait_for_temporaries(out, 4));
    fs::create_directory(out / "dx.csv");
    auto expected = before;
    expected["dx.csv"] = "<dir>";
    lock.reset();
    const auto r = p.wait();
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(snapshot(out) == expected);
  }
  SECTION("--out is not a directory, or does not exist") {
    s.write("plain", "x\n");
    args_t no_out(inputs.begin(), inputs.end() - 2);
    const auto r2 = s.run(no_out + args_t{"--out", "plain"});
    INFO(r2.err);
    CHECK(r2.exit_code == 2);
    CHECK(contains(r2.err, "--out plain: not a directory"));
    const auto r3 = s.run(no_out + args_t{"--out", "missing"});
    CHECK(r3.exit_code == 2);
    CHECK(contains(r3.err, "--out missing: cannot open the directory: No such file or directory"));
    CHECK_FALSE(fs::exists(s.dir / "missing"));
  }
}

TEST_CASE("a symlink planted at a temporary's name is never followed", "[cli][robustness]") {
  scratch s("symlink");
  const batch c = make_batch(5, 2, 71);
  write_inputs(s, c);
  const fs::path out = s.dir / "out";
  // The expected outputs, from a run into a directory nobody tampers with.
  fs::create_directory(s.dir / "clean");
  REQUIRE(s.run(inputs_from("", "clean")).exit_code == 0);
  const auto expected = output_set(s.dir / "clean");

  s.write("victim.txt", "precious\n");
  s.write("out/y.csv", "old y\n");  // so that a backup of it is made, at a planted name too
  process p(s.dir, s.logs, "p", inputs);
  // The names a run tries first are .NAME.PID.tmp (and .NAME.PID.bak); before 18 it was .NAME.tmp.
  for (const char* f : output_files) {
    fs::create_symlink(s.dir / "victim.txt", out / fmt::format(".{}.{}.tmp", f, p.pid()));
    fs::create_symlink(s.dir / "victim.txt", out / fmt::format(".{}.{}.bak", f, p.pid()));
    fs::create_symlink(s.dir / "victim.txt", out / fmt::format(".{}.tmp", f));
  }
  const auto planted = snapshot(out);
  const auto r = p.wait();
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(slurp(s.dir / "victim.txt") == "precious\n");
  CHECK(output_set(out) == expected);
  // Every planted link is still there, unchanged, and nothing else was left behind.
  auto after = snapshot(out);
  for (const char* f : output_files) after.erase(f);
  auto links = planted;
  links.erase("y.csv");
  CHECK(after == links);
  CHECK(fs::is_symlink(out / fmt::format(".y.csv.{}.tmp", p.pid())));
}

TEST_CASE("an --out that would overwrite an input is refused before anything is written", "[cli][robustness]") {
  scratch s("overwrite");
  const batch c = make_batch(4, 2, 81);
  write_inputs(s, c);
  const auto ref = ctgrad_test::batch_norm_reference(c.x, c.g, c.b, c.dy, c.m, c.n, 1e-5);
  const std::string my_dx = csv(ref.dx, c.m, c.n);
  s.write("dx.csv", my_dx);
  const args_t in_here{"--x", "x.csv", "--gamma", "gamma.csv", "--beta", "beta.csv", "--dy", "dy.csv"};

  SECTION("the default --out . with --dx dx.csv") {
    const auto before = snapshot(s.dir);
    const auto r = s.run(in_here + args_t{"--dx", "dx.csv"});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "--out .: writing ./dx.csv would overwrite the input --dx dx.csv"));
    CHECK(snapshot(s.dir) == before);
    // Spelled differently, the same entry.
    const auto r2 = s.run(in_here + args_t{"--dx", "./dx.csv", "--out", s.dir.string()});
    CHECK(r2.exit_code == 2);
    CHECK(contains(r2.err, "would overwrite the input --dx ./dx.csv"));
    CHECK(snapshot(s.dir) == before);
  }
  SECTION("an input that is a hard link or a symlink to an output's name") {
    fs::create_hard_link(s.dir / "dx.csv", s.dir / "out" / "dgamma.csv");
    const auto before = snapshot(s.dir / "out");
    const auto r = s.run(inputs + args_t{"--dx", "dx.csv"});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "writing out/dgamma.csv would overwrite the input --dx dx.csv"));
    CHECK(snapshot(s.dir / "out") == before);
    fs::remove(s.dir / "out" / "dgamma.csv");
    fs::create_symlink(s.dir / "x.csv", s.dir / "out" / "y.csv");
    const auto r2 = s.run(inputs);
    CHECK(r2.exit_code == 2);
    CHECK(contains(r2.err, "writing out/y.csv would overwrite the input --x x.csv"));
    CHECK(fs::is_symlink(s.dir / "out" / "y.csv"));
  }
  SECTION("control: the same files with another --out are fine") {
    const auto r = s.run(inputs + args_t{"--dx", "dx.csv"});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    CHECK(slurp(s.dir / "dx.csv") == my_dx);
  }
}

TEST_CASE("duplicate, unknown and missing flags are usage errors (exit 2, nothing written)", "[cli][robustness]") {
  scratch s("flags");
  write_inputs(s, make_batch(3, 2, 91));
  const struct {
    args_t args;
    std::string expected;
  } cases[] = {
      {inputs + args_t{"--x", "x.csv"}, "option --x is given 2 times (x.csv, x.csv); give it once"},
      {inputs + args_t{"--eps", "1e-5", "--eps=1e-3"}, "option --eps is given 2 times (1e-5, 1e-3); give it once"},
      {inputs + args_t{"--tolerance", "0.1", "--tolerance", "0.2"}, "option --tolerance is given 2 times"},
      {inputs + args_t{"--epsilon", "1"}, "unexpected arguments --epsilon 1"},
      {inputs + args_t{"stray"}, "unexpected argument stray"},
      {args_t{"--x", "x.csv", "--gamma", "gamma.csv", "--beta", "beta.csv", "--out", "out"}, "option --dy is required"},
      {inputs + args_t{"--eps"}, "--eps: 1 required"},
      {inputs + args_t{"--eps", "-1"}, "option --eps: \"-1\" is not a finite non-negative number"},
      {inputs + args_t{"--tolerance", "0x1"}, "option --tolerance: \"0x1\" is not a finite non-negative number"},
      {inputs + args_t{"--max-input-bytes", "0"}, "option --max-input-bytes: \"0\" is not a positive whole number"},
  };
  for (const auto& bc : cases) {
    const auto r = s.run(bc.args);
    INFO(fmt::format("{}: {}", fmt::join(bc.args, " "), r.err));
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, bc.expected));
    CHECK(s.outputs().empty());
  }
  const auto help = s.run({"--help"});
  CHECK(help.exit_code == 0);
  CHECK(contains(help.out, "--max-input-bytes"));
}

TEST_CASE("line length and file size are bounded, with a clear message", "[cli][robustness]") {
  scratch s("limits");
  write_inputs(s, make_batch(3, 2, 101));
  args_t rest(inputs.begin() + 2, inputs.end());  // everything but --x

  SECTION("a symlink to /dev/zero stops at the line limit") {
    fs::create_symlink("/dev/zero", s.dir / "zero.csv");
    const auto start = std::chrono::steady_clock::now();
    const auto r = s.run(args_t{"--x", "zero.csv"} + rest);
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "zero.csv:1:1: line is longer than 1048576 bytes, the limit"));
    CHECK(seconds < 5);
    CHECK(s.outputs().empty());
  }
  SECTION("a line longer than the limit in a regular file") {
    s.write("long.csv", "1,2\n" + std::string(1 << 20, '1') + ",2\n");
    const auto r = s.run(args_t{"--x", "long.csv"} + rest);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "long.csv:2:1: line is longer than 1048576 bytes, the limit"));
  }
  SECTION("a regular file larger than the limit is refused before it is read") {
    {
      std::ofstream f(s.dir / "huge.csv", std::ios::binary);
      f << "1,2\n";
    }
    fs::resize_file(s.dir / "huge.csv", std::uintmax_t{300} << 20);  // sparse: no 300 MB written
    const auto r = s.run(args_t{"--x", "huge.csv"} + rest);
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "huge.csv: is larger than 268435456 bytes, the limit (raise it with --max-input-bytes)"));
    CHECK(s.outputs().empty());
  }
  SECTION("--max-input-bytes: the limit is inclusive") {
    std::uintmax_t largest = 0;
    for (const char* f : {"x.csv", "gamma.csv", "beta.csv", "dy.csv"}) largest = std::max(largest, fs::file_size(s.dir / f));
    CHECK(s.run(inputs + args_t{"--max-input-bytes", std::to_string(largest)}).exit_code == 0);
    const auto r = s.run(inputs + args_t{"--max-input-bytes", std::to_string(largest - 1)});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, fmt::format(".csv: is larger than {} bytes", largest - 1)));
  }
  SECTION("a pipe is cut off at the limit while it is read") {
    s.write("one.csv", "1\n");
    process p(s.dir, s.logs, "p",
              args_t{"--x", "/dev/stdin", "--gamma", "one.csv", "--beta", "one.csv", "--dy", "one.csv", "--out", "out",
                     "--max-input-bytes", "100000"},
              true);
    p.release();
    std::string lines;
    for (int i = 0; i < 1000; ++i) lines += "1\n";
    const std::size_t sent = p.feed(lines, std::size_t{64} << 20);
    const auto r = p.wait();
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains(r.err, "/dev/stdin: is larger than 100000 bytes, the limit"));
    CHECK(sent < (std::size_t{64} << 20));  // it stopped reading: the writer got EPIPE
    CHECK(s.outputs().empty());
  }
}

TEST_CASE("a directory or an unreadable file given as an input is named as such", "[cli][robustness]") {
  scratch s("notafile");
  write_inputs(s, make_batch(3, 2, 111));
  args_t rest(inputs.begin() + 2, inputs.end());
  fs::create_directory(s.dir / "data");

  const auto dir = s.run(args_t{"--x", "data"} + rest);
  CHECK(dir.exit_code == 2);
  CHECK(contains(dir.err, "data: is a directory, not a CSV file"));
  const auto mine = s.run(inputs + args_t{"--dgamma", "data"});
  CHECK(mine.exit_code == 2);
  CHECK(contains(mine.err, "data: is a directory, not a CSV file"));

  fs::create_symlink("nowhere.csv", s.dir / "dangling.csv");
  const auto dangling = s.run(args_t{"--x", "dangling.csv"} + rest);
  CHECK(dangling.exit_code == 2);
  CHECK(contains(dangling.err, "dangling.csv: cannot open: No such file or directory"));

  // A socket cannot be opened, not even by root.
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = (s.dir / "socket.csv").string();
  REQUIRE(sock_path.size() < sizeof addr.sun_path);
  std::copy(sock_path.begin(), sock_path.end(), addr.sun_path);
  REQUIRE(::bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  const auto socket_run = s.run(args_t{"--x", "socket.csv"} + rest);
  ::close(sock);
  CHECK(socket_run.exit_code == 2);
  CHECK(contains(socket_run.err, "socket.csv: cannot open: No such device or address"));

  if (::geteuid() != 0) {
    s.write("secret.csv", "1,2\n");
    fs::permissions(s.dir / "secret.csv", fs::perms::none);
    const auto denied = s.run(args_t{"--x", "secret.csv"} + rest);
    CHECK(denied.exit_code == 2);
    CHECK(contains(denied.err, "secret.csv: cannot open: Permission denied"));
  } else {
    WARN("running as root: the permission-denied case is not exercised (root reads any file)");
  }
  CHECK(s.outputs().empty());
}

TEST_CASE("a UTF-8 byte order mark is accepted and not counted in columns", "[cli][robustness]") {
  scratch s("bom");
  const batch c = make_batch(4, 3, 121);
  write_inputs(s, c);
  fs::create_directory(s.dir / "plain");
  REQUIRE(s.run(inputs_from("", "plain")).exit_code == 0);
  const std::string bom = "\xEF\xBB\xBF";
  s.write("x.csv", bom + csv(c.x, c.m, c.n));
  s.write("gamma.csv", bom + csv(c.g, 1, c.n));
  const auto r = s.run(inputs);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(output_set(s.dir / "out") == output_set(s.dir / "plain"));
  s.write("x.csv", bom + "1,abc,3\n");
  const auto bad = s.run(inputs);
  CHECK(bad.exit_code == 2);
  CHECK(contains(bad.err, "x.csv:1:3: field 2 is not a number: \"abc\""));
  // Only at the start of the file: elsewhere it is not part of a number.
  s.write("x.csv", csv(c.x, 1, c.n) + bom + csv(std::vector<double>(c.x.begin() + 3, c.x.end()), c.m - 1, c.n));
  CHECK(s.run(inputs).exit_code == 2);
}

TEST_CASE("concurrent runs into one directory leave the four files of one run", "[cli][robustness]") {
  scratch s("concurrent");
  // Two different problems, so that every output file says which run wrote it.
  write_inputs(s, make_batch(300, 20, 131), "a_");
  write_inputs(s, make_batch(300, 20, 141), "b_");
  fs::create_directory(s.dir / "solo_a");
  fs::create_directory(s.dir / "solo_b");
  REQUIRE(s.run(inputs_from("a_", "solo_a")).exit_code == 0);
  REQUIRE(s.run(inputs_from("b_", "solo_b")).exit_code == 0);
  const auto set_a = output_set(s.dir / "solo_a"), set_b = output_set(s.dir / "solo_b");
  REQUIRE(set_a != set_b);
  const fs::path out = s.dir / "out";
  const auto consistent = [&] {
    const auto got = output_set(out);
    return snapshot(out).size() == 4 && (got == set_a || got == set_b);
  };

  SECTION("both runs wait for the directory's lock before they replace anything") {
    std::optional<dir_lock> lock(std::in_place, out);
    process a(s.dir, s.logs, "a", inputs_from("a_"));
    process b(s.dir, s.logs, "b", inputs_from("b_"));
    a.release();
    b.release();
    REQUIRE(wait_for_temporaries(out, 8));
    for (const char* f : output_files) CHECK_FALSE(fs::exists(out / f));
    lock.reset();
    const auto ra = a.wait(), rb = b.wait();
    INFO(ra.err << rb.err);
    CHECK(ra.exit_code == 0);
    CHECK(rb.exit_code == 0);
    CHECK(consistent());
  }
  SECTION("started together, again and again") {
    for (int round = 0; round < 8; ++round) {
      process a(s.dir, s.logs, "a", inputs_from("a_"));
      process b(s.dir, s.logs, "b", inputs_from("b_"));
      a.release();
      b.release();
      const auto ra = a.wait(), rb = b.wait();
      INFO("round " << round << ": " << ra.err << rb.err);
      CHECK(ra.exit_code == 0);
      CHECK(rb.exit_code == 0);
      CHECK(consistent());
    }
  }
}
