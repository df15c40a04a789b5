// libFuzzer target for the CSV reader of ctgrad-batch-norm-check (examples/csv_reader.hpp, the
// code the tool runs). The first byte picks the size of the chunks the rest is fed in (1..256),
// so that lines, CRLFs and byte order marks split across reads are tried too. Any input must
// either give a table of rows x cols finite numbers or throw input_error naming the file; a
// crash, a sanitizer report or another exception is a finding.
//
//   clang++-14 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iexamples \
//       tests/fuzz/csv_reader_fuzz.cpp -lfmt -o csv_reader_fuzz
//   ./csv_reader_fuzz -max_total_time=60 tests/fuzz/corpus      (.ci/run does this)
//
// Built with CTGRAD_FUZZ_REPLAY defined (and no -fsanitize=fuzzer) it is a plain program that
// runs the files named on its command line once each: the ctest fuzz_csv_corpus_replay.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "csv_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = std::size_t{1} + data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  ctgrad_tool::csv_reader reader("fuzz.csv");
  try {
    while (!text.empty()) {
      const std::size_t k = std::min(chunk, text.size());
      reader.feed(text.substr(0, k));
      text.remove_prefix(k);
    }
    const ctgrad_tool::table t = reader.finish();
    if (t.rows == 0 || t.cols == 0 || t.values.size() != t.rows * t.cols) __builtin_trap();
    for (const double v : t.values)
      if (!std::isfinite(v)) __builtin_trap();
  } catch (const ctgrad_tool::input_error& e) {
    if (!std::string_view(e.what()).starts_with("fuzz.csv:")) __builtin_trap();
  }
  return 0;
}

#ifdef CTGRAD_FUZZ_REPLAY
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 1;
    }
    const std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replayed %d inputs\n", argc - 1);
  return 0;
}
#endif
