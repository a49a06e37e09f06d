#pragma once

// What the actors share: read-mostly objects built before any step starts and
// destroyed after the actor system stops.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/group.hpp>

#include "core/delivery.hpp"
#include "core/project_config.hpp"
#include "core/step_config.hpp"
#include "motia/state_store.hpp"
#include "motia/step.hpp"

namespace caf {
class actor_system;
}

namespace motia {

namespace rocks {
class queue_store;
struct queue_write;
} // namespace rocks

/// A stable address for a supervised actor: the supervisor swaps in the new
/// instance on every restart, so holders never keep a dead handle.
///
/// Thread-safety: get/set from any thread.
class actor_slot {
public:
  caf::actor get() const {
    std::lock_guard<std::mutex> g(mtx_);
    return actor_;
  }
  void set(caf::actor a) {
    std::lock_guard<std::mutex> g(mtx_);
    actor_ = std::move(a);
  }

private:
  mutable std::mutex mtx_;
  caf::actor actor_;
};

/// Counters of one step's deliveries (GET /_motia/metrics).
struct step_metrics {
  std::atomic<std::uint64_t> started{0};       ///< handler invocations begun
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> retried{0};       ///< failures followed by a retry
  std::atomic<std::uint64_t> dead_lettered{0}; ///< incl. invalid input
  std::atomic<std::uint64_t> invalid_input{0};
};

/// What the runtime counts. The map is filled before steps start and only
/// read afterwards.
struct runtime_metrics {
  std::atomic<std::uint64_t> emits{0};      ///< emits accepted (durable)
  std::atomic<std::uint64_t> deliveries{0}; ///< queue entries written by emits
  std::atomic<std::uint64_t> restarts{0};   ///< supervisor restarts, all supervisors
  std::atomic<std::uint64_t> escalations{0};
  std::unordered_map<std::string, std::unique_ptr<step_metrics>> steps;

  step_metrics* of(const std::string& step) {
    auto it = steps.find(step);
    return it == steps.end() ? nullptr : it->second.get();
  }
  json to_json() const;
};

/// Topics are CAF local groups over a durable queue: an emit becomes one
/// queue entry per subscribing step, written to RocksDB (group commit), and
/// only then published to the topic's group. Each subscribing step takes the
/// entry with its name from the published batch.
///
/// Thread-safety: add_subscriber() and attach() before start; the rest from
/// any thread.
class topic_bus {
public:
  explicit topic_bus(caf::actor_system& sys) : sys_(sys) {}
  /// Records that `step` subscribes to `topic` (at assembly, once per pair).
  void add_subscriber(const std::string& topic, const std::string& step);
  void attach(rocks::queue_store* queue, runtime_metrics* metrics) {
    queue_ = queue;
    metrics_ = metrics;
  }
  rocks::queue_store& queue() { return *queue_; }
  /// The group of `topic` (created on first use).
  caf::group group(const std::string& topic);
  /// The deliveries of one emit: one per subscribing step, sharing a new
  /// message id (empty when nobody subscribes).
  std::vector<queued_event> deliveries(const std::string& topic, json data,
                                       const std::string& trace_id,
                                       const std::string& message_group_id) const;
  /// Commits `w` (group commit); once it is durable publishes the new
  /// deliveries to their topics' groups, then calls `done` with "" or the
  /// error. `done` runs on the queue's writer thread: keep it short.
  void commit(rocks::queue_write w, std::function<void(const std::string&)> done);
  /// Publishes deliveries already in the queue (one batch per topic).
  void publish(std::vector<queued_event> entries);

  /// Handler invocations of event steps running now (for drain at stop).
  std::atomic<std::int64_t> running{0};

private:
  caf::actor_system& sys_;
  rocks::queue_store* queue_ = nullptr;
  runtime_metrics* metrics_ = nullptr;
  mutable std::mutex mtx_;
  std::map<std::string, std::pair<caf::group, std::vector<std::string>>> topics_;
};

/// A stream of the project, in any language.
struct stream_info {
  std::string name;
  std::string file; ///< "native:<name>" for native streams
  step_language language = step_language::native;
  json config;      ///< as registered (name, schema?, baseConfig?)
  bool worker_can_access = false; ///< its worker answers `canAccess` invocations
  std::function<bool(const json& subscription, const json& auth_context)> native_can_access;
};

struct runtime_services {
  const project_config* project = nullptr;
  state_store* state = nullptr;
  stream_access* streams = nullptr;
  topic_bus* topics = nullptr;
  runtime_metrics* metrics = nullptr;
  /// Every validated step by name; fixed once the runtime started.
  std::unordered_map<std::string, step_config> steps;
  /// Native handlers by step name.
  std::unordered_map<std::string, step_definition> native;
  /// Every stream by name; fixed once the runtime started.
  std::unordered_map<std::string, stream_info> streams_by_name;
  /// The names of `streams_by_name` for workers' `init`, published (with
  /// std::atomic_store) whenever the map has grown: workers start, and may
  /// restart, while it is still being filled.
  std::shared_ptr<const std::vector<std::string>> stream_names;
  /// The actor of each step that has one, by name (fixed once started).
  std::unordered_map<std::string, actor_slot*> step_slots;
};

/// Splits deliveries into one batch per value of `field` (e.g.
/// &queued_event::topic), in one pass, keeping their order within a batch.
std::map<std::string, std::shared_ptr<std::vector<queued_event>>> split_deliveries(
  std::vector<queued_event>&& entries, std::string queued_event::*field);

/// A random trace id (UUID v4 text) and a random message id.
std::string new_trace_id();
std::string new_message_id();

} // namespace motia
