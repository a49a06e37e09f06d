#pragma once

// Spawning a worker process and talking frames to it over a socketpair: the
// data path of invocations. Includes neither Asio nor CAF.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "motia/errc.hpp"
#include "motia/payload.hpp"

namespace motia::io {
class io_runtime;
}

namespace motia::process {

struct spawn_options {
  std::vector<std::string> argv; ///< argv[0] is looked up in PATH
  std::string cwd;
  std::map<std::string, std::string> env; ///< added to the parent's environment
  std::size_t max_frame = 16 * 1024 * 1024;
  /// Bounded outgoing queue (bytes). Past it, send() returns false.
  std::size_t max_write_queue = 64 * 1024 * 1024;
  /// Invocations written to the worker at once, at most; more wait in the
  /// connection (in order) for a result to free a slot. 0: no window.
  std::size_t window = 0;
};

/// How an invocation ended.
struct invocation_outcome {
  /// errc::none: the worker answered, `ok` and `value` say how. Otherwise the
  /// runtime gave up on it (worker_died, handler_timeout) and `message` says why.
  errc code = errc::none;
  bool ok = false;
  /// ok: the handler's value; not ok: the worker's error map {message, stack?, name?, code?}.
  payload value;
  std::string message;
  /// A handler call of this invocation was refused with errc::overloaded.
  bool overloaded = false;
};

/// Where the outcome of an invocation goes. Implemented by the runtime.
///
/// Thread-safety: on_result runs on an io thread (or on the thread that
/// failed the connection) and must not block.
class result_sink {
public:
  virtual ~result_sink() = default;
  /// Exactly once per invocation that invoke() accepted.
  virtual void on_result(std::uint64_t token, invocation_outcome&& out) = 0;
};

/// What the connection keeps about one invocation in flight.
struct pending_invocation {
  std::shared_ptr<result_sink> sink;
  std::uint64_t token = 0; ///< handed back to the sink
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// What handler calls of this invocation need to know (the runtime's;
  /// `owner` keeps `context` alive while the invocation runs).
  std::shared_ptr<const void> owner;
  const void* context = nullptr;
  std::string trace_id;
  /// The invocation's input, kept (shared, not copied) so that the inputs in
  /// flight when a worker dies can be reported (quarantine).
  payload input;
  std::string step;
};

/// The context of an invocation still in flight (handler calls).
struct invocation_view {
  std::shared_ptr<const void> owner;
  const void* context = nullptr;
  std::string trace_id;
};

/// An invocation that was in flight when the connection ended.
struct lost_invocation {
  std::string step;
  payload input;
};

/// Callbacks run on an io thread, never concurrently for one connection.
struct connection_callbacks {
  /// One complete frame other than a `result` (those go to their sinks):
  /// the msgpack payload, without the length prefix, not yet validated.
  std::function<void(payload&& frame)> on_frame;
  /// The connection ended: EOF, I/O error, or a protocol error (bad length,
  /// frame over max_frame, a result frame without an id). Called exactly
  /// once, after every pending invocation was failed with worker_died;
  /// `lost` lists them. `reason` is readable.
  std::function<void(const std::string& reason, std::vector<lost_invocation>&& lost)> on_close;
  /// The child process exited (after on_close or before). `status` as from waitpid.
  std::function<void(int exit_code, int signal)> on_exit;
};

/// A spawned child with a connected socketpair on its fd 3
/// (environment MOTIA_WORKER_FD=3). Frames are a 4-byte big-endian length then
/// the payload (docs/protocol.md).
///
/// Thread-safety: every member may be called from any thread. Writes go out
/// directly on the calling thread when nothing is queued (no hand-off to an io
/// thread), else in order after what is queued.
class worker_process {
public:
  virtual ~worker_process() = default;
  /// Queues one frame payload (the length prefix is added here). False if
  /// closed or the write queue is full.
  virtual bool send(std::string payload) = 0;
  /// Queues one complete frame (length prefix included, as built by a frame
  /// writer). False if closed or the write queue is full.
  virtual bool send_framed(std::string frame) = 0;

  /// A fresh invocation id for this connection (unique, never 0).
  virtual std::uint64_t next_id() = 0;
  /// Sends the `invoke` frame `frame` (whose `id` is `id`) and remembers `p`
  /// until its result, its deadline or the end of the connection, whichever
  /// comes first, then tells `p.sink`. False (and `p.sink` is not called)
  /// when the connection is closed or its queue is full.
  virtual bool invoke(std::uint64_t id, std::string frame, pending_invocation p) = 0;
  /// The context of invocation `id`, or nothing when it is not in flight.
  virtual bool find(std::uint64_t id, invocation_view& out) = 0;
  /// Marks invocation `id` as having had a call refused for overload.
  virtual void mark_overloaded(std::uint64_t id) = 0;
  /// Invocations in flight.
  virtual std::size_t in_flight() = 0;

  /// Sends the signal (SIGTERM, SIGKILL) to the child.
  virtual void kill(int sig) = 0;
  /// Closes the connection (the child sees EOF); in-flight invocations fail.
  virtual void close() = 0;
  virtual int pid() const = 0;
};

/// Spawns the child and starts reading. Returns nullptr and fills `err` on failure.
std::shared_ptr<worker_process> spawn(io::io_runtime& io, const spawn_options& opts,
                                      connection_callbacks cbs, std::string& err);

} // namespace motia::process
