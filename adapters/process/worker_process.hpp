#pragma once

// Spawning a worker process and talking frames to it over a socketpair.
// Includes neither Asio nor CAF.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
};

/// Callbacks run on an io thread, never concurrently for one connection.
struct connection_callbacks {
  /// One complete frame payload (the msgpack bytes, without the length prefix).
  std::function<void(std::string&& frame)> on_frame;
  /// The connection ended: EOF, I/O error, or a protocol error (bad length,
  /// frame over max_frame). Called exactly once; `reason` is readable.
  std::function<void(const std::string& reason)> on_close;
  /// The child process exited (after on_close or before). `status` as from waitpid.
  std::function<void(int exit_code, int signal)> on_exit;
};

/// A spawned child with a connected socketpair on its fd 3
/// (environment MOTIA_WORKER_FD=3). Frames are a 4-byte big-endian length then
/// the payload (docs/protocol.md).
///
/// Thread-safety: send/kill/close may be called from any thread.
class worker_process {
public:
  virtual ~worker_process() = default;
  /// Queues one frame (the length prefix is added here). False if closed or
  /// the write queue is full.
  virtual bool send(std::string frame) = 0;
  /// Sends the signal (SIGTERM, SIGKILL) to the child.
  virtual void kill(int sig) = 0;
  /// Closes the connection (the child sees EOF).
  virtual void close() = 0;
  virtual int pid() const = 0;
};

/// Spawns the child and starts reading. Returns nullptr and fills `err` on failure.
std::shared_ptr<worker_process> spawn(io::io_runtime& io, const spawn_options& opts,
                                      connection_callbacks cbs, std::string& err);

} // namespace motia::process
