#pragma once
// ctgrad/eval/parallel.hpp: the threads a plan splits its loops over.
//
// A plan that runs on k threads owns k - 1 helper threads, started once (set_threads) and
// reused by every loop of every run: starting a thread per loop would cost more than a loop
// over a cache-sized batch. The calling thread runs part 0 itself.
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

// Loops inlined into thread_team::run: see the note on -Wpass-failed in plan.hpp.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

namespace ctgrad::detail {

/// One helper thread that runs `fn(ctx, part)` each time it is given work.
class helper_thread {
 public:
  helper_thread() : thread_([this] { loop(); }) {}
  helper_thread(const helper_thread&) = delete;
  helper_thread& operator=(const helper_thread&) = delete;
  ~helper_thread() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void start(void (*fn)(void*, std::size_t), void* ctx, std::size_t part) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      fn_ = fn;
      ctx_ = ctx;
      part_ = part;
      busy_ = true;
    }
    wake_.notify_one();
  }

  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return !busy_; });
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return busy_ || stop_; });
      if (stop_) return;
      lock.unlock();
      fn_(ctx_, part_);
      lock.lock();
      busy_ = false;
      done_.notify_one();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  void (*fn_)(void*, std::size_t) = nullptr;
  void* ctx_ = nullptr;
  std::size_t part_ = 0;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: started once the members above exist
};

/// The helper threads of a plan: `run(parts, f)` calls f(0) .. f(parts - 1), part 0 on the
/// calling thread, and returns when all are done.
class thread_team {
 public:
  explicit thread_team(std::size_t helpers) {
    for (std::size_t i = 0; i < helpers; ++i) helpers_.push_back(std::make_unique<helper_thread>());
  }
  [[nodiscard]] std::size_t size() const { return helpers_.size() + 1; }

  template <class F>
  void run(std::size_t parts, F& f) {
    const auto call = [](void* ctx, std::size_t part) { (*static_cast<F*>(ctx))(part); };
    for (std::size_t p = 1; p < parts; ++p) helpers_[p - 1]->start(call, &f, p);
    f(0);
    for (std::size_t p = 1; p < parts; ++p) helpers_[p - 1]->wait();
  }

 private:
  std::vector<std::unique_ptr<helper_thread>> helpers_;
};

}  // namespace ctgrad::detail

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
