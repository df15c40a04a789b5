// The GEMMs of one train_mlp epoch alone (issue 16, point 5): the 8 cblas_sgemm calls of each
// training step of the MLP 784-256-256-10 (3 forward; dW3, dh2, dW2, dh1, dW1 backward), for the
// 469 steps of an epoch of 60,000 images in batches of 128 (the last of 96), on random data.
// Any implementation of this model on the same BLAS does at least this work, so the time is a
// floor for train_mlp's and for a framework's epoch on the same BLAS; what train_mlp spends above
// it is everything else (bias, batch norm, ReLU, softmax, SGD, copying the batch).
//
//   g++ -std=c++20 -O2 -isystem /usr/include/x86_64-linux-gnu/openblas-pthread benchmarks/train_mlp_gemm_floor.cpp \
//       -o floor -lopenblas                          (Debian 12, libopenblas-dev)
//   OPENBLAS_NUM_THREADS=1 ./floor [epochs=5]      # prints the seconds of each epoch and the median
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {
void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}
std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-0.05f, 0.05f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}
}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 5;
  constexpr int B = 128, I = 784, H = 256, O = 10, N = 60000;
  const auto X = random_floats(std::size_t(B) * I, 1), W1 = random_floats(std::size_t(I) * H, 2), W2 = random_floats(std::size_t(H) * H, 3),
             W3 = random_floats(std::size_t(H) * O, 4), D3 = random_floats(std::size_t(B) * O, 5), D2 = random_floats(std::size_t(B) * H, 6),
             D1 = random_floats(std::size_t(B) * H, 7);
  std::vector<float> Z1(B * H), Z2(B * H), Z3(B * O), dW1(I * H), dW2(H * H), dW3(H * O), dH2(B * H), dH1(B * H);
  std::vector<double> seconds;
  for (int e = 0; e < epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int start = 0; start < N; start += B) {
      const int m = std::min(B, N - start);
      gemm(false, false, m, H, I, X.data(), I, W1.data(), H, Z1.data(), H);
      gemm(false, false, m, H, H, Z1.data(), H, W2.data(), H, Z2.data(), H);
      gemm(false, false, m, O, H, Z2.data(), H, W3.data(), O, Z3.data(), O);
      gemm(true, false, H, O, m, Z2.data(), H, D3.data(), O, dW3.data(), O);
      gemm(false, true, m, H, O, D3.data(), O, W3.data(), O, dH2.data(), H);
      gemm(true, false, H, H, m, Z1.data(), H, D2.data(), H, dW2.data(), H);
      gemm(false, true, m, H, H, D2.data(), H, W2.data(), H, dH1.data(), H);
      gemm(true, false, I, H, m, X.data(), I, D1.data(), H, dW1.data(), H);
    }
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    std::printf("epoch %d: %.3f s\n", e + 1, seconds.back());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("median of %d epochs: %.3f s (GEMMs only, %d steps)\n", epochs, seconds[seconds.size() / 2], (N + B - 1) / B);
}
