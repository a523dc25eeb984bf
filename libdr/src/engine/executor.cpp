// A fixed pool of worker threads for the action calls that block on I/O.
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "dr/engine.h"

namespace dr {
namespace {

class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(int n) {
    for (int i = 0; i < std::max(1, n); ++i) threads_.emplace_back([this] { work(); });
  }
  ~ThreadPool() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void post(std::function<void()> task) override {
    {
      std::lock_guard lock(mu_);
      tasks_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping, and nothing left to run
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

}  // namespace

std::unique_ptr<Executor> make_thread_pool(int threads) { return std::make_unique<ThreadPool>(threads); }

}  // namespace dr
