#include "core/blocking_pool.hpp"

#include <pthread.h>

#include <exception>

#include "core/log.hpp"

namespace motia {

blocking_pool::blocking_pool(std::size_t threads, std::string name) {
  if (threads == 0) {
    inline_ = true;
    return;
  }
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this] { run(); });
    // Thread names show in top/perf (15 characters at most).
    pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
  }
}

blocking_pool::~blocking_pool() {
  {
    std::lock_guard<std::mutex> g(mtx_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void blocking_pool::post(std::function<void()> task) {
  if (inline_)
    return task();
  {
    std::lock_guard<std::mutex> g(mtx_);
    if (!stopping_ || !tasks_.empty()) {
      tasks_.push_back(std::move(task));
      cv_.notify_one();
      return;
    }
  }
  task(); // the threads are gone or going: nobody else will run it
}

std::size_t blocking_pool::backlog() const {
  std::lock_guard<std::mutex> g(mtx_);
  return tasks_.size();
}

void blocking_pool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> g(mtx_);
      cv_.wait(g, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty())
        return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      log::error("a storage task threw; it is dropped", {{"error", e.what()}});
    } catch (...) {
      log::error("a storage task threw; it is dropped", {});
    }
  }
}

} // namespace motia
