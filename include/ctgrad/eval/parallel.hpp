#pragma once
// ctgrad/eval/parallel.hpp: the threads a plan splits its loops over.
//
// A plan that runs on k threads owns k - 1 helper threads, started once (set_threads) and
// reused by every loop of every run: starting a thread per loop would cost more than a loop
// over a cache-sized batch. The calling thread runs part 0 itself.
//
// An exception thrown by a part (an op's apply, on any thread) is caught on the thread that
// threw it; `thread_team::run` waits for every part it started before it rethrows the first
// one, so no helper still writes into the plan's buffers or the caller's outputs once the
// exception reaches the caller, and the team is ready for the next run.
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
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

  /// Waits until the part given to start() is done; returns what it threw (null if nothing).
  std::exception_ptr wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return !busy_; });
    return std::exchange(error_, nullptr);
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return busy_ || stop_; });
      if (stop_) return;
      lock.unlock();
      std::exception_ptr error;
      try {
        fn_(ctx_, part_);
      } catch (...) {  // an exception leaving a thread's function would call std::terminate
        error = std::current_exception();
      }
      lock.lock();
      error_ = error;
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
  std::exception_ptr error_;
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

  /// Returns, or rethrows the first exception a part threw (the caller's own first), only
  /// once every part that was started has finished.
  template <class F>
  void run(std::size_t parts, F& f) {
    const auto call = [](void* ctx, std::size_t part) { (*static_cast<F*>(ctx))(part); };
    std::size_t started = 1;
    std::exception_ptr error;
    try {
      for (; started < parts; ++started) helpers_[started - 1]->start(call, &f, started);
      f(0);
    } catch (...) {
      error = std::current_exception();
    }
    for (std::size_t p = 1; p < started; ++p) {
      std::exception_ptr e = helpers_[p - 1]->wait();
      if (e && !error) error = e;
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  std::vector<std::unique_ptr<helper_thread>> helpers_;
};

}  // namespace ctgrad::detail

#if defined(__clang__)
#pragma clang diagnostic pop
#endif
