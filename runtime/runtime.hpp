#pragma once

// The runtime assembly behind motia::app: loads the project into a snapshot,
// opens the stores, starts the supervised actors and the HTTP head, and
// drains in order on stop.
//
// Supervision tree (docs/architecture.md):
//   workers supervisor: one proxy per worker process
//   steps supervisor:   per event step its partitions, then the step; api and
//                       cron steps; the cron scheduler; the stream hub; the
//                       gateway's timer

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/discovery.hpp"
#include "core/snapshot.hpp"
#include "motia/app.hpp"

namespace caf {
class actor_system;
class actor_system_config;
class actor;
} // namespace caf

namespace motia {

struct runtime_env;
class runtime_metrics;
namespace io {
class io_runtime;
}
namespace http {
class server;
}
namespace rocks {
class database;
}

class runtime {
public:
  explicit runtime(std::vector<step_definition> native);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Native streams and the native stream authenticate hook (may be empty).
  /// REQUIRES: before load().
  void add_native_streams(std::vector<stream_definition> streams, stream_authenticator auth);

  /// Loads the project (starting workers to read the configs of JS, TS and
  /// Python files) into the first snapshot. Returns the reason on failure.
  std::optional<std::string> load(const run_options& opts);
  /// After load(): opens the stores, starts the actors and HTTP.
  std::optional<std::string> serve();
  /// Drains and stops everything; idempotent.
  void stop();

  const project_config& project() const { return *project_; }
  /// The snapshot in force. REQUIRES: load() succeeded.
  snapshot_ptr snapshot() const;
  std::uint16_t port() const;
  state_store& state();
  stream_access& streams();
  runtime_metrics& metrics();
  std::chrono::milliseconds startup_time() const { return ready_at_; }
  /// Set when a supervisor gave up: the runtime cannot serve any more.
  std::optional<std::string> fatal() const;
  /// Blocks until a supervisor gives up or `notify_stop` is called.
  void wait_fatal_or_stop();
  void notify_stop();

private:
  std::optional<std::string> start_workers(const discovered_files& files, const std::string& auth_file);
  std::optional<std::string> open_stores();
  void start_actors();
  void watch(const caf::actor& supervisor);
  void drain();

  std::vector<step_definition> native_steps_;
  std::vector<stream_definition> native_streams_;
  stream_authenticator native_auth_;
  std::shared_ptr<project_config> project_;
  std::shared_ptr<runtime_env> env_;
  std::unique_ptr<io::io_runtime> io_;
  std::unique_ptr<caf::actor_system_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<http::server> http_;
  struct actors;
  std::unique_ptr<actors> actors_;
  std::chrono::steady_clock::time_point t0_;
  std::chrono::milliseconds ready_at_{0};
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::optional<std::string> fatal_;
  bool stop_notified_ = false;
  bool stopped_ = false;
};

} // namespace motia
