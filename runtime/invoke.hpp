#pragma once

// Sending an invocation to a worker process: the `invoke` frame (built once,
// with the input spliced in as bytes) and the choice among the live workers
// of a language.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/step_config.hpp"
#include "motia/errc.hpp"
#include "motia/payload.hpp"

namespace motia {

struct runtime_env;
namespace process {
class result_sink;
}

/// One invocation, as docs/protocol.md's `invoke` frame carries it.
struct invoke_args {
  std::string_view step; ///< step name; stream name for canAccess; "" for authenticate
  std::string_view kind; ///< "api" | "event" | "cron" | "canAccess" | "authenticate"
  payload input;
  std::string_view trace_id;
  unsigned attempt = 1;
  std::string_view message_id;
  const std::vector<std::string>* flows = nullptr;
  std::chrono::milliseconds deadline{0};
  /// api: the worker asks the runtime to validate the body after middleware.
  bool validate_body = false;
};

/// The complete `invoke` frame (length prefix included).
std::string invoke_frame(std::uint64_t id, const invoke_args& a);

/// Where the handler calls of an invocation get their context from.
struct call_context {
  std::shared_ptr<const void> owner; ///< keeps `step` alive (its snapshot)
  const void* step = nullptr;        ///< the step_info; null: calls are refused
};

/// Sends `a` to a live worker of `lang`, trying them round-robin from
/// `cursor`; its outcome goes to `sink` with `token`. Returns errc::none,
/// errc::quarantined (this input killed workers before) or
/// errc::unavailable (no live worker took it).
errc invoke_worker(runtime_env& env, step_language lang, std::size_t& cursor, const invoke_args& a,
                   std::shared_ptr<process::result_sink> sink, std::uint64_t token, call_context ctx);

} // namespace motia

namespace motia {
namespace process {
struct invocation_outcome;
}

/// The error of an invocation's outcome: none when the handler succeeded;
/// errc::unavailable when the worker refused it without running it
/// (draining, unknown step); errc::handler_failed with the worker's message
/// and stack when the handler failed; the runtime's own code (worker_died,
/// handler_timeout) otherwise.
caf::error error_of(const process::invocation_outcome& out);

} // namespace motia
