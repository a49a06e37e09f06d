#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace motia {

/// Restart policy of a supervised child (docs/configuration.md, "supervision").
struct supervision_settings {
  unsigned max_restarts = 10;                    ///< within `period`, then escalate
  std::chrono::milliseconds period{60'000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{10'000};
  double jitter = 0.2; ///< +- fraction of each backoff
};

enum class restart_strategy { one_for_one, one_for_all, rest_for_one };

/// permanent: always restarted; transient: restarted only after an abnormal
/// exit; temporary: never restarted.
enum class restart_type { permanent, transient, temporary };

/// What a supervisor does once its children restarted more often than its
/// intensity allows.
enum class exhausted_policy {
  /// Stop the children and exit (OTP's escalation): the runtime stops.
  escalate,
  /// Log and count it, then keep restarting with the maximum backoff; what
  /// the children serve answers 503 meanwhile. No request can end the runtime.
  keep_restarting,
};

/// One supervisor: how it restarts its children and how many restarts it
/// allows before it gives up and escalates.
struct supervisor_settings {
  restart_strategy strategy = restart_strategy::one_for_one;
  supervision_settings limits;
  exhausted_policy on_exhausted = exhausted_policy::keep_restarting;
};

/// One supervised child (a step, or a language's worker processes).
struct child_policy {
  restart_type restart = restart_type::permanent;
  std::optional<supervision_settings> backoff; ///< unset: the supervisor's
};

struct worker_settings {
  std::vector<std::string> command; ///< argv prefix; the runner script follows
  unsigned count = 1;               ///< processes per language
  unsigned window = 256;            ///< in-flight invocations per process
  std::chrono::milliseconds heartbeat_interval{5'000};
  std::chrono::milliseconds heartbeat_timeout{20'000};
  std::chrono::milliseconds start_timeout{15'000};
};

/// Every setting of a project, with defaults. Read from `motia-actors.json`
/// in the project directory when it exists (docs/configuration.md).
struct project_config {
  std::filesystem::path root;     ///< absolute project directory
  std::filesystem::path data_dir; ///< absolute; default root/.motia-actors
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000;
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{30'000};
  unsigned io_threads = 1;
  unsigned scheduler_threads = 2;
  /// Threads for blocking storage work (RocksDB commits, scans, state calls).
  unsigned storage_threads = 2;
  /// RocksDB's memory budget: memtables and block cache share it.
  std::size_t storage_memory = 64 * 1024 * 1024;
  /// Partitions of each event step's queue.
  std::uint16_t queue_shards = 1;
  /// Pending deliveries a step may have; an emit past it is refused
  /// (errc::overloaded; api steps answer 503 + Retry-After). 0: no limit.
  std::size_t queue_max_depth = 100'000;
  /// The largest event `data` an emit may carry (msgpack bytes).
  std::size_t max_event_bytes = 4 * 1024 * 1024;
  bool durable_sync = false; ///< durability "strict" (fsync) vs "process"
  std::size_t max_frame = 16 * 1024 * 1024;
  std::chrono::milliseconds drain_timeout{10'000};
  std::chrono::milliseconds api_timeout{30'000}; ///< default api handler deadline
  std::chrono::milliseconds event_timeout{60'000}; ///< default event handler deadline
  std::string log_level = "info";
  /// "development" checks api responses against `responseSchema` (a log
  /// line per mismatch); "production" skips the check.
  bool development = true;
  bool admin_enabled = true;  ///< the /_motia/ endpoints (docs/admin.md)
  std::string admin_token;    ///< when set, admin calls need `Bearer <token>`
  /// Streams (docs/streams.md): the WebSocket endpoint's limits and the
  /// project's authentication hook.
  std::string stream_auth_file;            ///< relative to root; "" = none (or motia.config.*)
  std::size_t stream_message_limit = 64 * 1024;
  std::size_t stream_send_queue = 4 * 1024 * 1024;
  std::chrono::milliseconds stream_idle_timeout{60'000};
  unsigned stream_max_subscriptions = 1024; ///< per connection
  worker_settings node;   ///< command default: node
  worker_settings python; ///< command default: python3
  supervision_settings supervision; ///< defaults of both supervisors
  supervisor_settings steps_supervisor;
  supervisor_settings workers_supervisor;
  std::map<std::string, child_policy> step_policies;   ///< by step name
  std::map<std::string, child_policy> worker_policies; ///< by language ("node")
};

/// Loads `root/motia-actors.json` if present (unknown keys and wrong types are
/// errors, so typos do not pass silently). Returns nullopt and sets `err`.
std::optional<project_config> load_project_config(const std::filesystem::path& root,
                                                  std::string& err);

/// The Node runner the runtime starts by default (bindings/node/bin/worker.js
/// of this source tree, or $MOTIA_NODE_WORKER).
std::string default_node_runner();
/// The Python runner (bindings/python/bin/worker.py, or $MOTIA_PYTHON_WORKER).
std::string default_python_runner();

} // namespace motia
