#pragma once

#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "core/project_config.hpp"

namespace motia {

struct runtime_services;
class actor_slot;
namespace io {
class io_runtime;
}

/// One worker process to start: its language, command line and step files.
struct worker_spec {
  std::string lang;              ///< "node" | "python"
  std::vector<std::string> argv; ///< command and runner script
  std::vector<std::string> files;
  std::vector<std::string> stream_files; ///< stream definitions it loads
  std::string auth_file;                 ///< the stream authenticate hook, if its language
  unsigned index = 0;
  worker_settings settings;
};

/// Spawns the proxy of one worker process: it starts the process, does the
/// hello/init/register handshake, then tells the pool in `pool` that it is up.
/// It forwards invocations as frames (at most `settings.window` in flight),
/// serves the worker's handler calls (emit, state.*), writes its logs, pings
/// it, and exits with errc::worker_died when the process dies, hangs or breaks
/// the protocol, failing what was in flight so the callers retry.
///
/// Messages: (invoke_atom, invocation) -> invocation_result.
caf::actor spawn_worker_proxy(caf::actor_system& sys, runtime_services& svc, io::io_runtime& io,
                              worker_spec spec, actor_slot* pool);

/// Spawns the pool of one language: it spreads invocations over the proxies
/// that are up and holds them while none is.
///
/// Messages: (invoke_atom, invocation) -> invocation_result;
/// (register_atom) -> worker_registration of the first worker up;
/// (worker_up_atom, caf::actor, worker_registration) from proxies.
caf::actor spawn_worker_pool(caf::actor_system& sys, std::string lang);

} // namespace motia
