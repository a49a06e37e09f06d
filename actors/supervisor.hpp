#pragma once

// An OTP-style supervisor built from CAF monitors (CAF 0.17 has none).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "core/backoff.hpp"
#include "core/project_config.hpp"

namespace motia {

struct child_spec {
  std::string id;
  /// Spawns the child. Called on the supervisor's thread at start and restart.
  std::function<caf::actor(caf::actor_system&)> start;
  restart_type restart = restart_type::permanent;
  /// Told about every new instance (e.g. to update an actor_slot).
  std::function<void(const caf::actor&)> on_start;
  /// This child's restart backoff (min, max, jitter) when it differs from
  /// the supervisor's.
  std::optional<supervision_settings> backoff;
};

struct supervisor_policy {
  restart_strategy strategy = restart_strategy::one_for_one;
  supervision_settings limits;
  std::string name = "root";
  /// Counted on every restart / escalation when set (runtime metrics).
  std::atomic<std::uint64_t>* restarts = nullptr;
  std::atomic<std::uint64_t>* escalations = nullptr;
  /// Past the restart intensity: escalate (stop and exit, OTP's way) or keep
  /// restarting at the maximum backoff.
  exhausted_policy on_exhausted = exhausted_policy::escalate;
};

/// Spawns a supervisor that starts `children` in order and restarts them by
/// `policy`. When restarts exceed `limits.max_restarts` within `limits.period`
/// it logs and counts an escalation; then, by `policy.on_exhausted`, it either
/// stops all children and exits with errc::unavailable (whoever monitors the
/// supervisor decides) or goes on restarting at the maximum backoff. An exit
/// message stops the children in reverse order, then the supervisor.
/// (ready_atom) answers the number of children once all were started.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_policy policy,
                            std::vector<child_spec> children);

} // namespace motia
