#pragma once
// The CSV reader of ctgrad-batch-norm-check (examples/batch_norm_check.cpp): numbers, one row
// per line, comma-separated, no header, an optional UTF-8 byte order mark; every error an
// input_error that names the file, line and column. In a header of its own so that the fuzz
// target tests/fuzz/csv_reader_fuzz.cpp runs the very code the tool runs.
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

namespace ctgrad_tool {

/// A malformed input, bad usage or an output that cannot be written: printed as is, exit 2.
struct input_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string errno_text(int e) { return std::system_category().message(e); }

/// A file descriptor closed when it goes out of scope.
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~unique_fd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

/// A row of a CSV file longer than this is refused: no real row of numbers needs it, and it
/// bounds what is read of a file without line breaks (a link to /dev/zero).
inline constexpr std::size_t max_line_bytes = std::size_t{1} << 20;
inline constexpr std::uint64_t default_max_input_bytes = std::uint64_t{256} << 20;

/// A row-major table read from a CSV file.
struct table {
  std::string file;
  std::size_t rows = 0, cols = 0;
  std::vector<double> values;
};

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// A field as shown in a message: escaped (it may hold control bytes) and cut to a readable length.
inline std::string shown(std::string_view field) {
  constexpr std::size_t max_shown = 40;
  if (field.size() <= max_shown) return fmt::format("{:?}", field);
  return fmt::format("{:?}... ({} bytes)", field.substr(0, max_shown), field.size());
}

/// Parses one CSV line (BOM and line break removed) into `t`.
inline void parse_line(table& t, std::string_view line, std::size_t line_no) {
  std::size_t fields = 0, start = 0;
  while (true) {
    const std::size_t comma = line.find(',', start);
    const std::size_t end = comma == std::string_view::npos ? line.size() : comma;
    const std::string_view raw = line.substr(start, end - start);
    const std::string_view field = trim(raw);
    const std::size_t column = start + static_cast<std::size_t>(field.data() - raw.data()) + 1;
    ++fields;
    if (field.empty()) throw input_error(fmt::format("{}:{}:{}: field {} is empty", t.file, line_no, column, fields));
    double v = 0;
    const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    if (ec == std::errc::result_out_of_range)
      throw input_error(fmt::format("{}:{}:{}: field {} is out of the range of a double: {}", t.file, line_no, column,
                                    fields, shown(field)));
    if (ec != std::errc{} || ptr != field.data() + field.size())
      throw input_error(
          fmt::format("{}:{}:{}: field {} is not a number: {}", t.file, line_no, column, fields, shown(field)));
    if (!std::isfinite(v))
      throw input_error(
          fmt::format("{}:{}:{}: field {} is not a finite number: {}", t.file, line_no, column, fields, shown(field)));
    t.values.push_back(v);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (t.rows == 0) {
    t.cols = fields;
  } else if (fields != t.cols) {
    throw input_error(fmt::format("{}:{}:{}: row has {} fields, but row 1 has {}", t.file, line_no, line.size() + 1,
                                  fields, t.cols));
  }
  ++t.rows;
}

/// Reads CSV text fed in chunks of any size (a line may span chunks): every row must have the
/// same number of fields, empty lines are allowed only at the end, no line may exceed
/// max_line_bytes. Errors are input_error naming `file`, the line and the column. What the fuzz
/// target (tests/fuzz/csv_reader_fuzz.cpp) drives, without files.
class csv_reader {
 public:
  explicit csv_reader(std::string file) { t_.file = std::move(file); }

  void feed(std::string_view chunk) {
    while (!chunk.empty()) {
      const std::size_t nl = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, nl);
      if (line_.size() + piece.size() > max_line_bytes)
        throw input_error(fmt::format("{}:{}:1: line is longer than {} bytes, the limit", t_.file, line_no_ + 1,
                                      max_line_bytes));
      line_.append(piece);
      if (nl == std::string_view::npos) break;
      finish_line();
      chunk.remove_prefix(nl + 1);
    }
  }

  /// The table, once everything is fed; a file without data is an error.
  table finish() {
    if (!line_.empty()) finish_line();
    if (t_.rows == 0) throw input_error(fmt::format("{}:1:1: no data", t_.file));
    return std::move(t_);
  }

 private:
  void finish_line() {
    ++line_no_;
    std::string_view text = line_;
    // Spreadsheet programs save "CSV UTF-8" with a byte order mark; it is not part of the data.
    if (line_no_ == 1 && text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
    if (trim(text).empty()) {
      if (blank_since_ == 0) blank_since_ = line_no_;
    } else {
      if (blank_since_ != 0) throw input_error(fmt::format("{}:{}:1: empty line inside the data", t_.file, blank_since_));
      parse_line(t_, text, line_no_);
    }
    line_.clear();
  }

  table t_;
  std::string line_;
  std::size_t line_no_ = 0, blank_since_ = 0;
};

/// Reads a CSV file of numbers (csv_reader). At most `max_bytes` are read (checked before
/// reading for a regular file, while reading for a pipe or device).
inline table read_csv(const std::string& file, std::uint64_t max_bytes) {
  const unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw input_error(fmt::format("{}: cannot open: {}", file, errno_text(errno)));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw input_error(fmt::format("{}: cannot read: {}", file, errno_text(errno)));
  if (S_ISDIR(st.st_mode)) throw input_error(fmt::format("{}: is a directory, not a CSV file", file));
  const auto too_large = [&] {
    return input_error(fmt::format("{}: is larger than {} bytes, the limit (raise it with --max-input-bytes)", file,
                                   max_bytes));
  };
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_bytes) throw too_large();

  csv_reader reader(file);
  std::uint64_t total = 0;
  std::vector<char> buffer(std::size_t{1} << 16);
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      throw input_error(fmt::format("{}: cannot read: {}", file, errno_text(errno)));
    }
    if (got == 0) break;
    total += static_cast<std::uint64_t>(got);
    if (total > max_bytes) throw too_large();
    reader.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
  }
  return reader.finish();
}

}  // namespace ctgrad_tool
