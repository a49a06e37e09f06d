#pragma once

#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "core/cron.hpp"

namespace motia {

class actor_slot;

struct cron_entry {
  cron_expr expr;
  std::string step;
  actor_slot* target = nullptr;
};

/// Spawns the scheduler of every cron step: at each matching minute (UTC) it
/// sends (cron_atom, trace_id) to the step's actor. (done_atom) stops it
/// normally, so its supervisor leaves it stopped during shutdown.
caf::actor spawn_cron_actor(caf::actor_system& sys, std::vector<cron_entry> entries);

} // namespace motia
