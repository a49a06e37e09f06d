#pragma once

// What the actors of one runtime share, owned together and handed to each
// actor as a shared_ptr at spawn: the current project snapshot, the stores,
// the storage threads, the directories of actors that restart (so a holder
// never keeps a dead handle) and the live workers of each language.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/protocol.hpp"
#include "core/snapshot.hpp"
#include "motia/state_store.hpp"
#include "motia/stream.hpp"

namespace motia {

class blocking_pool;
class gateway;
class ws_registry;
class queue_store;
namespace rocks {
class database;
class stream_store;
} // namespace rocks
namespace process {
class worker_process;
}

/// The project snapshot in force. Readers get the current one without a lock
/// in the common case (a per-thread copy checked against the generation).
///
/// Thread-safety: every member from any thread.
class snapshot_holder {
public:
  snapshot_ptr current() const;
  void install(snapshot_ptr s);
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

private:
  static std::uint64_t next_id();
  mutable std::mutex mtx_;
  snapshot_ptr snap_;
  std::atomic<std::uint64_t> generation_{0};
  /// Unique per holder, also across holders that reuse an address.
  const std::uint64_t id_ = next_id();
};

/// Current handles of actors that a supervisor restarts, by key.
///
/// Thread-safety: every member from any thread.
template <class Key, class Handle>
class directory {
public:
  Handle get(const Key& k) const {
    std::lock_guard<std::mutex> g(mtx_);
    auto it = map_.find(k);
    return it == map_.end() ? Handle{} : it->second;
  }
  void set(const Key& k, Handle h) {
    std::lock_guard<std::mutex> g(mtx_);
    map_[k] = std::move(h);
  }
  void erase(const Key& k) {
    std::lock_guard<std::mutex> g(mtx_);
    map_.erase(k);
  }
  std::vector<std::pair<Key, Handle>> all() const {
    std::lock_guard<std::mutex> g(mtx_);
    return {map_.begin(), map_.end()};
  }
  void clear() {
    std::lock_guard<std::mutex> g(mtx_);
    map_.clear();
  }

private:
  mutable std::mutex mtx_;
  std::map<Key, Handle> map_;
};

using worker_list = std::vector<std::shared_ptr<process::worker_process>>;

/// The worker connections of each language that have registered and are
/// alive. Steps pick from it for every invocation; a change is announced to
/// the steps of that language (workers_atom) so waiting deliveries start.
///
/// Thread-safety: every member from any thread.
class worker_registry {
public:
  std::shared_ptr<const worker_list> live(step_language lang) const;
  void publish(step_language lang, std::shared_ptr<process::worker_process> w);
  void withdraw(step_language lang, const process::worker_process* w);
  /// `step` hears (workers_atom) whenever the live workers of `lang` change.
  void subscribe(step_language lang, step_actor step);
  void unsubscribe(const step_actor& step);

private:
  void announce(step_language lang);
  mutable std::mutex mtx_;
  std::map<step_language, std::shared_ptr<const worker_list>> live_;
  std::multimap<step_language, step_actor> listeners_;
};

/// Registrations of the first worker of each language, awaited at start.
///
/// Thread-safety: every member from any thread.
class registration_board {
public:
  /// Records `reg` unless its language has one already.
  void offer(worker_registration reg);
  /// Also wakes waiters: worker `lang` failed before registering (`why`).
  void fail(step_language lang, std::string why);
  /// Waits until every language in `langs` registered or failed, or `timeout`.
  /// Returns each registration; failures and timeouts come back as text.
  std::vector<worker_registration> wait(const std::vector<step_language>& langs,
                                        std::chrono::milliseconds timeout,
                                        std::vector<std::string>& failures);

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<step_language, worker_registration> regs_;
  std::map<step_language, std::string> failed_;
};

/// Inputs that were in flight when their worker died. One that kills its
/// worker twice is quarantined: refused from then on (a poison request must
/// not keep killing workers).
///
/// Thread-safety: every member from any thread.
class quarantine_registry {
public:
  /// The worker running these died.
  void record(const std::string& step, const payload& input);
  /// True if (step, input) killed a worker twice. Cheap while nothing is suspect.
  bool refused(const std::string& step, const payload& input) const;
  std::uint64_t quarantined() const { return quarantined_.load(); }

private:
  static std::uint64_t fingerprint(const std::string& step, const payload& input);
  std::atomic<bool> any_{false};
  mutable std::mutex mtx_;
  std::unordered_map<std::uint64_t, unsigned> deaths_;
  std::atomic<std::uint64_t> quarantined_{0};
};

/// Counters of one step (GET /_motia/metrics).
struct step_metrics {
  std::atomic<std::uint64_t> started{0};       ///< handler invocations begun
  std::atomic<std::uint64_t> succeeded{0};
  std::atomic<std::uint64_t> retried{0};       ///< failures followed by a retry
  std::atomic<std::uint64_t> dead_lettered{0}; ///< incl. invalid input
  std::atomic<std::uint64_t> invalid_input{0};
};

/// What the runtime counts.
///
/// Thread-safety: every member from any thread.
class runtime_metrics {
public:
  std::atomic<std::uint64_t> emits{0};      ///< emits accepted (durable)
  std::atomic<std::uint64_t> deliveries{0}; ///< queue entries written by emits
  std::atomic<std::uint64_t> restarts{0};   ///< supervisor restarts, all supervisors
  std::atomic<std::uint64_t> escalations{0};
  std::atomic<std::uint64_t> overloaded{0}; ///< emits refused at a queue's depth limit
  std::atomic<std::uint64_t> unexpected{0}; ///< messages no actor expected (logged)

  /// The counters of `step` (created on first use; never removed).
  step_metrics& of(const std::string& step);
  json to_json() const;

private:
  mutable std::mutex mtx_;
  std::map<std::string, std::unique_ptr<step_metrics>> steps_;
};

struct runtime_env {
  snapshot_holder snapshot;
  std::shared_ptr<blocking_pool> pool;
  std::shared_ptr<rocks::database> db;
  std::shared_ptr<state_store> state;
  std::shared_ptr<stream_access> streams;
  std::shared_ptr<queue_store> queue;
  std::shared_ptr<rocks::stream_store> stream_store;
  std::shared_ptr<gateway> gw;
  std::shared_ptr<ws_registry> ws;
  worker_registry workers;
  registration_board registrations;
  quarantine_registry quarantine;
  runtime_metrics metrics;
  directory<std::string, step_actor> steps;
  directory<std::pair<std::string, std::uint16_t>, partition_actor> partitions;
  hub_actor hub;
  /// Handler invocations of event and cron steps running now.
  std::atomic<std::int64_t> running{0};
};

using env_ptr = std::shared_ptr<runtime_env>;

/// Logs and counts a message an actor did not expect (installed as every
/// actor's default handler), instead of dropping it silently.
void log_unexpected(runtime_env& env, const char* actor, const std::string& what);

/// A random trace id (UUID v4 text) and a random message id.
std::string new_trace_id();
std::string new_message_id();

} // namespace motia
