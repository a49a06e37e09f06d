#pragma once

// Private to adapters/process: starting the child, without Asio.

#include <sys/types.h>

#include <string>

#include "adapters/process/worker_process.hpp"

namespace motia::process::detail {

/// The fd the child finds its socket on (docs/protocol.md).
inline constexpr int worker_fd = 3;

/// Spawns opts.argv (argv[0] looked up in the child's PATH) in opts.cwd with the
/// parent's environment, opts.env over it and MOTIA_WORKER_FD=3, and `child_fd`
/// as its fd 3; every other fd above 2 is closed in the child. Returns the pid,
/// or -1 with `err` saying why (program not found, bad cwd, exec failure).
/// REQUIRES: opts.argv is not empty; child_fd != worker_fd.
pid_t spawn_child(const spawn_options& opts, int child_fd, std::string& err);

} // namespace motia::process::detail
