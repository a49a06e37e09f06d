#pragma once

// The runtime assembly behind motia::app: project loading, the worker and step
// supervisors, the HTTP head, and an orderly drain on stop.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/services.hpp"
#include "core/discovery.hpp"
#include "core/project_config.hpp"
#include "core/router.hpp"
#include "motia/app.hpp"

namespace caf {
class actor_system;
class actor_system_config;
} // namespace caf

namespace motia {

namespace io {
class io_runtime;
}
namespace http {
class server;
}
namespace rocks {
class database;
class queue_store;
class stream_store;
} // namespace rocks

class runtime {
public:
  explicit runtime(std::vector<step_definition> native);
  ~runtime();
  /// Native streams and the native stream authenticate hook (may be empty).
  /// REQUIRES: before load().
  void add_native_streams(std::vector<stream_definition> streams, stream_authenticator auth);

  /// Loads the project and its steps (starting workers to read JS configs);
  /// fills `steps()`. Returns the reason on failure.
  std::optional<std::string> load(const run_options& opts);
  /// After load(): opens state, starts the step actors, cron and HTTP.
  std::optional<std::string> serve();
  /// Drains and stops everything; idempotent.
  void stop();

  const project_config& project() const { return *project_; }
  const std::vector<step_config>& steps() const { return steps_; }
  /// Every stream by name (after load()).
  const std::unordered_map<std::string, stream_info>& stream_defs() const { return svc_.streams_by_name; }
  /// The stream authenticate hook's file, "native", or "" for none.
  std::string stream_auth() const { return native_auth_ ? std::string("native") : auth_file_; }
  std::uint16_t port() const;
  state_store& state() { return *store_; }
  stream_access& streams() { return *streams_; }
  runtime_metrics& metrics() { return metrics_; }
  std::chrono::milliseconds startup_time() const { return ready_at_; }
  /// Set when a supervisor gave up: the runtime cannot serve any more.
  std::optional<std::string> fatal() const;
  /// Blocks until a supervisor gives up or `notify_stop` is called.
  void wait_fatal_or_stop();
  void notify_stop();

private:
  std::optional<std::string> start_workers(const discovered_files& files);
  std::optional<std::string> collect_worker_steps(std::vector<config_problem>& problems);
  /// Finds the stream authenticate hook (motia-actors.json, motia.config.*, native).
  void find_stream_auth(std::vector<config_problem>& problems);
  void add_stream(stream_info info, std::vector<config_problem>& problems);
  /// The pool slot of a language's workers (nullptr for native steps).
  actor_slot* pool_of(step_language lang);
  void start_steps();
  void watch(const caf::actor& supervisor);

  std::vector<step_definition> native_defs_;
  std::vector<stream_definition> native_streams_;
  stream_authenticator native_auth_;
  /// The stream authenticate hook's file (worker language), "" if none.
  std::string auth_file_;
  step_language auth_language_ = step_language::native;
  std::optional<project_config> project_;
  std::vector<step_config> steps_;
  std::unique_ptr<rocks::database> db_;
  std::unique_ptr<state_store> store_;
  std::unique_ptr<rocks::queue_store> queue_;
  std::unique_ptr<rocks::stream_store> stream_store_;
  std::unique_ptr<stream_access> streams_;
  caf::actor hub_;
  runtime_metrics metrics_;
  std::unique_ptr<io::io_runtime> io_;
  std::unique_ptr<caf::actor_system_config> caf_cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  std::unique_ptr<topic_bus> topics_;
  runtime_services svc_;
  actor_slot node_pool_, python_pool_;
  std::vector<std::unique_ptr<actor_slot>> slots_; ///< one per step, by index
  std::vector<actor_slot*> route_targets_;
  router routes_;
  std::vector<std::pair<step_language, caf::actor>> pools_; ///< languages with workers
  caf::actor workers_sup_, steps_sup_, watcher_;
  actor_slot cron_;
  std::unique_ptr<http::server> http_;
  std::chrono::steady_clock::time_point t0_;
  std::chrono::milliseconds ready_at_{0};
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::optional<std::string> fatal_;
  bool stop_notified_ = false;
  bool stopped_ = false;
};

} // namespace motia
