// train_mlp: an MLP 784-256-256-10 (linear, optional batch norm, ReLU, twice; linear; softmax
// cross-entropy) trained on Fashion-MNIST with SGD with momentum 0.9, mini-batches of 128,
// shuffled each epoch. The model is examples/mlp_model.hpp; everything is computed by ctgrad
// plans: the forward pass, every parameter's gradient (derived by ctgrad::grad, none written by
// hand), the running estimates of batch norm, and the SGD update (an expression per rank).
//
//   train_mlp [--epochs 10] [--bn on|off] [--lr 0.01] [--seed 1] [--momentum-convention reference|pytorch]
//             [--data /usr/share/datasets/fashion-mnist] [--threads 1] [--train-subset N] [--csv FILE]
//
// Prints a line per epoch (epoch, mean training loss, test accuracy, seconds) and, with --csv, writes
// the same as rows `epoch,train_loss,test_accuracy,train_seconds,eval_seconds`. The test accuracy is
// measured with batch norm in inference mode (the running estimates), on the 10,000 test images.
// Inputs are standardized with the mean and standard deviation of the training images used.
//
// Allocation: the plans are compiled once and reused every step. The program counts calls of the
// global operator new (replaced below) during every training step after the first and every
// evaluation after the first, prints the counts, and fails (exit 1) when one is not 0.
//
// Exit status: 0 done, 1 an allocation during a reused step, 2 bad usage or missing/corrupt data.
// Data: Debian's package dataset-fashion-mnist (gzip-compressed IDX files).
#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <zlib.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <ctgrad.hpp>

#include "mlp_model.hpp"

// -- counting global operator new ---------------------------------------------------------------
// The replaceable allocation functions: the array and nothrow forms of the standard library call
// these two, so every operator new of the program is counted here. Not inlined: GCC would otherwise
// pair the malloc inside one with an inlined delete and warn (-Wmismatched-new-delete).
namespace {
std::atomic<std::size_t> g_allocations{0};
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t al) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  const auto a = static_cast<std::size_t>(al);
  if (void* p = std::aligned_alloc(a, (std::max<std::size_t>(n, 1) + a - 1) / a * a)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

/// Missing or corrupt data, or bad usage: printed as is, exit status 2.
struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// -- Fashion-MNIST: gzip-compressed IDX files ----------------------------------------------------

constexpr std::size_t n_pixels = 28 * 28, n_classes = 10;

[[noreturn]] void data_failure(const std::string& file, const std::string& what) {
  throw usage_error(fmt::format(
      "train_mlp: {}: {}\nThe Fashion-MNIST files come from the Debian package dataset-fashion-mnist "
      "(apt-get install dataset-fashion-mnist, files in /usr/share/datasets/fashion-mnist/); "
      "or point --data at a directory holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
      "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz.",
      file, what));
}

/// A gzip file read through zlib; closes itself.
class gz_file {
 public:
  explicit gz_file(std::string path) : path_(std::move(path)) {
    errno = 0;
    f_ = gzopen(path_.c_str(), "rb");
    if (f_ == nullptr)
      data_failure(path_, errno != 0 ? std::string("cannot open: ") + std::strerror(errno) : "cannot open (zlib)");
  }
  gz_file(const gz_file&) = delete;
  gz_file& operator=(const gz_file&) = delete;
  ~gz_file() { gzclose(f_); }

  /// Reads exactly n bytes, or fails naming the file and what was being read.
  void read(void* into, std::size_t n, const char* what) {
    auto* out = static_cast<unsigned char*>(into);
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n, 1u << 30));
      const int got = gzread(f_, out, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(f_, &code);
        data_failure(path_, fmt::format("corrupt gzip data while reading {}: {}", what, msg));
      }
      if (got == 0) data_failure(path_, fmt::format("the file ends early, while reading {}", what));
      out += got;
      n -= static_cast<std::size_t>(got);
    }
  }
  std::uint32_t read_u32(const char* what) {
    unsigned char b[4];
    read(b, 4, what);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
  }
  /// Fails when bytes remain after the data the header announced.
  void expect_end() {
    unsigned char b;
    const int got = gzread(f_, &b, 1);
    if (got < 0) data_failure(path_, "corrupt gzip data after the last item");
    if (got > 0) data_failure(path_, "the file has more bytes than its header announces");
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

struct dataset {
  std::size_t count = 0;
  std::vector<std::uint8_t> pixels;  // count x 784
  std::vector<std::uint8_t> labels;  // count
};

/// Reads one images/labels pair, checking magic numbers (0x803 and 0x801), 28 x 28 images, equal
/// counts, labels 0..9 and the exact file lengths.
dataset read_pair(const std::string& dir, const std::string& prefix) {
  dataset d;
  gz_file images(dir + "/" + prefix + "-images-idx3-ubyte.gz");
  if (const auto magic = images.read_u32("the magic number"); magic != 0x00000803)
    data_failure(images.path(), fmt::format("magic number is 0x{:08x}, not 0x00000803 (IDX unsigned bytes, 3 dimensions)", magic));
  d.count = images.read_u32("the image count");
  const auto rows = images.read_u32("the row count"), cols = images.read_u32("the column count");
  if (rows != 28 || cols != 28) data_failure(images.path(), fmt::format("images are {} x {}, not 28 x 28", rows, cols));
  if (d.count == 0 || d.count > 1000000) data_failure(images.path(), fmt::format("implausible image count {}", d.count));
  d.pixels.resize(d.count * n_pixels);
  images.read(d.pixels.data(), d.pixels.size(), "the pixels");
  images.expect_end();

  gz_file labels(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
  if (const auto magic = labels.read_u32("the magic number"); magic != 0x00000801)
    data_failure(labels.path(), fmt::format("magic number is 0x{:08x}, not 0x00000801 (IDX unsigned bytes, 1 dimension)", magic));
  if (const auto n = labels.read_u32("the label count"); n != d.count)
    data_failure(labels.path(), fmt::format("{} labels, but {} has {} images", n, images.path(), d.count));
  d.labels.resize(d.count);
  labels.read(d.labels.data(), d.labels.size(), "the labels");
  labels.expect_end();
  for (std::size_t i = 0; i < d.count; ++i)
    if (d.labels[i] >= n_classes) data_failure(labels.path(), fmt::format("label {} of item {} is not a class 0..9", int(d.labels[i]), i));
  return d;
}

// -- parameters and their optimizer state ---------------------------------------------------------

/// A parameter of rank R with its SGD velocity, each in two buffers used in turn (a plan's outputs
/// must not overlap its inputs), and its gradient.
template <std::size_t R>
struct parameter {
  std::array<std::size_t, R> extents;
  std::vector<float> value[2], velocity[2], gradient;
  int current = 0;

  parameter(std::array<std::size_t, R> e, float fill) : extents(e) {
    const std::size_t n = size();
    for (auto* v : {&value[0], &value[1]}) v->assign(n, fill);
    for (auto* v : {&velocity[0], &velocity[1]}) v->assign(n, 0.0f);
    gradient.assign(n, 0.0f);
  }
  /// PyTorch's nn.Linear initialization: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  parameter(std::array<std::size_t, R> e, std::size_t fan_in, std::mt19937& rng) : parameter(e, 0.0f) {
    const float bound = 1.0f / std::sqrt(float(fan_in));
    std::uniform_real_distribution<float> d(-bound, bound);
    for (auto& v : value[0]) v = d(rng);
  }
  std::size_t size() const {
    std::size_t n = 1;
    for (auto x : extents) n *= x;
    return n;
  }
  ctgrad::view<const float, R> now() const { return {value[current].data(), extents}; }
  ctgrad::view<const float, R> velocity_now() const { return {velocity[current].data(), extents}; }
  ctgrad::view<float, R> next() { return {value[current ^ 1].data(), extents}; }
  ctgrad::view<float, R> velocity_next() { return {velocity[current ^ 1].data(), extents}; }
  ctgrad::view<const float, R> gradient_now() const { return {gradient.data(), extents}; }
  ctgrad::view<float, R> gradient_out() { return {gradient.data(), extents}; }
};

/// A running estimate (one value per feature) in two buffers used in turn.
struct estimate {
  std::vector<float> buffer[2];
  int current = 0;
  estimate(std::size_t n, float fill) {
    buffer[0].assign(n, fill);
    buffer[1].assign(n, fill);
  }
  ctgrad::view<const float, 1> now() const { return {buffer[current].data(), {buffer[current].size()}}; }
  ctgrad::view<float, 1> next() { return {buffer[current ^ 1].data(), {buffer[current].size()}}; }
  void flip() { current ^= 1; }
};

constexpr std::size_t n_hidden = 256;

struct network {
  parameter<2> W1, W2, W3;
  parameter<1> b1, b2, b3, gamma1, beta1, gamma2, beta2;
  estimate running_mean1{n_hidden, 0.0f}, running_var1{n_hidden, 1.0f}, running_mean2{n_hidden, 0.0f}, running_var2{n_hidden, 1.0f};
  explicit network(std::mt19937& rng)
      : W1({n_pixels, n_hidden}, n_pixels, rng), W2({n_hidden, n_hidden}, n_hidden, rng), W3({n_hidden, n_classes}, n_hidden, rng),
        b1({n_hidden}, n_pixels, rng), b2({n_hidden}, n_hidden, rng), b3({n_classes}, n_hidden, rng), gamma1({n_hidden}, 1.0f),
        beta1({n_hidden}, 0.0f), gamma2({n_hidden}, 1.0f), beta2({n_hidden}, 0.0f) {}
};

// -- the plans --------------------------------------------------------------------------------------

namespace m = mlp_model;

template <bool BatchNorm, class Convention>
auto compile_training_plan(Convention convention) {
  if constexpr (BatchNorm) {
    const auto g = ctgrad::grad(m::bn::loss, m::bn::parameters());
    const auto r = m::bn::running_updates(convention);
    return ctgrad::compile<float>(ctgrad::exprs(
        m::bn::loss, ctgrad::get<0>(g), ctgrad::get<1>(g), ctgrad::get<2>(g), ctgrad::get<3>(g), ctgrad::get<4>(g), ctgrad::get<5>(g),
        ctgrad::get<6>(g), ctgrad::get<7>(g), ctgrad::get<8>(g), ctgrad::get<9>(g), ctgrad::get<0>(r), ctgrad::get<1>(r),
        ctgrad::get<2>(r), ctgrad::get<3>(r)));
  } else {
    const auto g = ctgrad::grad(m::plain::loss, m::plain::parameters());
    return ctgrad::compile<float>(ctgrad::exprs(m::plain::loss, ctgrad::get<0>(g), ctgrad::get<1>(g), ctgrad::get<2>(g),
                                                ctgrad::get<3>(g), ctgrad::get<4>(g), ctgrad::get<5>(g)));
  }
}

template <bool BatchNorm>
auto compile_inference_plan() {
  if constexpr (BatchNorm)
    return ctgrad::compile<float>(ctgrad::exprs(m::bn::logits_inference));
  else
    return ctgrad::compile<float>(ctgrad::exprs(m::plain::logits));
}

/// One SGD-with-momentum step of parameter p through the rank's plan; flips p's buffers.
template <std::size_t R, class Plan>
void sgd_step(Plan& plan, parameter<R>& p, float lr, float mu) {
  using s = m::sgd<R>;
  plan.run(std::tuple{p.next(), p.velocity_next()}, ctgrad::bind(s::param, p.now()), ctgrad::bind(s::velocity, p.velocity_now()),
           ctgrad::bind(s::gradient, p.gradient_now()), ctgrad::bind(m::learning_rate, lr), ctgrad::bind(m::momentum, mu));
  p.current ^= 1;
}

struct options {
  int epochs = 10;
  std::string bn = "off";
  double lr = 0.01;
  unsigned seed = 1;
  std::string convention = "reference";
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::size_t threads = 1;
  std::size_t train_subset = 0;
  std::string csv;
};

/// Pixels as standardized floats: (p / 255 - mean) / std.
std::vector<float> standardize(const std::vector<std::uint8_t>& pixels, std::size_t count, double mean, double stddev) {
  std::vector<float> out(count * n_pixels);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = float((double(pixels[i]) / 255.0 - mean) / stddev);
  return out;
}

template <bool BatchNorm, class Convention>
int train(const options& opt, Convention convention) {
  const dataset train_set = read_pair(opt.data, "train"), test_set = read_pair(opt.data, "t10k");
  const std::size_t n_train = opt.train_subset == 0 ? train_set.count : std::min(opt.train_subset, train_set.count);
  if (opt.train_subset > train_set.count)
    throw usage_error(fmt::format("train_mlp: --train-subset {} exceeds the {} training images", opt.train_subset, train_set.count));

  double sum = 0, sum_sq = 0;
  for (std::size_t i = 0; i < n_train * n_pixels; ++i) sum += double(train_set.pixels[i]) / 255.0;
  const double mean = sum / double(n_train * n_pixels);
  for (std::size_t i = 0; i < n_train * n_pixels; ++i) {
    const double d = double(train_set.pixels[i]) / 255.0 - mean;
    sum_sq += d * d;
  }
  const double stddev = std::sqrt(sum_sq / double(n_train * n_pixels));
  const std::vector<float> train_x = standardize(train_set.pixels, n_train, mean, stddev);
  const std::vector<float> test_x = standardize(test_set.pixels, test_set.count, mean, stddev);

  std::mt19937 rng(opt.seed);
  network net(rng);
  auto plan = compile_training_plan<BatchNorm>(convention);
  auto inference = compile_inference_plan<BatchNorm>();
  plan.set_threads(opt.threads);
  inference.set_threads(opt.threads);
  auto sgd1 = ctgrad::compile<float>(ctgrad::exprs(m::sgd<1>::param_next, m::sgd<1>::velocity_next));
  auto sgd2 = ctgrad::compile<float>(ctgrad::exprs(m::sgd<2>::param_next, m::sgd<2>::velocity_next));
  const float lr = float(opt.lr), mu = 0.9f;

  constexpr std::size_t batch = 128, eval_batch = 1000;
  std::vector<float> xb(batch * n_pixels), tb(batch * n_classes), logits(eval_batch * n_classes);
  std::vector<std::size_t> order(n_train);
  std::iota(order.begin(), order.end(), std::size_t{0});
  float loss = 0;

  std::FILE* csv = nullptr;
  if (!opt.csv.empty()) {
    csv = std::fopen(opt.csv.c_str(), "w");
    if (csv == nullptr) throw usage_error(fmt::format("train_mlp: cannot write {}: {}", opt.csv, std::strerror(errno)));
    std::fputs("epoch,train_loss,test_accuracy,train_seconds,eval_seconds\n", csv);
  }
  fmt::print("train_mlp: {} training images (mean {:.4f}, std {:.4f}), {} test images; batch norm {}{}; SGD lr {} momentum 0.9, "
             "batch {}, seed {}, {} thread(s)\n",
             n_train, mean, stddev, test_set.count, BatchNorm ? "on" : "off",
             BatchNorm ? fmt::format(" ({}: {})", opt.convention, Convention::describe()) : std::string(), opt.lr, batch, opt.seed,
             opt.threads);

  std::size_t steps = 0, step_allocations = 0, first_step_allocations = 0, evals = 0, eval_allocations = 0, gemm_calls = 0;
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    std::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    for (std::size_t start = 0; start < n_train; start += batch) {
      const std::size_t allocations_before = g_allocations.load(std::memory_order_relaxed);
      const std::size_t mb = std::min(batch, n_train - start);
      std::fill(tb.begin(), tb.begin() + std::ptrdiff_t(mb * n_classes), 0.0f);
      for (std::size_t r = 0; r < mb; ++r) {
        const std::size_t i = order[start + r];
        std::copy_n(&train_x[i * n_pixels], n_pixels, &xb[r * n_pixels]);
        tb[r * n_classes + train_set.labels[i]] = 1.0f;
      }
      const ctgrad::view<const float, 2> xv(xb.data(), {mb, n_pixels}), tv(tb.data(), {mb, n_classes});
      network& p = net;
      if constexpr (BatchNorm) {
        plan.run(std::tuple{ctgrad::view<float, 0>(&loss, {}), p.W1.gradient_out(), p.b1.gradient_out(), p.gamma1.gradient_out(),
                            p.beta1.gradient_out(), p.W2.gradient_out(), p.b2.gradient_out(), p.gamma2.gradient_out(),
                            p.beta2.gradient_out(), p.W3.gradient_out(), p.b3.gradient_out(), p.running_mean1.next(),
                            p.running_var1.next(), p.running_mean2.next(), p.running_var2.next()},
                 ctgrad::bind(m::x, xv), ctgrad::bind(m::targets, tv), ctgrad::bind(m::W1, p.W1.now()), ctgrad::bind(m::b1, p.b1.now()),
                 ctgrad::bind(m::gamma1, p.gamma1.now()), ctgrad::bind(m::beta1, p.beta1.now()), ctgrad::bind(m::W2, p.W2.now()),
                 ctgrad::bind(m::b2, p.b2.now()), ctgrad::bind(m::gamma2, p.gamma2.now()), ctgrad::bind(m::beta2, p.beta2.now()),
                 ctgrad::bind(m::W3, p.W3.now()), ctgrad::bind(m::b3, p.b3.now()),
                 ctgrad::bind(m::running_mean1, p.running_mean1.now()), ctgrad::bind(m::running_var1, p.running_var1.now()),
                 ctgrad::bind(m::running_mean2, p.running_mean2.now()), ctgrad::bind(m::running_var2, p.running_var2.now()));
        p.running_mean1.flip();
        p.running_var1.flip();
        p.running_mean2.flip();
        p.running_var2.flip();
        sgd_step(sgd1, p.gamma1, lr, mu);
        sgd_step(sgd1, p.beta1, lr, mu);
        sgd_step(sgd1, p.gamma2, lr, mu);
        sgd_step(sgd1, p.beta2, lr, mu);
      } else {
        plan.run(std::tuple{ctgrad::view<float, 0>(&loss, {}), p.W1.gradient_out(), p.b1.gradient_out(), p.W2.gradient_out(),
                            p.b2.gradient_out(), p.W3.gradient_out(), p.b3.gradient_out()},
                 ctgrad::bind(m::x, xv), ctgrad::bind(m::targets, tv), ctgrad::bind(m::W1, p.W1.now()), ctgrad::bind(m::b1, p.b1.now()),
                 ctgrad::bind(m::W2, p.W2.now()), ctgrad::bind(m::b2, p.b2.now()), ctgrad::bind(m::W3, p.W3.now()),
                 ctgrad::bind(m::b3, p.b3.now()));
      }
      sgd_step(sgd2, p.W1, lr, mu);
      sgd_step(sgd1, p.b1, lr, mu);
      sgd_step(sgd2, p.W2, lr, mu);
      sgd_step(sgd1, p.b2, lr, mu);
      sgd_step(sgd2, p.W3, lr, mu);
      sgd_step(sgd1, p.b3, lr, mu);
      const std::size_t allocated = g_allocations.load(std::memory_order_relaxed) - allocations_before;
      if (steps == 0) {
        first_step_allocations = allocated;  // the plans' buffers: shows that the counter counts
        gemm_calls = plan.gemm_calls();
      } else {
        step_allocations += allocated;
      }
      ++steps;
      loss_sum += double(loss) * double(mb);
    }
    const auto t1 = std::chrono::steady_clock::now();

    std::size_t correct = 0;
    for (std::size_t start = 0; start < test_set.count; start += eval_batch) {
      const std::size_t allocations_before = g_allocations.load(std::memory_order_relaxed);
      const std::size_t mb = std::min(eval_batch, test_set.count - start);
      const ctgrad::view<const float, 2> xv(&test_x[start * n_pixels], {mb, n_pixels});
      const network& p = net;
      if constexpr (BatchNorm)
        inference.run(std::tuple{ctgrad::view<float, 2>(logits.data(), {mb, n_classes})}, ctgrad::bind(m::x, xv),
                      ctgrad::bind(m::W1, p.W1.now()), ctgrad::bind(m::b1, p.b1.now()), ctgrad::bind(m::gamma1, p.gamma1.now()),
                      ctgrad::bind(m::beta1, p.beta1.now()), ctgrad::bind(m::W2, p.W2.now()), ctgrad::bind(m::b2, p.b2.now()),
                      ctgrad::bind(m::gamma2, p.gamma2.now()), ctgrad::bind(m::beta2, p.beta2.now()), ctgrad::bind(m::W3, p.W3.now()),
                      ctgrad::bind(m::b3, p.b3.now()), ctgrad::bind(m::running_mean1, p.running_mean1.now()),
                      ctgrad::bind(m::running_var1, p.running_var1.now()), ctgrad::bind(m::running_mean2, p.running_mean2.now()),
                      ctgrad::bind(m::running_var2, p.running_var2.now()));
      else
        inference.run(std::tuple{ctgrad::view<float, 2>(logits.data(), {mb, n_classes})}, ctgrad::bind(m::x, xv),
                      ctgrad::bind(m::W1, p.W1.now()), ctgrad::bind(m::b1, p.b1.now()), ctgrad::bind(m::W2, p.W2.now()),
                      ctgrad::bind(m::b2, p.b2.now()), ctgrad::bind(m::W3, p.W3.now()), ctgrad::bind(m::b3, p.b3.now()));
      if (evals > 0) eval_allocations += g_allocations.load(std::memory_order_relaxed) - allocations_before;
      ++evals;
      for (std::size_t r = 0; r < mb; ++r) {
        const float* row = &logits[r * n_classes];
        const auto best = std::size_t(std::max_element(row, row + n_classes) - row);
        correct += best == test_set.labels[start + r] ? 1 : 0;
      }
    }
    const auto t2 = std::chrono::steady_clock::now();
    const double train_s = std::chrono::duration<double>(t1 - t0).count(), eval_s = std::chrono::duration<double>(t2 - t1).count();
    const double accuracy = double(correct) / double(test_set.count), train_loss = loss_sum / double(n_train);
    fmt::print("epoch {:>3}  train loss {:.4f}  test accuracy {:6.2f}%  {:.2f} s (+ {:.2f} s test)\n", epoch, train_loss,
               100.0 * accuracy, train_s, eval_s);
    std::fflush(stdout);
    if (csv != nullptr) fmt::print(csv, "{},{:.6f},{:.4f},{:.3f},{:.3f}\n", epoch, train_loss, accuracy, train_s, eval_s);
  }
  if (csv != nullptr && std::fclose(csv) != 0) throw usage_error(fmt::format("train_mlp: cannot write {}", opt.csv));

  fmt::print("{} training steps, {} GEMM calls per step; operator new calls during step 1: {}, during steps 2..{}: {}, "
             "during test evaluations 2..{}: {}\n",
             steps, gemm_calls, first_step_allocations, steps, step_allocations, evals, eval_allocations);
  if (step_allocations != 0 || eval_allocations != 0) {
    fmt::print(stderr, "train_mlp: a reused plan allocated memory after its first run\n");
    return 1;
  }
  return 0;
}

int run(int argc, char** argv) {
  options opt;
  CLI::App app{"Trains an MLP 784-256-256-10 on Fashion-MNIST with ctgrad (SGD with momentum 0.9, batches of 128).", "train_mlp"};
  app.add_option("--epochs", opt.epochs, "number of epochs (default 10)")->check(CLI::Range(1, 100000));
  app.add_option("--bn", opt.bn, "batch norm after each hidden linear layer: on or off (default off)")->check(CLI::IsMember({"on", "off"}));
  app.add_option("--lr", opt.lr, "learning rate, a positive number (default 0.01)");
  app.add_option("--seed", opt.seed, "seed of the initialization and the shuffling (default 1)");
  app.add_option("--momentum-convention", opt.convention,
                 "batch norm running estimates: reference (running = 0.9 running + 0.1 batch, biased variance; default) or "
                 "pytorch (p = 0.1, unbiased variance)")
      ->check(CLI::IsMember({"reference", "pytorch"}));
  app.add_option("--data", opt.data, "directory of the gzip IDX files (default /usr/share/datasets/fashion-mnist)");
  app.add_option("--threads", opt.threads, "threads of ctgrad's loops (plan.set_threads; default 1)")->check(CLI::Range(1, 64));
  app.add_option("--train-subset", opt.train_subset, "train on the first N training images only (default: all)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  app.add_option("--csv", opt.csv, "write a row per epoch to FILE");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return 0;
  } catch (const CLI::ParseError& e) {
    throw usage_error(fmt::format("train_mlp: {}\nrun with --help for usage", e.what()));
  }
  if (!(opt.lr > 0 && std::isfinite(opt.lr)))
    throw usage_error(fmt::format("train_mlp: --lr must be a positive finite number, not {}\nrun with --help for usage", opt.lr));
  if (opt.bn == "off") return train<false>(opt, ctgrad::nn::reference_momentum<>{});
  if (opt.convention == "pytorch") return train<true>(opt, ctgrad::nn::pytorch_momentum<>{});
  return train<true>(opt, ctgrad::nn::reference_momentum<>{});
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const usage_error& e) {
    fmt::print(stderr, "{}\n", e.what());
    return 2;
  } catch (const std::exception& e) {  // e.g. nn::batch_size_error: a last batch of one image with --momentum-convention pytorch
    fmt::print(stderr, "train_mlp: {}\n", e.what());
    return 2;
  }
}
