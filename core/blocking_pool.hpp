#pragma once

// The threads on which blocking storage work runs (RocksDB writes, scans,
// state calls of workers), so that it never occupies the actor scheduler's
// threads or the io threads.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace motia {

/// A fixed set of threads running posted tasks in FIFO order. With zero
/// threads every task runs at once on the thread that posts it (for
/// deterministic tests).
///
/// Thread-safety: post() from any thread, including from a task. The
/// destructor runs every task posted before it, then joins the threads; a
/// post() after the destructor started runs the task on the calling thread.
class blocking_pool {
public:
  explicit blocking_pool(std::size_t threads, std::string name = "motia-store");
  ~blocking_pool();
  blocking_pool(const blocking_pool&) = delete;
  blocking_pool& operator=(const blocking_pool&) = delete;

  /// Runs `task` on one of the pool's threads. A task must not throw (an
  /// exception is logged and dropped).
  void post(std::function<void()> task);

  /// Tasks posted and not yet started (for metrics).
  std::size_t backlog() const;

private:
  void run();
  bool inline_ = false;

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

} // namespace motia
