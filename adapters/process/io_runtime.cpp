#include "adapters/process/io_runtime.hpp"

#include <pthread.h>

#include <cstdio>
#include <exception>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>

#include "adapters/process/io_runtime_impl.hpp"

namespace motia::io {

namespace net = boost::asio;

struct io_runtime::impl {
  explicit impl(std::size_t n) : threads_wanted(n == 0 ? 1 : n), ctx(static_cast<int>(threads_wanted)) {}

  std::size_t threads_wanted;
  net::io_context ctx;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
};

namespace {

// A handler that throws must not take the io thread (and every connection on
// it) down: report and keep running.
void run_io(net::io_context& ctx) {
  pthread_setname_np(pthread_self(), "motia-io");
  for (;;) {
    try {
      ctx.run();
      return;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "motia io: handler threw: %s\n", e.what());
    } catch (...) {
      std::fprintf(stderr, "motia io: handler threw a non-std exception\n");
    }
  }
}

} // namespace

io_runtime::io_runtime(std::size_t threads) : impl_(std::make_unique<impl>(threads)) {}

io_runtime::~io_runtime() { stop(); }

void io_runtime::start() {
  if (!impl_->threads.empty())
    return;
  if (impl_->ctx.stopped())
    impl_->ctx.restart();
  impl_->work.emplace(impl_->ctx.get_executor());
  for (std::size_t i = 0; i < impl_->threads_wanted; ++i)
    impl_->threads.emplace_back([ctx = &impl_->ctx] { run_io(*ctx); });
}

void io_runtime::stop() {
  impl_->work.reset();
  impl_->ctx.stop();
  for (auto& t : impl_->threads) {
    // Joining ourselves would throw; a stop() from an io thread lets that
    // thread finish on its own once its handler returns.
    if (t.get_id() == std::this_thread::get_id())
      t.detach();
    else if (t.joinable())
      t.join();
  }
  impl_->threads.clear();
}

void* io_runtime::native() { return &impl_->ctx; }

} // namespace motia::io
