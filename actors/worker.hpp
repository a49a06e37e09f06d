#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "core/project_config.hpp"
#include "core/step_config.hpp"

namespace motia {

struct runtime_env;
namespace io {
class io_runtime;
}

/// One worker process to start: its language, command line and files.
struct worker_spec {
  step_language language = step_language::node;
  std::vector<std::string> argv; ///< command and runner script
  std::string root;              ///< the project directory (cwd, MOTIA_PROJECT_ROOT)
  std::vector<std::string> files;
  std::vector<std::string> stream_files; ///< stream definitions it loads
  std::string auth_file;                 ///< the stream authenticate hook, if its language
  unsigned index = 0;
  worker_settings settings;
  std::size_t max_frame = 16 * 1024 * 1024;
};

/// Spawns the proxy of one worker process. It starts the process and does
/// the hello/init/register handshake; then it offers the registration
/// (steps, streams, errors) to env->registrations and publishes the
/// connection in env->workers, from where steps invoke it directly. Handler
/// calls and logs are served on the io thread (runtime/worker_calls); the
/// proxy pings the worker and exits with errc::worker_died when the process
/// dies, hangs or breaks the protocol (its connection fails what was in
/// flight), so its supervisor restarts it with a fresh process.
worker_actor spawn_worker_proxy(caf::actor_system& sys, std::shared_ptr<runtime_env> env, io::io_runtime& io,
                                worker_spec spec);

} // namespace motia
