#pragma once

// The handler calls of worker processes (docs/protocol.md: `call` and `log`
// frames), served where they arrive, on the io thread: an emit goes straight
// to the queue's group commit, a state or stream call to the storage threads,
// and each answer straight back to the worker. No actor is on this path.

#include <memory>

#include "motia/payload.hpp"

namespace motia {

struct runtime_env;
namespace process {
class worker_process;
}

/// Serves `frame` if it is a `call` or a `log`; returns false for any other
/// frame type (hello, register, pong, bye, or junk), which the worker's proxy
/// handles. REQUIRES: `conn` is the connection `frame` came from.
bool serve_worker_frame(const std::shared_ptr<runtime_env>& env,
                        const std::shared_ptr<process::worker_process>& conn, const payload& frame);

} // namespace motia
