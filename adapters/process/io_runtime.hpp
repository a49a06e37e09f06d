#pragma once

#include <cstddef>
#include <memory>

namespace motia::io {

/// The io threads (one Asio io_context) shared by the HTTP server and the
/// worker connections. Opaque here so that including this header costs nothing.
///
/// Thread-safety: construct, start and stop from one thread.
class io_runtime {
public:
  explicit io_runtime(std::size_t threads = 1);
  ~io_runtime(); ///< stops and joins
  io_runtime(const io_runtime&) = delete;
  io_runtime& operator=(const io_runtime&) = delete;

  void start();
  /// Stops the io_context and joins the threads. Idempotent.
  void stop();

  /// The boost::asio::io_context, as void* to keep Asio out of this header.
  /// Adapters cast it back (see io_context_of in io_runtime_impl.hpp).
  void* native();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace motia::io
