#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/protocol.hpp"
#include "core/cron.hpp"

namespace motia {

struct runtime_env;

struct cron_entry {
  cron_expr expr;
  std::string step;
};

/// Spawns the scheduler of every cron step: at each matching time (UTC) it
/// sends a cron_tick to the step's current actor. (done_atom) stops it
/// normally, so its supervisor leaves it stopped during shutdown.
cron_actor spawn_cron_actor(caf::actor_system& sys, std::shared_ptr<runtime_env> env,
                            std::vector<cron_entry> entries);

} // namespace motia
