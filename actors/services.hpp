#pragma once

// What the actors share: read-mostly objects built before any step starts and
// destroyed after the actor system stops.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/group.hpp>

#include "core/project_config.hpp"
#include "core/step_config.hpp"
#include "motia/state_store.hpp"
#include "motia/step.hpp"

namespace caf {
class actor_system;
}

namespace motia {

struct event_msg;

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

/// Topics are CAF local groups; this keeps the group handles and counts the
/// deliveries each publish creates (one per subscribing step), so shutdown can
/// wait for in-flight events.
///
/// Thread-safety: add_subscriber() before start; the rest from any thread.
class topic_bus {
public:
  explicit topic_bus(caf::actor_system& sys) : sys_(sys) {}
  /// Records that one more step subscribes to `topic` (at assembly, once per step).
  void add_subscriber(const std::string& topic);
  /// The group of `topic` (created on first use).
  caf::group group(const std::string& topic);
  /// Publishes to every subscriber of msg.topic; returns how many got it.
  std::size_t publish(event_msg msg);
  /// Deliveries published and not yet finished (handled or given up).
  std::int64_t in_flight() const { return in_flight_.load(); }
  void finished() { in_flight_.fetch_sub(1); }

private:
  caf::actor_system& sys_;
  mutable std::mutex mtx_;
  std::map<std::string, std::pair<caf::group, std::size_t>> topics_;
  std::atomic<std::int64_t> in_flight_{0};
};

struct runtime_services {
  const project_config* project = nullptr;
  state_store* state = nullptr;
  topic_bus* topics = nullptr;
  /// Every validated step by name; fixed once the runtime started.
  std::unordered_map<std::string, step_config> steps;
  /// Native handlers by step name.
  std::unordered_map<std::string, step_definition> native;
};

/// A random trace id (UUID v4 text) and a random message id.
std::string new_trace_id();
std::string new_message_id();

} // namespace motia
