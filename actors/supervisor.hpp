#pragma once

// An OTP-style supervisor built from CAF monitors (CAF 0.17 has none).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "core/project_config.hpp"

namespace motia {

enum class restart_strategy { one_for_one, one_for_all, rest_for_one };

/// permanent: always restarted; transient: restarted only after an abnormal
/// exit; temporary: never restarted.
enum class restart_type { permanent, transient, temporary };

struct child_spec {
  std::string id;
  /// Spawns the child. Called on the supervisor's thread at start and restart.
  std::function<caf::actor(caf::actor_system&)> start;
  restart_type restart = restart_type::permanent;
  /// Told about every new instance (e.g. to update an actor_slot).
  std::function<void(const caf::actor&)> on_start;
};

struct supervisor_policy {
  restart_strategy strategy = restart_strategy::one_for_one;
  supervision_settings limits;
  std::string name = "root";
};

/// Spawns a supervisor that starts `children` in order and restarts them by
/// `policy`. When restarts exceed `limits.max_restarts` within `limits.period`
/// it stops all children and exits with errc::unavailable (escalation: whoever
/// monitors the supervisor decides). An exit message stops the children in
/// reverse order, then the supervisor.
caf::actor spawn_supervisor(caf::actor_system& sys, supervisor_policy policy,
                            std::vector<child_spec> children);

/// The backoff before the `n`-th consecutive restart (n >= 1): min * 2^(n-1),
/// capped at max, then scaled by a random factor in [1 - jitter, 1 + jitter].
std::chrono::milliseconds restart_backoff(const supervision_settings& s, unsigned n,
                                          double unit_random);

} // namespace motia
